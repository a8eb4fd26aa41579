//! Batch-norm: GPU vs reference (training forward with running-stat update, inference
//! forward, backward) on random and edge shapes; backward vs finite differences of the
//! reference forward; bit-identical reruns.

mod common;

use pixembed::gpu::{Gpu, Recorder, Tensor};
use pixembed::ops::bn::{self, BnParams};
use pixembed::reference::bn as r;

/// Shapes covering batch 1, odd H/W, C = 1, 3, 33, 64, flat [N, C], a partial last chunk
/// (126 rows = 64 + 62) and many chunks. C = 64 and 16 take the four-channel kernels, the
/// others the one-channel kernels.
const SHAPES: &[&[usize]] = &[
    &[2, 9, 7, 3],
    &[1, 5, 5, 1],
    &[3, 4, 5, 33],
    &[2, 8, 8, 64],
    &[4, 16, 17, 5],
    &[6, 16],
    &[2, 1],
    &[3, 11, 13, 4],
];

struct Case {
    shape: Vec<usize>,
    c: usize,
    x: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
}

fn case(shape: &[usize], seed: u64, offset: f32) -> Case {
    let c = *shape.last().unwrap();
    let n: usize = shape.iter().product();
    Case {
        shape: shape.to_vec(),
        c,
        x: common::rand_f32(seed, n, -2.0, 3.0)
            .into_iter()
            .map(|v| v + offset)
            .collect(),
        gamma: common::rand_f32(seed + 1, c, -1.5, 1.5),
        beta: common::rand_f32(seed + 2, c, -1.0, 1.0),
        running_mean: common::rand_f32(seed + 3, c, -0.5, 0.5),
        running_var: common::rand_f32(seed + 4, c, 0.5, 2.0),
    }
}

fn up(gpu: &Gpu, shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_slice(gpu, shape, v).unwrap()
}

fn down(gpu: &Gpu, t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>(gpu).unwrap()
}

const MOMENTUM: f32 = 0.1;
const EPS: f32 = 1e-5;

/// Run the GPU training forward; returns (y, mean, invstd, running_mean, running_var).
fn gpu_forward_train(gpu: &Gpu, k: &Case) -> [Vec<f32>; 5] {
    let x = up(gpu, &k.shape, &k.x);
    let (gamma, beta) = (up(gpu, &[k.c], &k.gamma), up(gpu, &[k.c], &k.beta));
    let rm = up(gpu, &[k.c], &k.running_mean);
    let rv = up(gpu, &[k.c], &k.running_var);
    let p = BnParams {
        gamma: &gamma,
        beta: &beta,
        running_mean: &rm,
        running_var: &rv,
        momentum: MOMENTUM,
        eps: EPS,
    };
    let mut rec = Recorder::new(gpu);
    let (y, saved) = bn::forward_train(&mut rec, &x, &p).unwrap();
    rec.submit();
    [
        down(gpu, &y),
        down(gpu, &saved.mean),
        down(gpu, &saved.invstd),
        down(gpu, &rm),
        down(gpu, &rv),
    ]
}

fn ref_forward_train(k: &Case) -> (Vec<f32>, r::BnBatchStats, Vec<f32>, Vec<f32>) {
    let (mut rm, mut rv) = (k.running_mean.clone(), k.running_var.clone());
    let (y, stats) = r::forward_train(
        &k.x, k.c, &k.gamma, &k.beta, &mut rm, &mut rv, MOMENTUM, EPS,
    );
    (y, stats, rm, rv)
}

#[test]
fn forward_train_matches_reference() {
    let gpu = gpu_or_skip!();
    for (s, shape) in SHAPES.iter().enumerate() {
        // offset 40: large mean, unit variance (catches sum-of-squares cancellation).
        for offset in [0.0f32, 40.0] {
            let k = case(shape, 10 * s as u64, offset);
            let [y, mean, invstd, rm, rv] = gpu_forward_train(gpu, &k);
            let (ry, rs, rrm, rrv) = ref_forward_train(&k);
            let what = |n: &str| format!("bn {n} {shape:?} offset {offset}");
            let tol = if offset == 0.0 { 2e-5 } else { 2e-4 };
            common::assert_close(&what("y"), &y, &ry, tol, 1e-5);
            common::assert_close(&what("mean"), &mean, &rs.mean, 1e-5, 1e-6);
            common::assert_close(&what("invstd"), &invstd, &rs.invstd, tol, 1e-5);
            common::assert_close(&what("running_mean"), &rm, &rrm, 1e-5, 1e-6);
            common::assert_close(&what("running_var"), &rv, &rrv, tol, 1e-5);
        }
    }
}

#[test]
fn running_stats_update_values() {
    let gpu = gpu_or_skip!();
    // Channel 0: 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased var 5/3).
    // Channel 1: constant 7 (var 0).
    let k = Case {
        shape: vec![4, 2],
        c: 2,
        x: vec![1.0, 7.0, 2.0, 7.0, 3.0, 7.0, 4.0, 7.0],
        gamma: vec![1.0, 2.0],
        beta: vec![0.0, 0.5],
        running_mean: vec![0.0, 1.0],
        running_var: vec![1.0, 1.0],
    };
    let [y, mean, invstd, rm, rv] = gpu_forward_train(gpu, &k);
    // running = 0.9 * running + 0.1 * batch
    common::assert_close("running_mean", &rm, &[0.25, 0.9 + 0.7], 1e-6, 1e-6);
    common::assert_close(
        "running_var",
        &rv,
        &[0.9 + 0.1 * 5.0 / 3.0, 0.9],
        1e-6,
        1e-6,
    );
    common::assert_close("mean", &mean, &[2.5, 7.0], 1e-6, 1e-6);
    let inv0 = 1.0 / (1.25f32 + EPS).sqrt();
    let inv1 = 1.0 / EPS.sqrt();
    common::assert_close("invstd", &invstd, &[inv0, inv1], 1e-6, 1e-5);
    let want_y: Vec<f32> = [-1.5f32, -0.5, 0.5, 1.5]
        .iter()
        .flat_map(|d| [d * inv0, 0.5])
        .collect();
    common::assert_close("y", &y, &want_y, 1e-5, 1e-5);
}

#[test]
fn forward_infer_matches_reference() {
    let gpu = gpu_or_skip!();
    for (s, shape) in SHAPES.iter().enumerate() {
        let k = case(shape, 100 + s as u64, 0.0);
        let x = up(gpu, &k.shape, &k.x);
        let t = |v: &[f32]| up(gpu, &[k.c], v);
        let (gamma, beta, rm, rv) = (
            t(&k.gamma),
            t(&k.beta),
            t(&k.running_mean),
            t(&k.running_var),
        );
        let mut rec = Recorder::new(gpu);
        let y = bn::forward_infer(&mut rec, &x, &gamma, &beta, &rm, &rv, EPS).unwrap();
        rec.submit();
        let want = r::forward_infer(
            &k.x,
            k.c,
            &k.gamma,
            &k.beta,
            &k.running_mean,
            &k.running_var,
            EPS,
        );
        common::assert_close(
            &format!("bn infer {shape:?}"),
            &down(gpu, &y),
            &want,
            1e-5,
            1e-5,
        );
    }
}

/// GPU backward from the reference's saved statistics: (dx, dgamma, dbeta).
fn gpu_backward(gpu: &Gpu, k: &Case, dy: &[f32], stats: &r::BnBatchStats) -> [Vec<f32>; 3] {
    let x = up(gpu, &k.shape, &k.x);
    let dyt = up(gpu, &k.shape, dy);
    let gamma = up(gpu, &[k.c], &k.gamma);
    let saved = bn::BnSaved {
        mean: up(gpu, &[k.c], &stats.mean),
        invstd: up(gpu, &[k.c], &stats.invstd),
    };
    let mut rec = Recorder::new(gpu);
    let (dx, dgamma, dbeta) = bn::backward(&mut rec, &x, &dyt, &gamma, &saved).unwrap();
    rec.submit();
    [down(gpu, &dx), down(gpu, &dgamma), down(gpu, &dbeta)]
}

#[test]
fn backward_matches_reference() {
    let gpu = gpu_or_skip!();
    for (s, shape) in SHAPES.iter().enumerate() {
        let k = case(shape, 200 + s as u64, 0.0);
        let dy = common::rand_f32(300 + s as u64, k.x.len(), -1.0, 1.0);
        let (_, stats, _, _) = ref_forward_train(&k);
        let [dx, dgamma, dbeta] = gpu_backward(gpu, &k, &dy, &stats);
        let (rdx, rdgamma, rdbeta) = r::backward(&k.x, &dy, k.c, &k.gamma, &stats);
        let what = |n: &str| format!("bn backward {n} {shape:?}");
        common::assert_close(&what("dx"), &dx, &rdx, 1e-4, 1e-4);
        common::assert_close(&what("dgamma"), &dgamma, &rdgamma, 1e-4, 1e-5);
        common::assert_close(&what("dbeta"), &dbeta, &rdbeta, 1e-4, 1e-5);
    }
}

#[test]
fn backward_matches_finite_differences() {
    let gpu = gpu_or_skip!();
    for shape in [&[2usize, 3, 3, 3][..], &[5, 2]] {
        let k = case(shape, 400, 0.0);
        let g = common::rand_f32(401, k.x.len(), -1.0, 1.0);
        let (_, stats, _, _) = ref_forward_train(&k);
        let [dx, dgamma, dbeta] = gpu_backward(gpu, &k, &g, &stats);
        // L = sum g * y(x, gamma, beta) with the reference forward (f64 inside).
        let loss = |x: &[f32], gamma: &[f32], beta: &[f32]| -> f64 {
            let (mut rm, mut rv) = (k.running_mean.clone(), k.running_var.clone());
            let (y, _) = r::forward_train(x, k.c, gamma, beta, &mut rm, &mut rv, MOMENTUM, EPS);
            y.iter().zip(&g).map(|(a, b)| *a as f64 * *b as f64).sum()
        };
        let h = 1e-2;
        let all = |n: usize| (0..n).collect::<Vec<_>>();
        let fd_x = common::finite_diff(|x| loss(x, &k.gamma, &k.beta), &k.x, h, &all(k.x.len()));
        let fd_g = common::finite_diff(|gm| loss(&k.x, gm, &k.beta), &k.gamma, h, &all(k.c));
        let fd_b = common::finite_diff(|b| loss(&k.x, &k.gamma, b), &k.beta, h, &all(k.c));
        let to32 = |v: Vec<f64>| v.into_iter().map(|a| a as f32).collect::<Vec<_>>();
        let what = |n: &str| format!("bn {n} vs finite differences {shape:?}");
        common::assert_close(&what("dx"), &dx, &to32(fd_x), 2e-3, 2e-2);
        common::assert_close(&what("dgamma"), &dgamma, &to32(fd_g), 2e-3, 2e-2);
        common::assert_close(&what("dbeta"), &dbeta, &to32(fd_b), 2e-3, 2e-2);
    }
}

#[test]
fn forward_and_backward_are_deterministic() {
    let gpu = gpu_or_skip!();
    let k = case(&[8, 16, 16, 16], 500, 1.0);
    let dy = common::rand_f32(501, k.x.len(), -1.0, 1.0);
    let run = || {
        let [y, mean, invstd, rm, rv] = gpu_forward_train(gpu, &k);
        let stats = r::BnBatchStats {
            mean: mean.clone(),
            invstd: invstd.clone(),
        };
        let [dx, dgamma, dbeta] = gpu_backward(gpu, &k, &dy, &stats);
        [y, mean, invstd, rm, rv, dx, dgamma, dbeta]
            .map(|v| v.into_iter().map(f32::to_bits).collect::<Vec<u32>>())
    };
    let (a, b) = (run(), run());
    for (i, (a, b)) in a.iter().zip(&b).enumerate() {
        common::assert_exact(&format!("bn rerun output {i}"), a, b);
    }
}

#[test]
fn bad_inputs_are_errors() {
    let gpu = gpu_or_skip!();
    let x = up(gpu, &[4, 3], &[0.5; 12]);
    let c3 = up(gpu, &[3], &[1.0; 3]);
    let c2 = up(gpu, &[2], &[1.0; 2]);
    let p = |gamma, eps| BnParams {
        gamma,
        beta: &c3,
        running_mean: &c3,
        running_var: &c3,
        momentum: 0.1,
        eps,
    };
    let mut rec = Recorder::new(gpu);
    assert!(bn::forward_train(&mut rec, &x, &p(&c2, 1e-5)).is_err());
    assert!(bn::forward_train(&mut rec, &x, &p(&c3, 0.0)).is_err());
    let one_row = up(gpu, &[1, 3], &[0.5; 3]);
    assert!(bn::forward_train(&mut rec, &one_row, &p(&c3, 1e-5)).is_err());
    let wrong_dy = up(gpu, &[3, 4], &[0.5; 12]);
    let saved = bn::BnSaved {
        mean: c3.clone(),
        invstd: c3.clone(),
    };
    assert!(bn::backward(&mut rec, &x, &wrong_dy, &c3, &saved).is_err());
    assert!(bn::forward_infer(&mut rec, &x, &c3, &c3, &c2, &c3, 1e-5).is_err());
}
