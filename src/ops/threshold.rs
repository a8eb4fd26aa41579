//! Per-channel integer thresholds: integer accumulators -> k-bit codes, as integers or as
//! packed bit-planes for the next bitwise layer. Semantics (the one definition):
//! [`crate::reference::threshold`]; kernels: shaders/threshold.wgsl.

use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Gpu, Kernel, Recorder, Tensor};
use crate::ops::layout::words_for;

/// Thresholds of `O` channels for `bits`-bit codes (layout in [`crate::ops::layout`]).
///
/// * `values`: I32 `[O, 2^bits - 1]`, ascending per channel.
/// * `flags`: I32 `[O]`: 1 increasing (`code = #{t : acc >= t}`), -1 decreasing
///   (`code = #{t : acc <= t}`), 0 constant (`code = clamp(values[o][0], 0, 2^bits - 1)`).
#[derive(Clone, Debug)]
pub struct Thresholds {
    pub values: Tensor,
    pub flags: Tensor,
    pub bits: u32,
}

impl Thresholds {
    /// Upload thresholds from host vectors: `values` `[O, 2^bits - 1]`, `flags` `[O]`.
    pub fn from_host(gpu: &Gpu, bits: u32, values: &[i32], flags: &[i32]) -> Result<Self> {
        check_bits("threshold", bits)?;
        let o = flags.len();
        let levels = levels(bits);
        if o == 0 || values.len() != o * levels {
            return Err(Error::shape(format!(
                "thresholds: {} values for {o} channels of {bits}-bit codes (expected {o} x {levels})",
                values.len()
            )));
        }
        Ok(Thresholds {
            values: Tensor::from_slice(gpu, &[o, levels], values)?,
            flags: Tensor::from_slice(gpu, &[o], flags)?,
            bits,
        })
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.flags.shape().first().copied().unwrap_or(0)
    }

    /// Error unless the tensors describe `o` channels of `bits`-bit thresholds.
    pub fn check(&self, o: usize) -> Result<()> {
        check_bits("threshold", self.bits)?;
        self.values
            .check_shape("threshold values", DType::I32, &[o, levels(self.bits)])?;
        self.flags.check_shape("threshold flags", DType::I32, &[o])
    }
}

/// Thresholds per channel for `bits`-bit codes: `2^bits - 1`.
pub fn levels(bits: u32) -> usize {
    (1usize << bits) - 1
}

/// Error unless `bits` is a usable code width (1..=8).
pub(crate) fn check_bits(what: &str, bits: u32) -> Result<()> {
    if (1..=8).contains(&bits) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what}: code width must be 1..=8 bits (got {bits})"
        )))
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    /// Rows M (every dimension but the last).
    m: u32,
    /// Channels O.
    o: u32,
    /// Output words per plane: ceil(O / 32).
    ow: u32,
    bits: u32,
    /// Invocations in the job.
    total: u32,
    _pad: [u32; 3],
}

/// Split an accumulator shape `[..., O]` into rows M and channels O.
fn rows_and_channels(acc: &Tensor, th: &Thresholds) -> Result<(usize, usize)> {
    let shape = acc.shape();
    let o = *shape
        .last()
        .ok_or_else(|| Error::shape("threshold input: a tensor of rank 0"))?;
    if acc.dtype() != DType::I32 {
        return Err(Error::shape(format!(
            "threshold input: expected I32 [..., O], got {acc:?}"
        )));
    }
    th.check(o)?;
    Ok((acc.numel() / o.max(1), o))
}

fn params(m: usize, o: usize, bits: u32, total: usize) -> Params {
    Params {
        m: m as u32,
        o: o as u32,
        ow: words_for(o) as u32,
        bits,
        total: total as u32,
        _pad: [0; 3],
    }
}

/// Integer codes `[..., O]` (I32) of accumulators `acc` (I32 `[..., O]`).
pub fn apply(rec: &mut Recorder, acc: &Tensor, th: &Thresholds) -> Result<Tensor> {
    let (m, o) = rows_and_channels(acc, th)?;
    let out = Tensor::empty(rec.gpu(), DType::I32, acc.shape())?;
    let p = params(m, o, th.bits, m * o);
    let groups = grid_for(rec.gpu(), m * o, 64);
    rec.dispatch(
        &Kernel::new("threshold", "apply"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(&th.values),
            Arg::T(&th.flags),
            Arg::T(acc),
            Arg::T(&out),
        ],
        groups,
    )?;
    Ok(out)
}

/// Codes packed as bit-planes: Bits `[..., bits, Ow]` with `Ow = ceil(O / 32)` (the layout of
/// k-bit activations in [`crate::ops::layout`]).
pub fn apply_packed(rec: &mut Recorder, acc: &Tensor, th: &Thresholds) -> Result<Tensor> {
    let (m, o) = rows_and_channels(acc, th)?;
    let ow = words_for(o);
    let mut shape = acc.shape()[..acc.shape().len() - 1].to_vec();
    shape.extend([th.bits as usize, ow]);
    let out = Tensor::empty(rec.gpu(), DType::Bits, &shape)?;
    // One invocation per (row, output word): it writes that word of every plane.
    let p = params(m, o, th.bits, m * ow);
    let groups = grid_for(rec.gpu(), m * ow, 64);
    rec.dispatch(
        &Kernel::new("threshold", "apply_packed"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(&th.values),
            Arg::T(&th.flags),
            Arg::T(acc),
            Arg::T(&out),
        ],
        groups,
    )?;
    Ok(out)
}
