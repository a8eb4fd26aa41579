//! `pixembed bench ops`: the rate of each performance-critical op on the body shape.

pub mod embed;
pub mod layers;

use super::{time_op, OpRate};
use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::ops::conv as fconv;
use crate::ops::layout::ConvGeom;
use crate::reference::QuantSpec;

/// Measure every op family that has a benchmark.
pub fn run_all(gpu: &Gpu, reps: usize) -> Result<Vec<OpRate>> {
    let mut rows = Vec::new();
    rows.extend(quant(gpu, reps)?);
    rows.extend(embed::rates(gpu, reps)?);
    rows.extend(layers::rates(gpu, reps)?);
    rows.extend(conv(gpu, reps)?);
    rows.extend(bconv(gpu, reps)?);
    Ok(rows)
}

/// The activation quantizer over the body activation \[64,32,32,64\] (memory-bound).
pub fn quant(gpu: &Gpu, reps: usize) -> Result<Vec<OpRate>> {
    let n = 64 * 32 * 32 * 64;
    let x = Tensor::from_slice(gpu, &[n], &vec![0.7f32; n])?;
    let timing = time_op(gpu, 2, reps, |rec| {
        crate::ops::quant::forward(rec, QuantSpec::default(), &x).map(|_| ())
    })?;
    Ok(vec![OpRate {
        op: "quant.forward".into(),
        shape: "[64,32,32,64]".into(),
        timing,
        work: (n * 8) as f64,
        unit: "GB/s",
    }])
}

/// Float convolution: forward, gradient w.r.t. the input and w.r.t. the weights on the body
/// shape \[64,32,32,64\] 3x3 64->64 stride 1, and the forward pass of the two first-layer
/// shapes (\[256,32,32,3\] 3x3 -> 64 and \[16,224,224,3\] 7x7 stride 2 -> 64). Rates in
/// multiply-accumulates per second.
pub fn conv(gpu: &Gpu, reps: usize) -> Result<Vec<OpRate>> {
    let body = ConvGeom::same(64, 32, 32, 64, 64, 3, 1);
    let cifar = ConvGeom::same(256, 32, 32, 3, 64, 3, 1);
    let imagenet = ConvGeom::same(16, 224, 224, 3, 64, 7, 2);
    let mut rows = Vec::new();
    for (g, ops) in [
        (body, &["forward", "backward_data", "backward_weight"][..]),
        (cifar, &["forward"][..]),
        (imagenet, &["forward"][..]),
    ] {
        let filled = |shape: [usize; 4], v: f32| {
            Tensor::from_slice(gpu, &shape, &vec![v; shape.iter().product()])
        };
        let x = filled(g.input_shape(), 0.5)?;
        let w = filled(g.weight_shape(), 0.25)?;
        let dy = filled(g.output_shape(), 0.5)?;
        for &op in ops {
            let timing = time_op(gpu, 1, reps, |rec| {
                match op {
                    "forward" => fconv::forward(rec, &g, &x, &w),
                    "backward_data" => fconv::backward_data(rec, &g, &dy, &w),
                    _ => fconv::backward_weight(rec, &g, &x, &dy),
                }
                .map(|_| ())
            })?;
            rows.push(OpRate {
                op: format!("conv.{op} f32"),
                shape: format!(
                    "[{},{},{},{}] {}x{} {}->{} s{}",
                    g.n, g.h, g.w, g.c, g.kh, g.kw, g.c, g.o, g.stride
                ),
                timing,
                work: g.macs() as f64,
                unit: "G MAC/s",
            });
        }
        gpu.pool().trim();
    }
    Ok(rows)
}

/// Bitwise convolution, 1-bit weights x 2-bit activations: the body layer \[64,32,32,64\]
/// 3x3 64->64 at stride 1 and 2 (integer output), the fused-threshold variant, and the
/// general kernel on a smaller batch. Work: one bit-op per bit-plane per MAC.
pub fn bconv(gpu: &Gpu, reps: usize) -> Result<Vec<OpRate>> {
    use crate::ops::bconv::{self, Output, Path};
    use crate::ops::layout::{words_for, ConvGeom};
    use crate::ops::threshold::Thresholds;
    let bits = 2u32;
    let mut rows = Vec::new();
    let shapes = [
        (
            "forward_i32",
            ConvGeom::same(64, 32, 32, 64, 64, 3, 1),
            Path::Auto,
            false,
        ),
        (
            "forward_i32",
            ConvGeom::same(64, 32, 32, 64, 64, 3, 2),
            Path::Auto,
            false,
        ),
        (
            "forward_threshold",
            ConvGeom::same(64, 32, 32, 64, 64, 3, 1),
            Path::Auto,
            true,
        ),
        (
            "forward_i32",
            ConvGeom::same(4, 32, 32, 64, 64, 3, 1),
            Path::General,
            false,
        ),
    ];
    for (name, g, path, fused) in shapes {
        let cw = words_for(g.c);
        // Deterministic bit patterns: the rate does not depend on the values.
        let xs: Vec<u32> = (0..g.n * g.h * g.w * bits as usize * cw)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761))
            .collect();
        let ws: Vec<u32> = (0..g.o * g.kh * g.kw * cw)
            .map(|i| (i as u32).wrapping_mul(2_246_822_519) ^ 0x5555_5555)
            .collect();
        let x = Tensor::from_slice(gpu, &[g.n, g.h, g.w, bits as usize, cw], &xs)?;
        let w = Tensor::from_slice(gpu, &[g.o, g.kh, g.kw, cw], &ws)?;
        let levels = (1usize << bits) - 1;
        let values: Vec<i32> = (0..g.o * levels)
            .map(|i| (i % levels) as i32 * 40 - 40)
            .collect();
        let th = Thresholds::from_host(gpu, bits, &values, &vec![1; g.o])?;
        let out = if fused {
            Output::Threshold(&th)
        } else {
            Output::I32
        };
        let timing = time_op(gpu, 1, reps, |rec| {
            bconv::forward(rec, &g, bits, &x, &w, out, path).map(|_| ())
        })?;
        let taken = match path {
            Path::Auto => bconv::auto_path(gpu, &g, bits, out),
            p => p,
        };
        rows.push(OpRate {
            op: format!("bconv.{name} {taken:?}"),
            shape: format!(
                "[{},{},{},{}] {}x{} {}->{} s{} k={bits}",
                g.n, g.h, g.w, g.c, g.kh, g.kw, g.c, g.o, g.stride
            ),
            timing,
            work: (g.macs() * bits as u64) as f64,
            unit: "Gbit-op/s",
        });
    }
    Ok(rows)
}
