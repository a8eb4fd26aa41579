//! Weight binarizer: signs and alpha (per channel and per tensor) against the reference and
//! bit-identical across runs; STE backward exact and against finite differences of the
//! surrogate (the clip to [-1, 1]); in-place clip.

mod common;

use pixembed::gpu::{Gpu, Recorder, Tensor};
use pixembed::ops;
use pixembed::reference::binarize as r;

/// Weight shapes: conv [O, KH, KW, C], linear [O, I] with long rows, one row, a vector.
const SHAPES: [&[usize]; 5] = [&[16, 3, 3, 33], &[10, 1000], &[1, 5], &[7], &[130, 1, 1, 3]];

fn weights(seed: u64, n: usize) -> Vec<f32> {
    let mut w = common::rand_f32(seed, n, -1.5, 1.5);
    w[0] = 0.0;
    if n > 2 {
        w[1] = -0.0;
        w[2] = -1.0;
    }
    w
}

fn run_forward(gpu: &Gpu, shape: &[usize], w: &[f32], per_channel: bool) -> (Vec<f32>, Vec<f32>) {
    let t = Tensor::from_slice(gpu, shape, w).unwrap();
    let mut rec = Recorder::new(gpu);
    let (signs, alpha) = ops::binarize::forward(&mut rec, &t, per_channel).unwrap();
    rec.submit();
    assert_eq!(signs.shape(), shape);
    assert_eq!(alpha.shape(), &[shape[0]]);
    (signs.to_vec(gpu).unwrap(), alpha.to_vec(gpu).unwrap())
}

#[test]
fn forward_matches_reference() {
    let gpu = gpu_or_skip!();
    for (i, shape) in SHAPES.iter().enumerate() {
        let n: usize = shape.iter().product();
        let w = weights(i as u64, n);
        for per_channel in [true, false] {
            let (signs, alpha) = run_forward(gpu, shape, &w, per_channel);
            let (want_signs, want_alpha) = r::binarize_forward(&w, shape[0], per_channel);
            let what = format!("binarize {shape:?} per_channel={per_channel}");
            common::assert_exact(&what, &signs, &want_signs);
            common::assert_close(&what, &alpha, &want_alpha, 1e-6, 1e-5);
        }
    }
}

#[test]
fn signs_alone_match_reference() {
    let gpu = gpu_or_skip!();
    for (i, shape) in SHAPES.iter().enumerate() {
        let n: usize = shape.iter().product();
        let w = weights(20 + i as u64, n);
        let t = Tensor::from_slice(gpu, shape, &w).unwrap();
        let mut rec = Recorder::new(gpu);
        let signs = ops::binarize::signs(&mut rec, &t).unwrap();
        rec.submit();
        assert_eq!(signs.shape(), *shape);
        let got: Vec<f32> = signs.to_vec(gpu).unwrap();
        common::assert_exact(&format!("signs {shape:?}"), &got, &r::signs(&w));
        let (with_alpha, _) = run_forward(gpu, shape, &w, true);
        common::assert_exact(&format!("signs {shape:?} vs forward"), &got, &with_alpha);
    }
}

#[test]
fn forward_is_bit_identical_across_runs() {
    let gpu = gpu_or_skip!();
    let shape = [64, 3, 3, 64];
    let w = weights(9, shape.iter().product());
    for per_channel in [true, false] {
        let (_, a) = run_forward(gpu, &shape, &w, per_channel);
        let (_, b) = run_forward(gpu, &shape, &w, per_channel);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        common::assert_exact("alpha rerun", &bits(&a), &bits(&b));
    }
}

#[test]
fn backward_matches_reference_and_finite_differences() {
    let gpu = gpu_or_skip!();
    for (i, shape) in SHAPES.iter().enumerate() {
        let n: usize = shape.iter().product();
        let mut w = weights(20 + i as u64, n);
        if n > 4 {
            w[3] = 1.0;
            w[4] = f32::from_bits(1.0f32.to_bits() + 1);
        }
        let g = common::rand_f32(30 + i as u64, n, -1.0, 1.0);
        let wt = Tensor::from_slice(gpu, shape, &w).unwrap();
        let gt = Tensor::from_slice(gpu, shape, &g).unwrap();
        let mut rec = Recorder::new(gpu);
        let dw = ops::binarize::backward(&mut rec, &wt, &gt).unwrap();
        rec.submit();
        let dw = dw.to_vec::<f32>(gpu).unwrap();
        common::assert_exact(
            &format!("binarize backward {shape:?}"),
            &dw,
            &r::binarize_backward(&w, &g),
        );
        // STE surrogate of the binarized weight: clip(w, -1, 1); L = sum g * clip(w).
        let loss = |w: &[f32]| -> f64 {
            w.iter()
                .zip(&g)
                .map(|(&x, &y)| y as f64 * x.clamp(-1.0, 1.0) as f64)
                .sum()
        };
        let coords: Vec<usize> = (0..n.min(200))
            .filter(|&k| (w[k].abs() - 1.0).abs() > 1e-2)
            .collect();
        let fd = common::finite_diff(loss, &w, 1e-3, &coords);
        for (k, &e) in coords.iter().enumerate() {
            assert!(
                (fd[k] - dw[e] as f64).abs() < 1e-3,
                "{shape:?} w={} fd={} gpu={}",
                w[e],
                fd[k],
                dw[e]
            );
        }
    }
}

#[test]
fn clip_clamps_in_place() {
    let gpu = gpu_or_skip!();
    let shape = [10, 1000];
    let w = weights(40, 10_000);
    let t = Tensor::from_slice(gpu, &shape, &w).unwrap();
    let mut rec = Recorder::new(gpu);
    ops::binarize::clip(&mut rec, &t).unwrap();
    rec.submit();
    common::assert_exact("clip", &t.to_vec::<f32>(gpu).unwrap(), &r::clip(&w));
}

#[test]
fn bad_arguments_are_errors() {
    let gpu = gpu_or_skip!();
    let w = Tensor::from_slice(gpu, &[4, 3], &[0.5f32; 12]).unwrap();
    let g = Tensor::from_slice(gpu, &[3, 4], &[0.5f32; 12]).unwrap();
    let words = Tensor::from_slice(gpu, &[4, 3], &[0u32; 12]).unwrap();
    let mut rec = Recorder::new(gpu);
    assert!(ops::binarize::forward(&mut rec, &words, true).is_err());
    assert!(ops::binarize::backward(&mut rec, &w, &g).is_err());
    assert!(ops::binarize::clip(&mut rec, &words).is_err());
    assert_eq!(rec.dispatch_count(), 0);
}
