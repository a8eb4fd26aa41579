//! Bit packing of k-bit codes into bit-planes and of binary weights into sign words.
//! Math: shaders/pack.wgsl; reference: [`crate::reference::pack`]; layouts: [`super::layout`].

use super::layout::words_for;
use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::reference::QuantSpec;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    channels: u32,
    words: u32,
    _pad0: u32,
    max_v: f32,
    scale: f32,
    _pad1: u32,
    _pad2: u32,
}

impl Params {
    fn new(rows: usize, channels: usize) -> Self {
        Params {
            rows: rows as u32,
            channels: channels as u32,
            words: words_for(channels) as u32,
            _pad0: 0,
            max_v: 0.0,
            scale: 0.0,
            _pad1: 0,
            _pad2: 0,
        }
    }
}

/// Error unless `t` is F32 with at least one dimension and no empty one; returns
/// (rows, C) = (product of the leading dimensions, last dimension).
fn rows_and_channels(what: &str, t: &Tensor) -> Result<(usize, usize)> {
    let s = t.shape();
    if t.dtype() != DType::F32 || s.is_empty() || s.contains(&0) {
        return Err(Error::shape(format!(
            "{what}: expected F32 [..., C], got {t:?}"
        )));
    }
    let c = s[s.len() - 1];
    Ok((t.numel() / c, c))
}

fn check_bits(bits: u32) -> Result<()> {
    if (1..=8).contains(&bits) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "packing needs 1 to 8 bits per code (got {bits})"
        )))
    }
}

/// Pack f32 input `[..., C]` into bit-planes `Bits [..., k, Cw]`, reading integer codes or
/// quantizing first.
fn pack(rec: &mut Recorder, bits: u32, x: &Tensor, quantize: Option<QuantSpec>) -> Result<Tensor> {
    let (rows, c) = rows_and_channels("packing input", x)?;
    let mut p = Params::new(rows, c);
    if let Some(spec) = quantize {
        p.max_v = spec.max;
        p.scale = spec.scale();
    }
    let s = x.shape();
    let mut shape = s[..s.len() - 1].to_vec();
    shape.extend([bits as usize, p.words as usize]);
    let out = Tensor::empty(rec.gpu(), DType::Bits, &shape)?;
    let constants = [
        ("K", bits as f64),
        ("QUANTIZE", if quantize.is_some() { 1.0 } else { 0.0 }),
    ];
    rec.dispatch(
        &Kernel::new("pack", "pack_codes").with(&constants),
        &[Arg::Params(bytemuck::bytes_of(&p)), Arg::T(x), Arg::T(&out)],
        grid_for(rec.gpu(), rows * p.words as usize, 64),
    )?;
    Ok(out)
}

/// Pack integer-valued f32 codes (0..2^bits - 1) `[..., C]` into `Bits [..., bits, Cw]`:
/// word (p, b, j) bit i = bit b of code[p][32 j + i].
pub fn pack_codes(rec: &mut Recorder, bits: u32, codes: &Tensor) -> Result<Tensor> {
    check_bits(bits)?;
    pack(rec, bits, codes, None)
}

/// Quantize `x` `[..., C]` with `spec` and pack the codes: `Bits [..., k, Cw]`
/// (the same as [`crate::ops::quant::forward`] then [`pack_codes`], in one pass).
pub fn quantize_pack(rec: &mut Recorder, spec: QuantSpec, x: &Tensor) -> Result<Tensor> {
    QuantSpec::new(spec.bits, spec.max).map_err(Error::Invalid)?;
    pack(rec, spec.bits, x, Some(spec))
}

/// Unpack bit-planes `Bits [..., bits, Cw]` of `c` channels into f32 codes `[..., c]`.
pub fn unpack(rec: &mut Recorder, bits: u32, c: usize, packed: &Tensor) -> Result<Tensor> {
    check_bits(bits)?;
    let s = packed.shape();
    let ok = packed.dtype() == DType::Bits
        && c > 0
        && s.len() >= 2
        && s[s.len() - 2] == bits as usize
        && s[s.len() - 1] == words_for(c);
    if !ok {
        return Err(Error::shape(format!(
            "unpack of {c} channels at {bits} bits: expected Bits [..., {bits}, {}], got {packed:?}",
            words_for(c)
        )));
    }
    let mut shape = s[..s.len() - 2].to_vec();
    let rows: usize = shape.iter().product();
    shape.push(c);
    let out = Tensor::empty(rec.gpu(), DType::F32, &shape)?;
    let p = Params::new(rows, c);
    let constants = [("K", bits as f64)];
    rec.dispatch(
        &Kernel::new("pack", "unpack").with(&constants),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(packed),
            Arg::T(&out),
        ],
        grid_for(rec.gpu(), rows * c, 64),
    )?;
    Ok(out)
}

/// Pack the signs of binary weights `[R..., C]` into `Bits [R..., Cw]`: bit 1 for w >= 0
/// (+1), 0 for w < 0 (-1); bits past C are 0.
pub fn pack_signs(rec: &mut Recorder, w: &Tensor) -> Result<Tensor> {
    let (rows, c) = rows_and_channels("sign packing input", w)?;
    let p = Params::new(rows, c);
    let s = w.shape();
    let mut shape = s[..s.len() - 1].to_vec();
    shape.push(p.words as usize);
    let out = Tensor::empty(rec.gpu(), DType::Bits, &shape)?;
    rec.dispatch(
        &Kernel::new("pack", "pack_signs"),
        &[Arg::Params(bytemuck::bytes_of(&p)), Arg::T(w), Arg::T(&out)],
        grid_for(rec.gpu(), rows * p.words as usize, 64),
    )?;
    Ok(out)
}
