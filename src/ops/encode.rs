//! Input encodings of the other first-layer variants (forward only): u8 pixels `[N, H, W, C]`
//! to f32 `[N, H, W, C']`. Math: shaders/encode.wgsl; reference: [`crate::reference::encode`].

use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::reference::encode::thermometer_threshold;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    count: u32,
    channels: u32,
    arg: u32,
    _pad: u32,
}

/// Error unless `pixels` is U8 `[N, H, W, C]` with no empty dimension.
fn check_pixels(pixels: &Tensor) -> Result<()> {
    let s = pixels.shape();
    if pixels.dtype() != DType::U8 || s.len() != 4 || s.contains(&0) {
        return Err(Error::shape(format!(
            "encoder input: expected U8 pixels [N, H, W, C], got {pixels:?}"
        )));
    }
    Ok(())
}

/// Run `entry` over every pixel element; each writes `per_value` outputs.
fn encode(
    rec: &mut Recorder,
    entry: &'static str,
    pixels: &Tensor,
    per_value: usize,
    arg: u32,
    extra: Option<&Tensor>,
) -> Result<Tensor> {
    check_pixels(pixels)?;
    let s = pixels.shape();
    let out = Tensor::empty(rec.gpu(), DType::F32, &[s[0], s[1], s[2], s[3] * per_value])?;
    let p = Params {
        count: pixels.numel() as u32,
        channels: s[3] as u32,
        arg,
        _pad: 0,
    };
    let mut args = vec![
        Arg::Params(bytemuck::bytes_of(&p)),
        Arg::T(pixels),
        Arg::T(&out),
    ];
    if let Some(t) = extra {
        args.push(Arg::T(t));
    }
    let groups = grid_for(rec.gpu(), pixels.numel(), 64);
    rec.dispatch(&Kernel::new("encode", entry), &args, groups)?;
    Ok(out)
}

/// Naive k-bit quantization, C' = C: code = v >> (8 - bits), bits in 1..=8.
pub fn naive(rec: &mut Recorder, pixels: &Tensor, bits: u32) -> Result<Tensor> {
    if !(1..=8).contains(&bits) {
        return Err(Error::Invalid(format!(
            "naive pixel quantization needs 1 to 8 bits (got {bits})"
        )));
    }
    encode(rec, "naive", pixels, 1, bits, None)
}

/// Bit-plane encoding, C' = 8 C: channel c * 8 + b = bit b of v times 2^b (each plane binary;
/// a convolution over the planes equals the convolution over v).
pub fn bitplane(rec: &mut Recorder, pixels: &Tensor) -> Result<Tensor> {
    encode(rec, "bitplane", pixels, 8, 0, None)
}

/// Thermometer encoding, C' = C * L: channel c * L + l = 1 if v >= thr(l) else 0, with
/// thr(l) = ((l + 1) * 256) / (L + 1) ([`thermometer_threshold`]), L in 1..=255.
pub fn thermometer(rec: &mut Recorder, pixels: &Tensor, levels: u32) -> Result<Tensor> {
    if !(1..=255).contains(&levels) {
        return Err(Error::Invalid(format!(
            "thermometer levels must be 1 to 255 (got {levels})"
        )));
    }
    let thr: Vec<u32> = (0..levels)
        .map(|l| thermometer_threshold(l, levels))
        .collect();
    let thr = Tensor::from_slice(rec.gpu(), &[levels as usize], &thr)?;
    encode(
        rec,
        "thermometer",
        pixels,
        levels as usize,
        levels,
        Some(&thr),
    )
}

/// The pixel value as f32, C' = C (the int8 variant's input).
pub fn to_f32(rec: &mut Recorder, pixels: &Tensor) -> Result<Tensor> {
    encode(rec, "to_f32", pixels, 1, 0, None)
}

/// Normalized float input, C' = C: (v / 255 - mean\[c\]) / std\[c\] (the float baseline's input).
pub fn normalize(rec: &mut Recorder, pixels: &Tensor, mean: &[f32], std: &[f32]) -> Result<Tensor> {
    check_pixels(pixels)?;
    let c = pixels.shape()[3];
    if mean.len() != c || std.len() != c {
        return Err(Error::shape(format!(
            "normalize: {c} channels but {} means and {} standard deviations",
            mean.len(),
            std.len()
        )));
    }
    if std.iter().any(|&s| !(s.is_finite() && s != 0.0)) {
        return Err(Error::Invalid(format!(
            "normalize: standard deviations must be finite and non-zero (got {std:?})"
        )));
    }
    let stats: Vec<f32> = mean.iter().chain(std).copied().collect();
    let stats = Tensor::from_slice(rec.gpu(), &[2 * c], &stats)?;
    encode(rec, "normalize", pixels, 1, 0, Some(&stats))
}
