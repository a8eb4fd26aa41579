//! Float convolution: forward, gradient w.r.t. the input and w.r.t. the weights, GPU vs the
//! reference on random inputs and edge shapes (batch 1, odd H/W, C = 1/3/33/64, O = 1/5/64,
//! kernels 1/3/5/7, stride 1/2, padding 0 and k/2), every plan; exact integer sums in the
//! forward pass; backward passes against finite differences of L = sum(g * conv(x, w));
//! determinism.

mod common;

use pixembed::gpu::{Gpu, Recorder, Tensor};
use pixembed::ops::conv::{self, DataGradPlan, ForwardPlan, WeightGradPlan};
use pixembed::ops::layout::ConvGeom;
use pixembed::reference::conv as r;

/// Geometry from [n, h, w, c], output channels, square kernel, stride and padding.
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

/// Edge shapes covering every listed case at least once.
fn edge_shapes() -> Vec<ConvGeom> {
    vec![
        geom([1, 7, 5, 1], 1, 1, 1, 0),
        geom([1, 7, 5, 3], 5, 3, 1, 1),
        geom([2, 7, 5, 33], 64, 3, 2, 1),
        geom([1, 9, 7, 64], 5, 5, 1, 2),
        geom([2, 8, 8, 3], 64, 7, 2, 3),
        geom([1, 7, 5, 64], 64, 3, 1, 0),
        geom([2, 6, 6, 16], 16, 1, 2, 0),
        geom([1, 7, 5, 4], 8, 7, 1, 1),
        geom([3, 5, 7, 33], 1, 5, 2, 2),
        geom([1, 6, 9, 64], 64, 3, 1, 1),
        // Padding wider than the kernel: the input gradient's convolution crops.
        geom([1, 5, 6, 4], 8, 3, 1, 3),
    ]
}

fn upload(gpu: &Gpu, shape: [usize; 4], data: &[f32]) -> Tensor {
    Tensor::from_slice(gpu, &shape, data).unwrap()
}

fn numel(shape: [usize; 4]) -> usize {
    shape.iter().product()
}

/// Random x, w, dy for a geometry (values in [-1, 1)).
fn inputs(g: &ConvGeom, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    (
        common::rand_f32(seed, numel(g.input_shape()), -1.0, 1.0),
        common::rand_f32(seed + 1, numel(g.weight_shape()), -1.0, 1.0),
        common::rand_f32(seed + 2, numel(g.output_shape()), -1.0, 1.0),
    )
}

fn gpu_forward(gpu: &Gpu, g: &ConvGeom, x: &[f32], w: &[f32], plan: ForwardPlan) -> Vec<f32> {
    let (xt, wt) = (
        upload(gpu, g.input_shape(), x),
        upload(gpu, g.weight_shape(), w),
    );
    let mut rec = Recorder::new(gpu);
    let y = conv::forward_with(&mut rec, g, &xt, &wt, plan).unwrap();
    rec.submit();
    assert_eq!(y.shape(), g.output_shape());
    y.to_vec(gpu).unwrap()
}

fn gpu_backward_data(
    gpu: &Gpu,
    g: &ConvGeom,
    dy: &[f32],
    w: &[f32],
    plan: DataGradPlan,
) -> Vec<f32> {
    let (dyt, wt) = (
        upload(gpu, g.output_shape(), dy),
        upload(gpu, g.weight_shape(), w),
    );
    let mut rec = Recorder::new(gpu);
    let dx = conv::backward_data_with(&mut rec, g, &dyt, &wt, plan).unwrap();
    rec.submit();
    assert_eq!(dx.shape(), g.input_shape());
    dx.to_vec(gpu).unwrap()
}

fn gpu_backward_weight(
    gpu: &Gpu,
    g: &ConvGeom,
    x: &[f32],
    dy: &[f32],
    plan: WeightGradPlan,
) -> Vec<f32> {
    let (xt, dyt) = (
        upload(gpu, g.input_shape(), x),
        upload(gpu, g.output_shape(), dy),
    );
    let mut rec = Recorder::new(gpu);
    let dw = conv::backward_weight_with(&mut rec, g, &xt, &dyt, plan).unwrap();
    rec.submit();
    assert_eq!(dw.shape(), g.weight_shape());
    dw.to_vec(gpu).unwrap()
}

/// The forward plans that run `g` on this adapter: the general one first, then every
/// register-blocked kernel that supports it (each forced, not only the chosen one).
fn forward_plans(gpu: &Gpu, g: &ConvGeom) -> Vec<ForwardPlan> {
    ForwardPlan::ALL
        .into_iter()
        .filter(|p| p.supports(gpu, g))
        .collect()
}

/// The input-gradient plans that run `g` on this adapter, the general one first.
fn data_grad_plans(gpu: &Gpu, g: &ConvGeom) -> Vec<DataGradPlan> {
    DataGradPlan::ALL
        .into_iter()
        .filter(|p| p.supports(gpu, g))
        .collect()
}

/// Tolerance for sums of `terms` products of values in [-1, 1] (reference in f64).
fn tol(terms: usize) -> f32 {
    1e-6 * terms as f32 + 1e-5
}

#[test]
fn forward_matches_reference_every_plan() {
    let gpu = gpu_or_skip!();
    for (i, g) in edge_shapes().iter().enumerate() {
        let (x, w, _) = inputs(g, 10 * i as u64);
        let want = r::conv_forward(g, &x, &w);
        for plan in forward_plans(gpu, g) {
            let got = gpu_forward(gpu, g, &x, &w, plan);
            let terms = g.kh * g.kw * g.c;
            common::assert_close(
                &format!("forward {g:?} {plan:?}"),
                &got,
                &want,
                tol(terms),
                1e-5,
            );
        }
    }
}

#[test]
fn forward_integer_codes_are_exact() {
    let gpu = gpu_or_skip!();
    for (i, g) in edge_shapes().iter().enumerate() {
        // Codes 0..3 times +-1 weights: every partial sum is an integer below 2^24.
        let x: Vec<f32> = common::rand_u32(100 + i as u64, numel(g.input_shape()))
            .into_iter()
            .map(|v| (v % 4) as f32)
            .collect();
        let w: Vec<f32> = common::rand_u32(200 + i as u64, numel(g.weight_shape()))
            .into_iter()
            .map(|v| if v & 1 == 1 { 1.0 } else { -1.0 })
            .collect();
        let want = r::conv_forward(g, &x, &w);
        for plan in [ForwardPlan::General, ForwardPlan::choose(gpu, g)] {
            let got = gpu_forward(gpu, g, &x, &w, plan);
            common::assert_exact(&format!("integer forward {g:?} {plan:?}"), &got, &want);
        }
    }
}

#[test]
fn forward_large_channel_counts_split_into_chunks() {
    let gpu = gpu_or_skip!();
    // 3x3 x 130 channels x 16 outputs does not fit one 64 KiB weight table: the kernel runs
    // input-channel chunks and sums them in order.
    let g = geom([1, 5, 6, 130], 20, 3, 1, 1);
    let (x, w, _) = inputs(&g, 7);
    let want = r::conv_forward(&g, &x, &w);
    for plan in [ForwardPlan::General, ForwardPlan::Tiled] {
        let got = gpu_forward(gpu, &g, &x, &w, plan);
        common::assert_close(
            &format!("chunked forward {plan:?}"),
            &got,
            &want,
            tol(9 * 130),
            1e-5,
        );
    }
}

/// Shapes whose input (or, for the input gradient, dy) is at least 64 KiB, so the window
/// plan can read it through uniform windows: stride 1 and 2, rows wide enough for two-row
/// dispatches, a partial output group, odd
/// width, no padding, 3 input channels, and more input channels than one weight table
/// holds for 8 output channels.
fn windowed_shapes() -> Vec<ConvGeom> {
    vec![
        geom([2, 16, 16, 64], 64, 3, 1, 1),
        geom([1, 8, 32, 64], 64, 3, 1, 1),
        geom([2, 16, 16, 64], 24, 3, 2, 1),
        geom([6, 32, 32, 3], 16, 3, 1, 1),
        geom([1, 10, 33, 64], 20, 3, 1, 0),
        geom([1, 8, 16, 130], 20, 3, 1, 1),
        geom([1, 8, 16, 260], 20, 3, 1, 1),
        geom([4, 16, 16, 32], 64, 3, 2, 1),
        // The texture kernel (3-wide, stride 1, C % 4 == 0, O % 16 == 0, rows of whole
        // 256-byte pitches): a partial 8-pixel tile, odd heights, no padding (its input
        // gradient pads 2), several 16-channel groups, and a partial 64-channel table row.
        geom([3, 5, 4, 16], 16, 3, 1, 1),
        geom([1, 7, 16, 16], 32, 3, 1, 0),
        geom([2, 9, 12, 32], 48, 3, 1, 1),
        geom([2, 8, 8, 64], 80, 3, 1, 1),
    ]
}

#[test]
fn windowed_shapes_match_reference() {
    // Every register-blocked plan that supports a shape: tiled, window and texture.
    let gpu = gpu_or_skip!();
    for (i, g) in windowed_shapes().iter().enumerate() {
        let (x, w, dy) = inputs(g, 400 + 10 * i as u64);
        let want = r::conv_forward(g, &x, &w);
        // Codes 0..3 times +-1 weights: exact integer sums.
        let xi: Vec<f32> = x.iter().map(|v| ((v + 1.0) * 2.0).floor()).collect();
        let wi: Vec<f32> = w.iter().map(|v| v.signum()).collect();
        let want_int = r::conv_forward(g, &xi, &wi);
        for plan in forward_plans(gpu, g).into_iter().skip(1) {
            let got = gpu_forward(gpu, g, &x, &w, plan);
            let terms = g.kh * g.kw * g.c;
            common::assert_close(
                &format!("forward {g:?} {plan:?}"),
                &got,
                &want,
                tol(terms),
                1e-5,
            );
            let got = gpu_forward(gpu, g, &xi, &wi, plan);
            common::assert_exact(&format!("integer forward {g:?} {plan:?}"), &got, &want_int);
        }
        if g.stride == 1 {
            backward_data_matches(gpu, g, &dy, &w, &data_grad_plans(gpu, g)[1..]);
        }
    }
}

/// The input gradient on each of `plans` against the reference.
fn backward_data_matches(gpu: &Gpu, g: &ConvGeom, dy: &[f32], w: &[f32], plans: &[DataGradPlan]) {
    let want = r::conv_backward_data(g, dy, w);
    for &plan in plans {
        let got = gpu_backward_data(gpu, g, dy, w, plan);
        let terms = g.kh * g.kw * g.o;
        common::assert_close(
            &format!("backward_data {g:?} {plan:?}"),
            &got,
            &want,
            tol(terms),
            1e-5,
        );
    }
}

/// Stride-2 input gradients whose dilated dy suits the texture kernel (rows of whole
/// 256-byte pitches, O % 16 == 0 for the transposed view), odd sizes included.
#[test]
fn backward_data_stride2_matches_reference() {
    let gpu = gpu_or_skip!();
    for (i, g) in [
        geom([2, 8, 8, 16], 32, 3, 2, 1),
        geom([3, 9, 8, 16], 32, 3, 2, 1),
        geom([2, 16, 16, 32], 64, 3, 2, 1),
    ]
    .iter()
    .enumerate()
    {
        let (_, w, dy) = inputs(g, 500 + i as u64);
        backward_data_matches(gpu, g, &dy, &w, &data_grad_plans(gpu, g)[1..]);
    }
}

#[test]
fn backward_data_matches_reference_every_plan() {
    let gpu = gpu_or_skip!();
    for (i, g) in edge_shapes().iter().enumerate() {
        let (_, w, dy) = inputs(g, 30 + 10 * i as u64);
        let plans = [DataGradPlan::General, DataGradPlan::choose(gpu, g)];
        backward_data_matches(gpu, g, &dy, &w, &plans);
    }
}

#[test]
fn backward_weight_matches_reference_every_plan() {
    let gpu = gpu_or_skip!();
    for (i, g) in edge_shapes().iter().enumerate() {
        let (x, _, dy) = inputs(g, 60 + 10 * i as u64);
        let want = r::conv_backward_weight(g, &x, &dy);
        for plan in [WeightGradPlan::General, WeightGradPlan::choose(g)] {
            let got = gpu_backward_weight(gpu, g, &x, &dy, plan);
            let terms = g.n * g.ho() * g.wo();
            common::assert_close(
                &format!("backward_weight {g:?} {plan:?}"),
                &got,
                &want,
                tol(terms),
                1e-5,
            );
        }
    }
}

#[test]
fn backward_weight_chunked_matches_reference() {
    let gpu = gpu_or_skip!();
    // dy of at least 64 KiB: several chunks, a short last chunk whose window ends at the end
    // of dy, O = 16, 20 (not a multiple of 16) and 64, C not a multiple of 4, stride 2.
    for (i, g) in [
        geom([2, 15, 15, 8], 64, 3, 1, 1),
        geom([8, 16, 16, 5], 16, 3, 1, 1),
        geom([4, 16, 16, 3], 20, 1, 1, 0),
        geom([4, 33, 31, 6], 64, 3, 2, 1),
        // The texture path (3-wide, stride 1, C and O multiples of 4, rows of whole
        // 256-byte pitches): odd height, no padding, O = 64 with C = 8.
        geom([4, 17, 16, 16], 32, 3, 1, 1),
        geom([10, 10, 18, 32], 16, 3, 1, 0),
        geom([2, 12, 32, 8], 64, 3, 1, 1),
        // ... and at stride 2, with an odd output height.
        geom([8, 16, 16, 16], 32, 3, 2, 1),
        geom([16, 17, 16, 8], 16, 3, 2, 1),
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(WeightGradPlan::choose(g), WeightGradPlan::Chunked, "{g:?}");
        let (x, _, dy) = inputs(g, 300 + i as u64);
        let want = r::conv_backward_weight(g, &x, &dy);
        let got = gpu_backward_weight(gpu, g, &x, &dy, WeightGradPlan::Chunked);
        let terms = g.n * g.ho() * g.wo();
        common::assert_close(
            &format!("chunked backward_weight {g:?}"),
            &got,
            &want,
            tol(terms),
            1e-5,
        );
    }
}

#[test]
fn backward_passes_match_finite_differences() {
    let gpu = gpu_or_skip!();
    for g in [
        geom([1, 7, 5, 3], 5, 3, 2, 1),
        geom([2, 5, 6, 4], 3, 3, 1, 1),
    ] {
        let (x, w, gy) = inputs(&g, 91);
        // L = sum(g * conv(x, w)) is linear in x and in w, so central differences are exact
        // up to rounding.
        let loss = |x: &[f32], w: &[f32]| -> f64 {
            r::conv_forward(&g, x, w)
                .iter()
                .zip(&gy)
                .map(|(&y, &d)| y as f64 * d as f64)
                .sum()
        };
        let dx = gpu_backward_data(gpu, &g, &gy, &w, DataGradPlan::choose(gpu, &g));
        let dw = gpu_backward_weight(gpu, &g, &x, &gy, WeightGradPlan::choose(&g));
        let xs: Vec<usize> = (0..x.len()).step_by(7).collect();
        let fd = common::finite_diff(|xv| loss(xv, &w), &x, 0.05, &xs);
        for (k, &i) in xs.iter().enumerate() {
            assert!(
                (fd[k] - dx[i] as f64).abs() < 2e-3,
                "dx[{i}] {g:?}: fd {} gpu {}",
                fd[k],
                dx[i]
            );
        }
        let ws: Vec<usize> = (0..w.len()).step_by(5).collect();
        let fd = common::finite_diff(|wv| loss(&x, wv), &w, 0.05, &ws);
        for (k, &i) in ws.iter().enumerate() {
            assert!(
                (fd[k] - dw[i] as f64).abs() < 2e-3,
                "dw[{i}] {g:?}: fd {} gpu {}",
                fd[k],
                dw[i]
            );
        }
    }
}

#[test]
fn every_op_is_deterministic() {
    let gpu = gpu_or_skip!();
    // Large enough for the chunked weight gradient (two chunks).
    let g = geom([8, 16, 16, 8], 16, 3, 1, 1);
    assert_eq!(WeightGradPlan::choose(&g), WeightGradPlan::Chunked);
    let (x, w, dy) = inputs(&g, 5);
    let run = || {
        (
            gpu_forward(gpu, &g, &x, &w, ForwardPlan::choose(gpu, &g)),
            gpu_backward_data(gpu, &g, &dy, &w, DataGradPlan::choose(gpu, &g)),
            gpu_backward_weight(gpu, &g, &x, &dy, WeightGradPlan::choose(&g)),
        )
    };
    let (a, b) = (run(), run());
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    common::assert_exact("forward twice", &bits(&a.0), &bits(&b.0));
    common::assert_exact("backward_data twice", &bits(&a.1), &bits(&b.1));
    common::assert_exact("backward_weight twice", &bits(&a.2), &bits(&b.2));
}

#[test]
fn bad_shapes_are_errors() {
    let gpu = gpu_or_skip!();
    let g = geom([1, 5, 5, 3], 4, 3, 1, 1);
    let x = Tensor::zeros(gpu, pixembed::gpu::DType::F32, &g.input_shape()).unwrap();
    let w = Tensor::zeros(gpu, pixembed::gpu::DType::F32, &g.weight_shape()).unwrap();
    let dy = Tensor::zeros(gpu, pixembed::gpu::DType::F32, &g.output_shape()).unwrap();
    let mut rec = Recorder::new(gpu);
    assert!(conv::forward(&mut rec, &g, &w, &x).is_err());
    assert!(conv::backward_data(&mut rec, &g, &x, &w).is_err());
    assert!(conv::backward_weight(&mut rec, &g, &dy, &x).is_err());
    let too_small = geom([1, 2, 2, 3], 4, 7, 1, 1);
    assert!(conv::forward(&mut rec, &too_small, &x, &w).is_err());
    let wide = geom([1, 9, 9, 3], 4, 11, 2, 5);
    let (xw, ww) = (
        Tensor::zeros(gpu, pixembed::gpu::DType::F32, &wide.input_shape()).unwrap(),
        Tensor::zeros(gpu, pixembed::gpu::DType::F32, &wide.weight_shape()).unwrap(),
    );
    assert!(!ForwardPlan::Tiled.supports(gpu, &wide));
    assert!(conv::forward_with(&mut rec, &wide, &xw, &ww, ForwardPlan::Tiled).is_err());
    assert!(conv::forward(&mut rec, &wide, &xw, &ww).is_ok());
    // A 15-wide kernel does not fit the tiled kernel's row segment.
    let g2 = geom([1, 15, 15, 3], 4, 15, 1, 7);
    let (dy2, w2) = (
        Tensor::zeros(gpu, pixembed::gpu::DType::F32, &g2.output_shape()).unwrap(),
        Tensor::zeros(gpu, pixembed::gpu::DType::F32, &g2.weight_shape()).unwrap(),
    );
    assert!(!DataGradPlan::Tiled.supports(gpu, &g2));
    assert!(conv::backward_data_with(&mut rec, &g2, &dy2, &w2, DataGradPlan::Tiled).is_err());
    assert!(conv::backward_weight_with(&mut rec, &g, &x, &dy, WeightGradPlan::Chunked).is_err());
}
