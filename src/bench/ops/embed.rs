//! Rates of the pixel-embedding ops on a CIFAR batch: [128, 32, 32, 3] pixels, one table
//! per channel, D = 10, 2-bit codes (Blueoil's first layer: 30 channels).

use crate::bench::{time_op, OpRate};
use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::ops::embed;
use crate::reference::QuantSpec;

const SHAPE: [usize; 4] = [128, 32, 32, 3];
const DIM: usize = 10;

/// embed.forward, embed.forward_packed and embed.backward (bytes moved per run as work).
pub fn rates(gpu: &Gpu, reps: usize) -> Result<Vec<OpRate>> {
    let spec = QuantSpec::default();
    let [n, h, w, c] = SHAPE;
    let count = n * h * w * c;
    let pixels: Vec<u8> = (0..count).map(|i| (i * 37 % 256) as u8).collect();
    let pixels = Tensor::from_slice(gpu, &SHAPE, &pixels)?;
    let table: Vec<f32> = (0..c * 256 * DIM).map(|i| (i % 7) as f32 * 0.3).collect();
    let table = Tensor::from_slice(gpu, &[c, 256, DIM], &table)?;
    let dvalue = Tensor::from_slice(gpu, &[n, h, w, c * DIM], &vec![0.01f32; count * DIM])?;
    let shape = format!("[{n},{h},{w},{c}] T={c} D={DIM} k={}", spec.bits);
    let mut rows = Vec::new();
    let codes_bytes = (count + count * DIM * 4) as f64;
    let timing = time_op(gpu, 1, reps, |rec| {
        embed::forward(rec, spec, &table, &pixels).map(|_| ())
    })?;
    rows.push(OpRate {
        op: "embed.forward".into(),
        shape: shape.clone(),
        timing,
        work: codes_bytes,
        unit: "GB/s",
    });
    let timing = time_op(gpu, 1, reps, |rec| {
        embed::forward_packed(rec, spec, &table, &pixels).map(|_| ())
    })?;
    rows.push(OpRate {
        op: "embed.forward_packed".into(),
        shape: shape.clone(),
        timing,
        work: (count + n * h * w * spec.bits as usize * 4) as f64,
        unit: "GB/s",
    });
    let timing = time_op(gpu, 1, reps, |rec| {
        embed::backward(rec, spec, &table, &pixels, &dvalue).map(|_| ())
    })?;
    rows.push(OpRate {
        op: "embed.backward".into(),
        shape,
        timing,
        work: codes_bytes,
        unit: "GB/s",
    });
    Ok(rows)
}
