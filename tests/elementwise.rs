//! Elementwise ops and per-channel scaling: GPU vs reference on random and edge shapes,
//! scale_channels backward vs finite differences, deterministic column reductions.

mod common;

use pixembed::gpu::{Gpu, Recorder, Tensor};
use pixembed::ops::elementwise as ew;
use pixembed::reference::elementwise as r;

/// Shapes whose last dimension is C = 1, 3, 33, 64, 16; batch 1, odd H/W, flat [N, C], and
/// one with many row chunks. Element counts multiples of 4 take the vec4 flat kernels, the
/// odd ones (35, 1155) the one-element kernels.
const SHAPES: &[&[usize]] = &[
    &[1, 5, 7, 1],
    &[1, 5, 7, 33],
    &[2, 3, 3, 3],
    &[3, 5, 4, 33],
    &[2, 8, 8, 64],
    &[7, 10],
    &[4, 32, 32, 16],
];

fn up(gpu: &Gpu, shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_slice(gpu, shape, v).unwrap()
}

fn down(gpu: &Gpu, t: &Tensor) -> Vec<f32> {
    t.to_vec::<f32>(gpu).unwrap()
}

#[test]
fn add_scale_and_add_inplace_match_reference() {
    let gpu = gpu_or_skip!();
    for (i, shape) in SHAPES.iter().enumerate() {
        let n: usize = shape.iter().product();
        let a = common::rand_f32(i as u64, n, -2.0, 2.0);
        let b = common::rand_f32(50 + i as u64, n, -2.0, 2.0);
        let (at, bt) = (up(gpu, shape, &a), up(gpu, shape, &b));
        let mut rec = Recorder::new(gpu);
        let c = ew::add(&mut rec, &at, &bt).unwrap();
        let s = ew::scale(&mut rec, &at, -0.375).unwrap();
        ew::add_inplace(&mut rec, &at, &bt).unwrap();
        rec.submit();
        let what = |op: &str| format!("{op} {shape:?}");
        let sum = r::add(&a, &b);
        common::assert_exact(&what("add"), &down(gpu, &c), &sum);
        common::assert_exact(&what("scale"), &down(gpu, &s), &r::scale(&a, -0.375));
        common::assert_exact(&what("add_inplace"), &down(gpu, &at), &sum);
    }
}

#[test]
fn add_inplace_of_itself_doubles() {
    let gpu = gpu_or_skip!();
    for n in [1000, 333] {
        let a = common::rand_f32(7, n, -2.0, 2.0);
        let at = up(gpu, &[n], &a);
        let mut rec = Recorder::new(gpu);
        ew::add_inplace(&mut rec, &at, &at).unwrap();
        rec.submit();
        common::assert_exact("a += a", &down(gpu, &at), &r::add(&a, &a));
    }
}

#[test]
fn scale_channels_and_backward_match_reference() {
    let gpu = gpu_or_skip!();
    for (i, shape) in SHAPES.iter().enumerate() {
        let n: usize = shape.iter().product();
        let c = *shape.last().unwrap();
        let x = common::rand_f32(100 + i as u64, n, -2.0, 2.0);
        let dy = common::rand_f32(200 + i as u64, n, -1.0, 1.0);
        let s = common::rand_f32(300 + i as u64, c, -1.5, 1.5);
        let (xt, dyt, st) = (up(gpu, shape, &x), up(gpu, shape, &dy), up(gpu, &[c], &s));
        let mut rec = Recorder::new(gpu);
        let y = ew::scale_channels(&mut rec, &xt, &st).unwrap();
        let (dx, ds) = ew::scale_channels_backward(&mut rec, &xt, &dyt, &st).unwrap();
        let sums = ew::column_sums(&mut rec, &xt).unwrap();
        rec.submit();
        let what = |op: &str| format!("{op} {shape:?}");
        common::assert_exact(
            &what("scale_channels"),
            &down(gpu, &y),
            &r::scale_channels(&x, &s),
        );
        let (rdx, rds) = r::scale_channels_backward(&x, &dy, &s);
        common::assert_exact(&what("scale_channels dx"), &down(gpu, &dx), &rdx);
        common::assert_close(
            &what("scale_channels ds"),
            &down(gpu, &ds),
            &rds,
            1e-4,
            1e-5,
        );
        common::assert_close(
            &what("column_sums"),
            &down(gpu, &sums),
            &r::column_sums(&x, c),
            1e-4,
            1e-5,
        );
    }
}

#[test]
fn scale_channels_backward_matches_finite_differences() {
    let gpu = gpu_or_skip!();
    let shape = [2, 3, 5, 3];
    let n: usize = shape.iter().product();
    let x = common::rand_f32(400, n, -2.0, 2.0);
    let g = common::rand_f32(401, n, -1.0, 1.0);
    let s = vec![0.5f32, -1.25, 2.0];
    let (xt, gt, st) = (up(gpu, &shape, &x), up(gpu, &shape, &g), up(gpu, &[3], &s));
    let mut rec = Recorder::new(gpu);
    let (dx, ds) = ew::scale_channels_backward(&mut rec, &xt, &gt, &st).unwrap();
    rec.submit();
    // L = sum g * x * s[c]
    let loss = |x: &[f32], s: &[f32]| -> f64 {
        let y = r::scale_channels(x, s);
        y.iter().zip(&g).map(|(a, b)| *a as f64 * *b as f64).sum()
    };
    let fd_x = common::finite_diff(|x| loss(x, &s), &x, 0.25, &(0..n).collect::<Vec<_>>());
    let fd_s = common::finite_diff(|s| loss(&x, s), &s, 0.25, &[0, 1, 2]);
    let to32 = |v: Vec<f64>| v.into_iter().map(|a| a as f32).collect::<Vec<_>>();
    common::assert_close(
        "dx vs finite differences",
        &down(gpu, &dx),
        &to32(fd_x),
        1e-5,
        1e-4,
    );
    common::assert_close(
        "ds vs finite differences",
        &down(gpu, &ds),
        &to32(fd_s),
        1e-4,
        1e-4,
    );
}

#[test]
fn column_reductions_are_deterministic() {
    let gpu = gpu_or_skip!();
    let shape = [8, 32, 32, 16];
    let n: usize = shape.iter().product();
    let x = up(gpu, &shape, &common::rand_f32(500, n, -2.0, 2.0));
    let dy = up(gpu, &shape, &common::rand_f32(501, n, -1.0, 1.0));
    let s = up(gpu, &[16], &common::rand_f32(502, 16, -1.0, 1.0));
    let run = || {
        let mut rec = Recorder::new(gpu);
        let (_, ds) = ew::scale_channels_backward(&mut rec, &x, &dy, &s).unwrap();
        let sums = ew::column_sums(&mut rec, &x).unwrap();
        rec.submit();
        [ds, sums].map(|t| {
            down(gpu, &t)
                .into_iter()
                .map(f32::to_bits)
                .collect::<Vec<_>>()
        })
    };
    let (a, b) = (run(), run());
    common::assert_exact("ds rerun", &a[0], &b[0]);
    common::assert_exact("column_sums rerun", &a[1], &b[1]);
}

#[test]
fn mismatched_shapes_are_errors() {
    let gpu = gpu_or_skip!();
    let a = up(gpu, &[2, 3], &[1.0; 6]);
    let b = up(gpu, &[3, 2], &[1.0; 6]);
    let s2 = up(gpu, &[2], &[1.0; 2]);
    let mut rec = Recorder::new(gpu);
    assert!(ew::add(&mut rec, &a, &b).is_err());
    assert!(ew::add_inplace(&mut rec, &a, &b).is_err());
    assert!(ew::scale_channels(&mut rec, &a, &s2).is_err());
    assert!(ew::scale_channels_backward(&mut rec, &a, &b, &s2).is_err());
}
