//! `pixembed bench ops`: the rate of each performance-critical op on the body shape.

pub mod embed;
pub mod layers;

use super::{time_op, OpRate};
use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::reference::QuantSpec;

/// Measure every op family that has a benchmark.
pub fn run_all(gpu: &Gpu, reps: usize) -> Result<Vec<OpRate>> {
    let mut rows = Vec::new();
    rows.extend(quant(gpu, reps)?);
    rows.extend(embed::rates(gpu, reps)?);
    rows.extend(layers::rates(gpu, reps)?);
    Ok(rows)
}

/// The activation quantizer over the body activation [64,32,32,64] (memory-bound).
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
