//! Weight binarizer: w_b = sign(w) * alpha with alpha = mean |w| per output channel or per
//! tensor, or the signs alone (the training graph: the batch-norm after each binary layer
//! absorbs alpha); straight-through backward with the |w| <= 1 mask; clipping of latent
//! weights to [-1, 1]. The trainer clips after every update, so in training the mask is
//! always 1; it is kept so that the backward pass is the rule's definition for any weights.
//! Math: shaders/binarize.wgsl; reference: [`crate::reference::binarize`].

use crate::error::{Error, Result};
use crate::gpu::{grid, grid_for, Arg, DType, Kernel, Recorder, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    outputs: u32,
    row: u32,
    per_channel: u32,
    count: u32,
}

/// Error unless `w` is F32 `[O, ...]` with no empty dimension; returns the params.
fn params(what: &str, w: &Tensor) -> Result<Params> {
    let s = w.shape();
    if w.dtype() != DType::F32 || s.is_empty() || s.contains(&0) {
        return Err(Error::shape(format!(
            "{what}: expected F32 weights [O, ...], got {w:?}"
        )));
    }
    Ok(Params {
        outputs: s[0] as u32,
        row: (w.numel() / s[0]) as u32,
        per_channel: 0,
        count: w.numel() as u32,
    })
}

/// Signs (same shape as `w`, +1 for w >= 0, -1 otherwise) and alpha `[O]`:
/// alpha\[o\] = mean over row o of |w| (`per_channel`) or the mean of |w| over the whole
/// tensor, repeated O times. Deterministic (fixed-order tree sums).
pub fn forward(rec: &mut Recorder, w: &Tensor, per_channel: bool) -> Result<(Tensor, Tensor)> {
    let mut p = params("binarize", w)?;
    p.per_channel = per_channel as u32;
    let o = p.outputs as usize;
    let signs = Tensor::empty(rec.gpu(), DType::F32, w.shape())?;
    let row_sums = Tensor::empty(rec.gpu(), DType::F32, &[o])?;
    let groups = grid(rec.gpu(), p.outputs);
    rec.dispatch(
        &Kernel::new("binarize", "rows"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(w),
            Arg::T(&signs),
            Arg::T(&row_sums),
        ],
        groups,
    )?;
    let alpha = Tensor::empty(rec.gpu(), DType::F32, &[o])?;
    rec.dispatch(
        &Kernel::new("binarize", "alpha_from_rows"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(&row_sums),
            Arg::T(&alpha),
        ],
        [1, 1, 1],
    )?;
    Ok((signs, alpha))
}

/// The signs of `w` alone (same shape, +1 for w >= 0, -1 otherwise): the binary weights
/// of the training graph, whose batch-norm absorbs any positive per-channel scale.
pub fn signs(rec: &mut Recorder, w: &Tensor) -> Result<Tensor> {
    let p = params("binarize signs", w)?;
    let signs = Tensor::empty(rec.gpu(), DType::F32, w.shape())?;
    rec.dispatch(
        &Kernel::new("binarize", "sign"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(w),
            Arg::T(&signs),
        ],
        grid_for(rec.gpu(), w.numel(), 256),
    )?;
    Ok(signs)
}

/// Straight-through backward: dw = dwb * 1[|w| <= 1] (the gradient w.r.t. the binarized
/// weight passes to the latent weight where it is inside the clip range; with the clip after
/// every update, that is every weight).
pub fn backward(rec: &mut Recorder, w: &Tensor, dwb: &Tensor) -> Result<Tensor> {
    let p = params("binarize backward", w)?;
    dwb.check_shape("binarize upstream gradient", DType::F32, w.shape())?;
    let dw = Tensor::empty(rec.gpu(), DType::F32, w.shape())?;
    rec.dispatch(
        &Kernel::new("binarize", "backward"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(w),
            Arg::T(dwb),
            Arg::T(&dw),
        ],
        grid_for(rec.gpu(), w.numel(), 256),
    )?;
    Ok(dw)
}

/// Clamp latent weights to [-1, 1] in place.
pub fn clip(rec: &mut Recorder, w: &Tensor) -> Result<()> {
    let p = params("weight clip", w)?;
    rec.dispatch(
        &Kernel::new("binarize", "clip"),
        &[Arg::Params(bytemuck::bytes_of(&p)), Arg::T(w)],
        grid_for(rec.gpu(), w.numel(), 256),
    )
}
