//! Activation quantizer: GPU vs reference, every bit width, edge values; STE backward
//! against finite differences of the surrogate (the clip).

mod common;

use pixembed::gpu::{Recorder, Tensor};
use pixembed::reference::quant as r;
use pixembed::{ops, QuantSpec};

fn edge_values(spec: QuantSpec) -> Vec<f32> {
    let mut v = vec![
        -1.0,
        -0.0,
        0.0,
        spec.max,
        spec.max * 2.0,
        f32::MIN_POSITIVE,
        1e30,
        -1e30,
    ];
    // Exact rounding boundaries (code + 0.5) / scale and their neighbours.
    for c in 0..spec.levels() {
        let b = (c as f32 + 0.5) / spec.scale();
        v.extend([
            b,
            f32::from_bits(b.to_bits() - 1),
            f32::from_bits(b.to_bits() + 1),
        ]);
    }
    v
}

#[test]
fn forward_matches_reference_all_bits() {
    let gpu = gpu_or_skip!();
    for bits in QuantSpec::SUPPORTED_BITS {
        for max in [2.0f32, 1.0, 6.0] {
            let spec = QuantSpec::new(bits, max).unwrap();
            let mut x = common::rand_f32(bits as u64, 1037, -1.0, max * 1.5);
            x.extend(edge_values(spec));
            let t = Tensor::from_slice(gpu, &[x.len()], &x).unwrap();
            let mut rec = Recorder::new(gpu);
            let y = ops::quant::forward(&mut rec, spec, &t).unwrap();
            rec.submit();
            common::assert_exact(
                &format!("quant k={bits} max={max}"),
                &y.to_vec::<f32>(gpu).unwrap(),
                &r::quant_forward(spec, &x),
            );
        }
    }
}

#[test]
fn backward_matches_reference_and_finite_differences() {
    let gpu = gpu_or_skip!();
    let spec = QuantSpec::default();
    let x = common::rand_f32(11, 513, -0.5, 2.5);
    let g = common::rand_f32(12, 513, -1.0, 1.0);
    let xt = Tensor::from_slice(gpu, &[513], &x).unwrap();
    let gt = Tensor::from_slice(gpu, &[513], &g).unwrap();
    let mut rec = Recorder::new(gpu);
    let dx = ops::quant::backward(&mut rec, spec, &xt, &gt).unwrap();
    rec.submit();
    let dx = dx.to_vec::<f32>(gpu).unwrap();
    common::assert_exact("quant backward", &dx, &r::quant_backward(spec, &x, &g));
    // The STE surrogate of q is clip(x, 0, max): L = sum g * clip(x).
    let loss = |x: &[f32]| -> f64 {
        x.iter()
            .zip(&g)
            .map(|(&v, &w)| (w * v.clamp(0.0, spec.max)) as f64)
            .sum()
    };
    let coords: Vec<usize> = (0..513)
        .filter(|&i| x[i].abs() > 1e-2 && (x[i] - spec.max).abs() > 1e-2)
        .collect();
    let fd = common::finite_diff(loss, &x, 1e-3, &coords);
    for (k, &i) in coords.iter().enumerate() {
        assert!(
            (fd[k] - dx[i] as f64).abs() < 1e-2,
            "x={} fd={} gpu={}",
            x[i],
            fd[k],
            dx[i]
        );
    }
}

#[test]
fn backward_codes_matches_reference() {
    let gpu = gpu_or_skip!();
    let spec = QuantSpec::new(3, 1.5).unwrap();
    let x = common::rand_f32(21, 301, -0.5, 2.0);
    let g = common::rand_f32(22, 301, -1.0, 1.0);
    let xt = Tensor::from_slice(gpu, &[301], &x).unwrap();
    let gt = Tensor::from_slice(gpu, &[301], &g).unwrap();
    let mut rec = Recorder::new(gpu);
    let dx = ops::quant::backward_codes(&mut rec, spec, &xt, &gt).unwrap();
    rec.submit();
    common::assert_close(
        "quant backward_codes",
        &dx.to_vec::<f32>(gpu).unwrap(),
        &r::quant_backward_codes(spec, &x, &g),
        0.0,
        1e-6,
    );
}
