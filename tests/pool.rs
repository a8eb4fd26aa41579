//! Pooling: max (values, argmax, ties), average and global average, forward and backward,
//! GPU vs reference on random and edge shapes; backward passes vs finite differences of the
//! reference forward.

mod common;

use pixembed::gpu::{Gpu, Recorder, Tensor};
use pixembed::ops::pool;
use pixembed::reference::pool as r;
use rand::seq::SliceRandom;

/// (input shape, window, stride): batch 1, odd H/W, C = 1, 3, 33, 64, overlapping windows
/// (stride < k), a window covering the whole image, windows leaving a ragged edge.
const CASES: &[([usize; 4], usize, usize)] = &[
    ([2, 7, 9, 3], 2, 2),
    ([1, 5, 5, 1], 3, 1),
    ([3, 8, 8, 33], 3, 2),
    ([2, 6, 7, 64], 2, 1),
    ([1, 1, 1, 5], 1, 1),
    ([2, 5, 7, 3], 5, 3),
    ([1, 11, 10, 4], 3, 3),
];

fn up(gpu: &Gpu, shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_slice(gpu, shape, v).unwrap()
}

fn down(gpu: &Gpu, t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>(gpu).unwrap()
}

fn gpu_max_forward(
    gpu: &Gpu,
    x: &[f32],
    shape: [usize; 4],
    k: usize,
    s: usize,
) -> (Vec<f32>, Vec<i32>) {
    let xt = up(gpu, &shape, x);
    let mut rec = Recorder::new(gpu);
    let (y, arg) = pool::max_forward(&mut rec, &xt, k, s).unwrap();
    rec.submit();
    (down(gpu, &y), arg.to_vec::<i32>(gpu).unwrap())
}

fn out_shape(shape: [usize; 4], k: usize, s: usize) -> [usize; 4] {
    let [n, h, w, c] = shape;
    [n, r::out_size(h, k, s), r::out_size(w, k, s), c]
}

/// The values k / 64 for k = 0..n in a random order (distinct, exact in f32).
fn distinct_values(seed: u64, n: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..n).map(|k| k as f32 / 64.0 - 8.0).collect();
    v.shuffle(&mut common::rng(seed));
    v
}

#[test]
fn max_forward_matches_reference() {
    let gpu = gpu_or_skip!();
    for (i, &(shape, k, s)) in CASES.iter().enumerate() {
        let x = common::rand_f32(i as u64, shape.iter().product(), -3.0, 3.0);
        let (y, arg) = gpu_max_forward(gpu, &x, shape, k, s);
        let (ry, rarg) = r::max_forward(&x, shape, k, s);
        common::assert_exact(&format!("max pool y {shape:?} k{k} s{s}"), &y, &ry);
        common::assert_exact(&format!("max pool argmax {shape:?} k{k} s{s}"), &arg, &rarg);
    }
}

/// Ties: the first maximum in scan order (window row, then column) wins.
#[test]
fn max_ties_pick_first_in_scan_order() {
    let gpu = gpu_or_skip!();
    // Every value equal: each window's argmax is its top-left input.
    let shape = [1, 4, 4, 2];
    let (_, arg) = gpu_max_forward(gpu, &[1.5; 32], shape, 2, 2);
    let top_left = |oh: usize, ow: usize, c: usize| ((2 * oh * 4 + 2 * ow) * 2 + c) as i32;
    let want: Vec<i32> = (0..2)
        .flat_map(|oh| (0..2).flat_map(move |ow| (0..2).map(move |c| top_left(oh, ow, c))))
        .collect();
    common::assert_exact("all-equal argmax", &arg, &want);
    // Few distinct values (many ties) with overlapping windows: same choice as the reference.
    for (i, &(shape, k, s)) in CASES.iter().enumerate() {
        let x: Vec<f32> = common::rand_u8(50 + i as u64, shape.iter().product())
            .into_iter()
            .map(|v| (v % 3) as f32)
            .collect();
        let (y, arg) = gpu_max_forward(gpu, &x, shape, k, s);
        let (ry, rarg) = r::max_forward(&x, shape, k, s);
        common::assert_exact(&format!("tied max y {shape:?}"), &y, &ry);
        common::assert_exact(&format!("tied argmax {shape:?}"), &arg, &rarg);
    }
}

#[test]
fn max_backward_matches_reference_and_finite_differences() {
    let gpu = gpu_or_skip!();
    for (i, &(shape, k, s)) in CASES.iter().enumerate() {
        let x = distinct_values(100 + i as u64, shape.iter().product());
        let os = out_shape(shape, k, s);
        let dy = common::rand_f32(200 + i as u64, os.iter().product(), -1.0, 1.0);
        let (_, rarg) = r::max_forward(&x, shape, k, s);
        let (dyt, argt) = (
            up(gpu, &os, &dy),
            Tensor::from_slice(gpu, &os, &rarg).unwrap(),
        );
        let mut rec = Recorder::new(gpu);
        let dx = pool::max_backward(&mut rec, &dyt, &argt, &shape).unwrap();
        rec.submit();
        let dx = down(gpu, &dx);
        let what = format!("max pool backward {shape:?} k{k} s{s}");
        // Same summation order as the reference: exact.
        common::assert_exact(&what, &dx, &r::max_backward(&dy, &rarg, shape));
        // L = sum dy * maxpool(x); values at least 1/64 apart and a step of 2^-10 (exact in
        // f32), so no perturbation changes which input is a window's maximum.
        let loss = |x: &[f32]| -> f64 {
            let (y, _) = r::max_forward(x, shape, k, s);
            y.iter().zip(&dy).map(|(a, b)| *a as f64 * *b as f64).sum()
        };
        let coords: Vec<usize> = (0..x.len()).step_by(7).collect();
        let fd = common::finite_diff(loss, &x, 1.0 / 1024.0, &coords);
        let got: Vec<f32> = coords.iter().map(|&j| dx[j]).collect();
        let fd: Vec<f32> = fd.into_iter().map(|v| v as f32).collect();
        common::assert_close(
            &format!("{what} vs finite differences"),
            &got,
            &fd,
            1e-4,
            1e-4,
        );
    }
}

#[test]
fn avg_forward_and_backward_match_reference() {
    let gpu = gpu_or_skip!();
    for (i, &(shape, k, s)) in CASES.iter().enumerate() {
        let x = common::rand_f32(300 + i as u64, shape.iter().product(), -3.0, 3.0);
        let os = out_shape(shape, k, s);
        let dy = common::rand_f32(400 + i as u64, os.iter().product(), -1.0, 1.0);
        let (xt, dyt) = (up(gpu, &shape, &x), up(gpu, &os, &dy));
        let mut rec = Recorder::new(gpu);
        let y = pool::avg_forward(&mut rec, &xt, k, s).unwrap();
        let dx = pool::avg_backward(&mut rec, &dyt, &shape, k, s).unwrap();
        rec.submit();
        let what = |n: &str| format!("avg pool {n} {shape:?} k{k} s{s}");
        common::assert_close(
            &what("y"),
            &down(gpu, &y),
            &r::avg_forward(&x, shape, k, s),
            1e-6,
            1e-6,
        );
        let dx = down(gpu, &dx);
        common::assert_close(
            &what("dx"),
            &dx,
            &r::avg_backward(&dy, shape, k, s),
            1e-6,
            1e-6,
        );
        // Linear in x: L = sum dy * avgpool(x) has gradient dx exactly; step 1 is fine.
        let loss = |x: &[f32]| -> f64 {
            let y = r::avg_forward(x, shape, k, s);
            y.iter().zip(&dy).map(|(a, b)| *a as f64 * *b as f64).sum()
        };
        let coords: Vec<usize> = (0..x.len()).step_by(5).collect();
        let fd = common::finite_diff(loss, &x, 0.5, &coords);
        let got: Vec<f32> = coords.iter().map(|&j| dx[j]).collect();
        let fd: Vec<f32> = fd.into_iter().map(|v| v as f32).collect();
        common::assert_close(&what("dx vs finite differences"), &got, &fd, 1e-5, 1e-4);
    }
}

#[test]
fn global_avg_matches_reference() {
    let gpu = gpu_or_skip!();
    for (i, shape) in [[2, 8, 8, 64], [1, 7, 5, 3], [3, 1, 1, 33], [4, 3, 9, 1]]
        .into_iter()
        .enumerate()
    {
        let [n, _, _, c] = shape;
        let x = common::rand_f32(500 + i as u64, shape.iter().product(), -3.0, 3.0);
        let dy = common::rand_f32(600 + i as u64, n * c, -1.0, 1.0);
        let (xt, dyt) = (up(gpu, &shape, &x), up(gpu, &[n, c], &dy));
        let mut rec = Recorder::new(gpu);
        let y = pool::global_avg_forward(&mut rec, &xt).unwrap();
        let dx = pool::global_avg_backward(&mut rec, &dyt, &shape).unwrap();
        rec.submit();
        assert_eq!(y.shape(), &[n, c]);
        let what = |s: &str| format!("global avg {s} {shape:?}");
        common::assert_close(
            &what("y"),
            &down(gpu, &y),
            &r::global_avg_forward(&x, shape),
            1e-6,
            1e-5,
        );
        let dx = down(gpu, &dx);
        common::assert_exact(&what("dx"), &dx, &r::global_avg_backward(&dy, shape));
        let loss = |x: &[f32]| -> f64 {
            let y = r::global_avg_forward(x, shape);
            y.iter().zip(&dy).map(|(a, b)| *a as f64 * *b as f64).sum()
        };
        let coords: Vec<usize> = (0..x.len()).step_by(3).collect();
        let fd = common::finite_diff(loss, &x, 0.5, &coords);
        let got: Vec<f32> = coords.iter().map(|&j| dx[j]).collect();
        let fd: Vec<f32> = fd.into_iter().map(|v| v as f32).collect();
        common::assert_close(&what("dx vs finite differences"), &got, &fd, 1e-5, 1e-4);
    }
}

#[test]
fn bad_geometry_is_an_error() {
    let gpu = gpu_or_skip!();
    let x = up(gpu, &[1, 3, 3, 2], &[0.0; 18]);
    let mut rec = Recorder::new(gpu);
    assert!(pool::max_forward(&mut rec, &x, 4, 1).is_err());
    assert!(pool::avg_forward(&mut rec, &x, 2, 0).is_err());
    assert!(pool::avg_forward(&mut rec, &x, 0, 1).is_err());
    let flat = up(gpu, &[3, 6], &[0.0; 18]);
    assert!(pool::global_avg_forward(&mut rec, &flat).is_err());
    let dy = up(gpu, &[1, 2, 2, 2], &[0.0; 8]);
    // Output of a 2x2 stride-1 window over 3x3 is 2x2: fine; stride 2 gives 1x1: mismatch.
    assert!(pool::avg_backward(&mut rec, &dy, &[1, 3, 3, 2], 2, 1).is_ok());
    assert!(pool::avg_backward(&mut rec, &dy, &[1, 3, 3, 2], 2, 2).is_err());
    let arg_f32 = up(gpu, &[1, 2, 2, 2], &[0.0; 8]);
    assert!(pool::max_backward(&mut rec, &dy, &arg_f32, &[1, 3, 3, 2]).is_err());
    let arg = Tensor::from_slice(gpu, &[1, 2, 2, 2], &[0i32; 8]).unwrap();
    assert!(pool::max_backward(&mut rec, &dy, &arg, &[1, 3, 3, 2]).is_ok());
    assert!(pool::max_backward(&mut rec, &dy, &arg, &[1, 3, 3, 3]).is_err());
    assert!(pool::max_backward(&mut rec, &dy, &arg, &[1, 1, 3, 2]).is_err());
}
