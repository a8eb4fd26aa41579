//! Linear layer: GPU vs reference (forward with and without bias, backward) on random and
//! edge shapes, backward vs finite differences, bit-identical reruns of the backward.

mod common;

use pixembed::gpu::{Gpu, Recorder, Tensor};
use pixembed::ops::linear;
use pixembed::reference::linear as r;

/// (N, I, O): single sample, sizes below, at and not a multiple of the 8 x 8 block, the
/// CIFAR head (64 -> 10), a wide input and a wide output.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (3, 5, 7),
    (17, 33, 10),
    (128, 64, 10),
    (6, 512, 13),
    (9, 20, 1000),
    (2, 3, 1),
    (7, 12, 8),
    (1, 4, 4),
    (13, 36, 20),
];

struct Case {
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    dy: Vec<f32>,
}

fn case(seed: u64, (n, i, o): (usize, usize, usize)) -> Case {
    Case {
        x: common::rand_f32(seed, n * i, -1.0, 1.0),
        w: common::rand_f32(seed + 1, o * i, -1.0, 1.0),
        b: common::rand_f32(seed + 2, o, -1.0, 1.0),
        dy: common::rand_f32(seed + 3, n * o, -1.0, 1.0),
    }
}

fn up(gpu: &Gpu, shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_slice(gpu, shape, v).unwrap()
}

fn down(gpu: &Gpu, t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>(gpu).unwrap()
}

/// GPU (y without bias, y with bias, dx, dw, dbias).
fn run_gpu(gpu: &Gpu, k: &Case, (n, i, o): (usize, usize, usize)) -> [Vec<f32>; 5] {
    let (x, w) = (up(gpu, &[n, i], &k.x), up(gpu, &[o, i], &k.w));
    let (b, dy) = (up(gpu, &[o], &k.b), up(gpu, &[n, o], &k.dy));
    let mut rec = Recorder::new(gpu);
    let y0 = linear::forward(&mut rec, &x, &w, None).unwrap();
    let y1 = linear::forward(&mut rec, &x, &w, Some(&b)).unwrap();
    let (dx, dw, db) = linear::backward(&mut rec, &x, &w, &dy).unwrap();
    rec.submit();
    [y0, y1, dx, dw, db].map(|t| down(gpu, &t))
}

#[test]
fn forward_and_backward_match_reference() {
    let gpu = gpu_or_skip!();
    for (s, &dims) in SHAPES.iter().enumerate() {
        let (n, i, o) = dims;
        let k = case(10 * s as u64, dims);
        let [y0, y1, dx, dw, db] = run_gpu(gpu, &k, dims);
        let (rdx, rdw, rdb) = r::backward(&k.x, &k.w, &k.dy, n, i, o);
        let what = |t: &str| format!("linear {t} N{n} I{i} O{o}");
        let tol = 2e-5 * (i.max(o).max(n) as f32).sqrt();
        common::assert_close(
            &what("y"),
            &y0,
            &r::forward(&k.x, &k.w, None, n, i, o),
            tol,
            1e-5,
        );
        common::assert_close(
            &what("y+b"),
            &y1,
            &r::forward(&k.x, &k.w, Some(&k.b), n, i, o),
            tol,
            1e-5,
        );
        common::assert_close(&what("dx"), &dx, &rdx, tol, 1e-5);
        common::assert_close(&what("dw"), &dw, &rdw, tol, 1e-5);
        common::assert_close(&what("dbias"), &db, &rdb, tol, 1e-5);
    }
}

#[test]
fn backward_matches_finite_differences() {
    let gpu = gpu_or_skip!();
    for dims @ (n, i, o) in [(5, 7, 6), (9, 8, 17)] {
        let k = case(77, dims);
        let [_, _, dx, dw, db] = run_gpu(gpu, &k, dims);
        // L = sum dy * (x w^T + b); linear in each argument, so a large step is exact.
        let loss = |x: &[f32], w: &[f32], b: &[f32]| -> f64 {
            let y = r::forward(x, w, Some(b), n, i, o);
            y.iter()
                .zip(&k.dy)
                .map(|(a, g)| *a as f64 * *g as f64)
                .sum()
        };
        let all = |len: usize| (0..len).collect::<Vec<_>>();
        let h = 0.25;
        let fd_x = common::finite_diff(|x| loss(x, &k.w, &k.b), &k.x, h, &all(n * i));
        let fd_w = common::finite_diff(|w| loss(&k.x, w, &k.b), &k.w, h, &all(o * i));
        let fd_b = common::finite_diff(|b| loss(&k.x, &k.w, b), &k.b, h, &all(o));
        let to32 = |v: Vec<f64>| v.into_iter().map(|a| a as f32).collect::<Vec<_>>();
        let what = |t: &str| format!("{t} vs finite differences N{n} I{i} O{o}");
        common::assert_close(&what("dx"), &dx, &to32(fd_x), 1e-5, 1e-4);
        common::assert_close(&what("dw"), &dw, &to32(fd_w), 1e-5, 1e-4);
        common::assert_close(&what("dbias"), &db, &to32(fd_b), 1e-5, 1e-4);
    }
}

#[test]
fn backward_is_deterministic() {
    let gpu = gpu_or_skip!();
    let dims = (64, 128, 100);
    let k = case(99, dims);
    let bits = |v: &Vec<f32>| v.iter().map(|a| a.to_bits()).collect::<Vec<_>>();
    let a = run_gpu(gpu, &k, dims);
    let b = run_gpu(gpu, &k, dims);
    for (j, (a, b)) in a.iter().zip(&b).enumerate() {
        common::assert_exact(&format!("linear rerun output {j}"), &bits(a), &bits(b));
    }
}

#[test]
fn bad_shapes_are_errors() {
    let gpu = gpu_or_skip!();
    let x = up(gpu, &[2, 3], &[1.0; 6]);
    let w = up(gpu, &[4, 3], &[1.0; 12]);
    let w_bad = up(gpu, &[3, 4], &[1.0; 12]);
    let b_bad = up(gpu, &[3], &[1.0; 3]);
    let dy_bad = up(gpu, &[2, 3], &[1.0; 6]);
    let mut rec = Recorder::new(gpu);
    assert!(linear::forward(&mut rec, &x, &w_bad, None).is_err());
    assert!(linear::forward(&mut rec, &x, &w, Some(&b_bad)).is_err());
    assert!(linear::backward(&mut rec, &x, &w, &dy_bad).is_err());
    let x3 = up(gpu, &[1, 2, 3], &[1.0; 6]);
    assert!(linear::forward(&mut rec, &x3, &w, None).is_err());
}
