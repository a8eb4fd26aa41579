//! The channel-unrolled float convolution (ForwardPlan::Unrolled, DataGradPlan::Unrolled)
//! against the reference: inputs of at least 64 KiB (read through uniform windows), batch 1,
//! odd widths, channel counts that are not multiples of 4 or 16, output channels past the
//! last group of 16, padding 0 and 1, more input channels than one chunk unrolls; exact
//! integer sums; shapes the kernel does not take (1x1, 7x7, stride 2) fall back.

mod common;

use pixembed::gpu::{Recorder, Tensor};
use pixembed::ops::conv::{self, DataGradPlan, ForwardPlan};
use pixembed::ops::layout::ConvGeom;
use pixembed::reference::conv as r;

fn geom([n, h, w, c]: [usize; 4], o: usize, k: usize, stride: usize, pad: usize) -> ConvGeom {
    ConvGeom {
        n,
        h,
        w,
        c,
        o,
        kh: k,
        kw: k,
        stride,
        pad,
    }
}

/// Stride-1 3x3 shapes the unrolled kernel takes (forward input and dy of at least 64 KiB).
fn shapes() -> Vec<ConvGeom> {
    vec![
        geom([2, 16, 16, 64], 64, 3, 1, 1),
        geom([2, 32, 33, 17], 20, 3, 1, 1),
        geom([1, 33, 31, 64], 24, 3, 1, 1),
        geom([1, 10, 33, 64], 20, 3, 1, 0),
        geom([6, 32, 32, 3], 16, 3, 1, 1),
        geom([4, 32, 32, 16], 16, 3, 1, 1),
        geom([1, 8, 16, 130], 5, 3, 1, 1),
        geom([4, 16, 15, 33], 37, 3, 1, 1),
    ]
}

fn numel(s: [usize; 4]) -> usize {
    s.iter().product()
}

fn run_forward(g: &ConvGeom, x: &[f32], w: &[f32], plan: ForwardPlan) -> Vec<f32> {
    let gpu = common::gpu().unwrap();
    let xt = Tensor::from_slice(gpu, &g.input_shape(), x).unwrap();
    let wt = Tensor::from_slice(gpu, &g.weight_shape(), w).unwrap();
    let mut rec = Recorder::new(gpu);
    let y = conv::forward_with(&mut rec, g, &xt, &wt, plan).unwrap();
    rec.submit();
    y.to_vec(gpu).unwrap()
}

fn run_backward_data(g: &ConvGeom, dy: &[f32], w: &[f32], plan: DataGradPlan) -> Vec<f32> {
    let gpu = common::gpu().unwrap();
    let dyt = Tensor::from_slice(gpu, &g.output_shape(), dy).unwrap();
    let wt = Tensor::from_slice(gpu, &g.weight_shape(), w).unwrap();
    let mut rec = Recorder::new(gpu);
    let dx = conv::backward_data_with(&mut rec, g, &dyt, &wt, plan).unwrap();
    rec.submit();
    dx.to_vec(gpu).unwrap()
}

fn tol(terms: usize) -> f32 {
    1e-6 * terms as f32 + 1e-5
}

#[test]
fn unrolled_forward_matches_reference() {
    let _gpu = gpu_or_skip!();
    for (i, g) in shapes().iter().enumerate() {
        assert!(ForwardPlan::Unrolled.supports(g), "{g:?}");
        assert_eq!(ForwardPlan::choose(g), ForwardPlan::Unrolled);
        let seed = 900 + 10 * i as u64;
        let x = common::rand_f32(seed, numel(g.input_shape()), -1.0, 1.0);
        let w = common::rand_f32(seed + 1, numel(g.weight_shape()), -1.0, 1.0);
        let want = r::conv_forward(g, &x, &w);
        let got = run_forward(g, &x, &w, ForwardPlan::Unrolled);
        let terms = g.kh * g.kw * g.c;
        common::assert_close(&format!("forward {g:?}"), &got, &want, tol(terms), 1e-5);
        // Codes 0..3 times +-1 weights: exact integer sums.
        let xi: Vec<f32> = x.iter().map(|v| ((v + 1.0) * 2.0).floor()).collect();
        let wi: Vec<f32> = w.iter().map(|v| if *v >= 0.0 { 1.0 } else { -1.0 }).collect();
        let want = r::conv_forward(g, &xi, &wi);
        let got = run_forward(g, &xi, &wi, ForwardPlan::Unrolled);
        common::assert_exact(&format!("integer forward {g:?}"), &got, &want);
    }
}

#[test]
fn unrolled_backward_data_matches_reference() {
    let _gpu = gpu_or_skip!();
    for (i, g) in shapes().iter().enumerate() {
        if !DataGradPlan::Unrolled.supports(g) {
            // dy below 64 KiB: the tiled plan takes it.
            assert_ne!(DataGradPlan::choose(g), DataGradPlan::Unrolled);
            continue;
        }
        assert_eq!(DataGradPlan::choose(g), DataGradPlan::Unrolled);
        let seed = 950 + 10 * i as u64;
        let w = common::rand_f32(seed + 1, numel(g.weight_shape()), -1.0, 1.0);
        let dy = common::rand_f32(seed + 2, numel(g.output_shape()), -1.0, 1.0);
        let want = r::conv_backward_data(g, &dy, &w);
        let got = run_backward_data(g, &dy, &w, DataGradPlan::Unrolled);
        let terms = g.kh * g.kw * g.o;
        common::assert_close(
            &format!("backward_data {g:?}"),
            &got,
            &want,
            tol(terms),
            1e-5,
        );
    }
}

#[test]
fn unrolled_declines_other_shapes() {
    let _gpu = gpu_or_skip!();
    for g in [
        geom([8, 32, 32, 16], 16, 1, 1, 0),
        geom([8, 32, 32, 16], 16, 7, 1, 3),
        geom([8, 32, 32, 16], 32, 3, 2, 1),
        geom([1, 7, 5, 3], 5, 3, 1, 1),
    ] {
        assert!(!ForwardPlan::Unrolled.supports(&g), "{g:?}");
        assert_ne!(ForwardPlan::choose(&g), ForwardPlan::Unrolled);
        let gpu = common::gpu().unwrap();
        let x = Tensor::from_slice(gpu, &g.input_shape(), &vec![0f32; numel(g.input_shape())])
            .unwrap();
        let w = Tensor::from_slice(gpu, &g.weight_shape(), &vec![0f32; numel(g.weight_shape())])
            .unwrap();
        let mut rec = Recorder::new(gpu);
        assert!(conv::forward_with(&mut rec, &g, &x, &w, ForwardPlan::Unrolled).is_err());
    }
    // Stride 2: the input gradient runs on the dilated tiled plan.
    let g = geom([8, 32, 32, 16], 32, 3, 2, 1);
    assert!(!DataGradPlan::Unrolled.supports(&g));
}
