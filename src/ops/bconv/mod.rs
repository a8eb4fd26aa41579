//! Bitwise convolution: 1-bit weights x k-bit activations on packed operands.
//!
//! Inputs (layouts in [`crate::ops::layout`]): activations `x` Bits `[N, H, W, k, Cw]`, the
//! bit-planes of integer codes 0..2^k-1 of C channels; weights `w` Bits `[O, KH, KW, Cw]`
//! (bit 1 = +1, bit 0 = -1). Per output (n, oy, ox, o):
//!
//! ```text
//! acc = sum over taps (ky, kx) inside the image and channels c of code[c] * w[c]
//!     = sum_b 2^b (2 popcount(a_b AND w) - popcount(a_b))      summed over words
//! ```
//!
//! Padded pixels contribute nothing (exact zero padding). Four outputs: the integer
//! accumulators, `acc * scale[o]` in f32, codes of per-channel thresholds packed as the
//! next layer's bit-planes, and codes of residual thresholds (per channel and shortcut code,
//! see [`Residual`]) packed the same way. Reference: [`crate::reference::bconv`] (and
//! [`crate::reference::lut::residual_threshold`] of its accumulators).
//!
//! Two kernel families compute the same integers: [`Path::Blocked`] (register-blocked, 4
//! pixels x up to 64 channels per invocation, weights in a uniform buffer; the fast path)
//! and [`Path::General`] (one output per invocation, any shape). [`Path::Auto`] takes the
//! blocked kernel whenever its staging buffers fit.

mod blocked;
mod general;
mod residual;

pub use residual::Residual;

use crate::error::{Error, Result};
use crate::gpu::{DType, Gpu, Recorder, Tensor};
use crate::ops::layout::{words_for, ConvGeom};
use crate::ops::threshold::{check_bits, Thresholds};

/// Which kernel family computes the convolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Path {
    /// The blocked kernel where it applies, else the general one.
    #[default]
    Auto,
    /// One output per invocation; any shape.
    General,
    /// The register-blocked fast path; an error where its staging does not fit.
    Blocked,
    /// The blocked path with the widest channel blocks (16 vec4 per invocation, what
    /// hardware adapters use) on any adapter, so that software adapters test them too.
    BlockedWide,
}

/// What the convolution writes.
#[derive(Clone, Copy, Debug)]
pub enum Output<'a> {
    /// I32 `[N, Ho, Wo, O]`: the accumulators.
    I32,
    /// F32 `[N, Ho, Wo, O]`: `acc * scale[o]`, scale F32 `[O]`.
    Scaled(&'a Tensor),
    /// Bits `[N, Ho, Wo, k_out, Ow]`: threshold codes as packed bit-planes.
    Threshold(&'a Thresholds),
    /// Bits `[N, Ho, Wo, bits, Ow]`: residual threshold codes as packed bit-planes.
    Residual(Residual<'a>),
}

/// Integer accumulators I32 `[N, Ho, Wo, O]`.
pub fn forward_i32(
    rec: &mut Recorder,
    geom: &ConvGeom,
    bits: u32,
    x: &Tensor,
    w: &Tensor,
) -> Result<Tensor> {
    forward(rec, geom, bits, x, w, Output::I32, Path::Auto)
}

/// F32 `[N, Ho, Wo, O]` = `acc * scale[o]` with `scale` F32 `[O]`.
pub fn forward_scaled(
    rec: &mut Recorder,
    geom: &ConvGeom,
    bits: u32,
    x: &Tensor,
    w: &Tensor,
    scale: &Tensor,
) -> Result<Tensor> {
    forward(rec, geom, bits, x, w, Output::Scaled(scale), Path::Auto)
}

/// Fused thresholds: Bits `[N, Ho, Wo, out_bits, Ow]`, the codes of
/// [`crate::reference::threshold`] packed as the next layer's bit-planes (`Ow = ceil(O/32)`).
pub fn forward_threshold(
    rec: &mut Recorder,
    geom: &ConvGeom,
    bits: u32,
    x: &Tensor,
    w: &Tensor,
    th: &Thresholds,
    out_bits: u32,
) -> Result<Tensor> {
    if th.bits != out_bits {
        return Err(Error::Invalid(format!(
            "bconv thresholds are for {}-bit codes but {out_bits}-bit output was asked for",
            th.bits
        )));
    }
    forward(rec, geom, bits, x, w, Output::Threshold(th), Path::Auto)
}

/// Fused residual thresholds: Bits `[N, Ho, Wo, res.bits, Ow]`, the codes of
/// [`crate::reference::lut::residual_threshold`] packed as the next layer's bit-planes.
pub fn forward_residual(
    rec: &mut Recorder,
    geom: &ConvGeom,
    bits: u32,
    x: &Tensor,
    w: &Tensor,
    res: Residual,
) -> Result<Tensor> {
    forward(rec, geom, bits, x, w, Output::Residual(res), Path::Auto)
}

/// Any output on a chosen kernel family (tests compare the families; `Path::Auto` is what
/// the other entry points use).
pub fn forward(
    rec: &mut Recorder,
    geom: &ConvGeom,
    bits: u32,
    x: &Tensor,
    w: &Tensor,
    out: Output,
    path: Path,
) -> Result<Tensor> {
    check(geom, bits, x, w, out)?;
    let widest = blocked::widest_block(rec.gpu(), path == Path::BlockedWide);
    let plan = blocked::Plan::new(rec.gpu(), geom, bits, out, widest);
    match (path, plan) {
        (Path::Auto | Path::Blocked | Path::BlockedWide, Some(plan)) => {
            blocked::forward(rec, &plan, x, w, out)
        }
        (Path::Blocked | Path::BlockedWide, None) => Err(Error::Invalid(format!(
            "the blocked bconv kernel cannot stage {geom:?} ({bits}-bit input, output {out:?}) in a uniform buffer"
        ))),
        (Path::Auto | Path::General, _) => general::forward(rec, geom, bits, x, w, out),
    }
}

/// Which path `Path::Auto` takes for this problem.
pub fn auto_path(gpu: &Gpu, geom: &ConvGeom, bits: u32, out: Output) -> Path {
    match blocked::Plan::new(gpu, geom, bits, out, blocked::widest_block(gpu, false)) {
        Some(_) => Path::Blocked,
        None => Path::General,
    }
}

fn check(geom: &ConvGeom, bits: u32, x: &Tensor, w: &Tensor, out: Output) -> Result<()> {
    geom.check()?;
    check_bits("bconv input", bits)?;
    let cw = words_for(geom.c);
    x.check_shape(
        "bconv input",
        DType::Bits,
        &[geom.n, geom.h, geom.w, bits as usize, cw],
    )?;
    w.check_shape(
        "bconv weights",
        DType::Bits,
        &[geom.o, geom.kh, geom.kw, cw],
    )?;
    match out {
        Output::I32 => Ok(()),
        Output::Scaled(scale) => scale.check_shape("bconv scale", DType::F32, &[geom.o]),
        Output::Threshold(th) => th.check(geom.o),
        Output::Residual(r) => r.check(geom),
    }
}

/// Output tensor of the right dtype and shape for `out`.
fn output_tensor(rec: &Recorder, geom: &ConvGeom, out: Output) -> Result<Tensor> {
    let [n, ho, wo, o] = geom.output_shape();
    match out {
        Output::I32 => Tensor::empty(rec.gpu(), DType::I32, &[n, ho, wo, o]),
        Output::Scaled(_) => Tensor::empty(rec.gpu(), DType::F32, &[n, ho, wo, o]),
        Output::Threshold(th) => Tensor::empty(
            rec.gpu(),
            DType::Bits,
            &[n, ho, wo, th.bits as usize, words_for(o)],
        ),
        Output::Residual(r) => Tensor::empty(
            rec.gpu(),
            DType::Bits,
            &[n, ho, wo, r.bits as usize, words_for(o)],
        ),
    }
}
