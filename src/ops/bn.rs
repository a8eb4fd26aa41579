//! Batch normalization per channel over all rows (N*H*W for NHWC, N for [N, C]).
//! Training forward with batch statistics and in-place running-stat update, backward, and
//! inference forward. Math: shaders/bn.wgsl, reference: [`crate::reference::bn`].
//!
//! Reductions are deterministic: rows are split into fixed chunks ([`RowChunks`]), each
//! chunk reduced in row order, the chunk results merged in chunk order. Two runs on the same
//! adapter are bit-identical. The passes that walk the rows take four channels per
//! invocation (shaders/bn_vec4.wgsl) when C is a multiple of 4, one otherwise
//! (shaders/bn.wgsl).

use super::elementwise::{rows_and_channels, RowChunks};
use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};

const WG: u32 = 64;

/// Parameters and running statistics of one batch-norm layer, all \[C\] f32.
pub struct BnParams<'a> {
    pub gamma: &'a Tensor,
    pub beta: &'a Tensor,
    pub running_mean: &'a Tensor,
    pub running_var: &'a Tensor,
    /// running = (1 - momentum) * running + momentum * batch (PyTorch's convention).
    pub momentum: f32,
    pub eps: f32,
}

/// What the training forward saves for the backward: per-channel batch mean and
/// invstd = 1 / sqrt(biased batch variance + eps), both \[C\].
pub struct BnSaved {
    pub mean: Tensor,
    pub invstd: Tensor,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    channels: u32,
    rows_per_chunk: u32,
    chunks: u32,
    momentum: f32,
    eps: f32,
    _pad: [u32; 2],
}

fn params(rc: RowChunks, momentum: f32, eps: f32) -> Params {
    Params {
        rows: rc.rows as u32,
        channels: rc.channels as u32,
        rows_per_chunk: rc.rows_per_chunk as u32,
        chunks: rc.chunks as u32,
        momentum,
        eps,
        _pad: [0; 2],
    }
}

/// A row-walking pass: the vec4 kernel when C is a multiple of 4, else the scalar one.
fn row_pass(
    rec: &mut Recorder,
    rc: RowChunks,
    entry: &'static str,
    params: &Params,
    tensors: &[&Tensor],
) -> Result<()> {
    let (shader, groups) = if rc.channels.is_multiple_of(4) {
        ("bn_vec4", rc.channels / 4)
    } else {
        ("bn", rc.channels)
    };
    let mut args = vec![Arg::Params(bytemuck::bytes_of(params))];
    args.extend(tensors.iter().map(|t| Arg::T(t)));
    let grid = grid_for(rec.gpu(), rc.chunks * groups, WG);
    rec.dispatch(&Kernel::new(shader, entry), &args, grid)
}

fn check_channel_vectors(what: &str, c: usize, vs: &[(&str, &Tensor)]) -> Result<()> {
    for (name, t) in vs {
        t.check_shape(&format!("{what} {name}"), DType::F32, &[c])?;
    }
    Ok(())
}

fn check_eps(eps: f32) -> Result<()> {
    if !(eps.is_finite() && eps > 0.0) {
        return Err(Error::Invalid(format!(
            "batch-norm eps must be a positive number (got {eps})"
        )));
    }
    Ok(())
}

/// Training forward: y = gamma * (x - mean) * invstd + beta with the batch mean and biased
/// variance of each channel; updates `p.running_mean` / `p.running_var` in place (the
/// variance term is the unbiased batch variance, var * R / (R - 1)).
pub fn forward_train(rec: &mut Recorder, x: &Tensor, p: &BnParams) -> Result<(Tensor, BnSaved)> {
    let (rows, c) = rows_and_channels("batch-norm input", x)?;
    check_channel_vectors(
        "batch-norm",
        c,
        &[
            ("gamma", p.gamma),
            ("beta", p.beta),
            ("running_mean", p.running_mean),
            ("running_var", p.running_var),
        ],
    )?;
    check_eps(p.eps)?;
    if !(0.0..=1.0).contains(&p.momentum) {
        return Err(Error::Invalid(format!(
            "batch-norm momentum must lie in [0, 1] (got {})",
            p.momentum
        )));
    }
    if rows < 2 {
        return Err(Error::shape(format!(
            "batch-norm training needs more than one value per channel (input {x:?})"
        )));
    }
    let gpu = rec.gpu();
    let rc = RowChunks::new(rows, c);
    let pp = params(rc, p.momentum, p.eps);
    let pb = bytemuck::bytes_of(&pp);
    let stats = Tensor::empty(gpu, DType::F32, &[2, rc.chunks, c])?;
    row_pass(rec, rc, "chunk_stats", &pp, &[x, &stats])?;
    let saved = BnSaved {
        mean: Tensor::empty(gpu, DType::F32, &[c])?,
        invstd: Tensor::empty(gpu, DType::F32, &[c])?,
    };
    rec.dispatch(
        &Kernel::new("bn", "finalize_stats"),
        &[
            Arg::Params(pb),
            Arg::T(&stats),
            Arg::T(p.running_mean),
            Arg::T(p.running_var),
            Arg::T(&saved.mean),
            Arg::T(&saved.invstd),
        ],
        grid_for(gpu, c, WG),
    )?;
    let y = normalize(rec, rc, x, p.gamma, p.beta, &saved.mean, &saved.invstd)?;
    Ok((y, saved))
}

/// Inference forward: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta.
pub fn forward_infer(
    rec: &mut Recorder,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    running_mean: &Tensor,
    running_var: &Tensor,
    eps: f32,
) -> Result<Tensor> {
    let (rows, c) = rows_and_channels("batch-norm input", x)?;
    check_channel_vectors(
        "batch-norm",
        c,
        &[
            ("gamma", gamma),
            ("beta", beta),
            ("running_mean", running_mean),
            ("running_var", running_var),
        ],
    )?;
    check_eps(eps)?;
    let gpu = rec.gpu();
    let rc = RowChunks::new(rows, c);
    let pp = params(rc, 0.0, eps);
    let invstd = Tensor::empty(gpu, DType::F32, &[c])?;
    rec.dispatch(
        &Kernel::new("bn", "invstd_from_var"),
        &[
            Arg::Params(bytemuck::bytes_of(&pp)),
            Arg::T(running_var),
            Arg::T(&invstd),
        ],
        grid_for(gpu, c, WG),
    )?;
    normalize(rec, rc, x, gamma, beta, running_mean, &invstd)
}

/// y = gamma * (x - mean) * invstd + beta.
fn normalize(
    rec: &mut Recorder,
    rc: RowChunks,
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    invstd: &Tensor,
) -> Result<Tensor> {
    let y = Tensor::empty(rec.gpu(), DType::F32, x.shape())?;
    let pp = params(rc, 0.0, 0.0);
    row_pass(
        rec,
        rc,
        "normalize",
        &pp,
        &[x, gamma, beta, mean, invstd, &y],
    )?;
    Ok(y)
}

/// Backward with the batch statistics of the training forward. With xhat = (x - mean) *
/// invstd and R rows: dbeta = sum dy, dgamma = sum dy * xhat,
/// dx = gamma * invstd * (dy - dbeta / R - xhat * dgamma / R). Returns (dx, dgamma, dbeta).
pub fn backward(
    rec: &mut Recorder,
    x: &Tensor,
    dy: &Tensor,
    gamma: &Tensor,
    saved: &BnSaved,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (rows, c) = rows_and_channels("batch-norm input", x)?;
    dy.check_shape("batch-norm upstream gradient", DType::F32, x.shape())?;
    check_channel_vectors(
        "batch-norm",
        c,
        &[
            ("gamma", gamma),
            ("saved mean", &saved.mean),
            ("saved invstd", &saved.invstd),
        ],
    )?;
    let gpu = rec.gpu();
    let rc = RowChunks::new(rows, c);
    let pp = params(rc, 0.0, 0.0);
    let pb = bytemuck::bytes_of(&pp);
    let sums = Tensor::empty(gpu, DType::F32, &[2, rc.chunks, c])?;
    row_pass(
        rec,
        rc,
        "chunk_grad_sums",
        &pp,
        &[x, dy, &saved.mean, &saved.invstd, &sums],
    )?;
    let dgamma = Tensor::empty(gpu, DType::F32, &[c])?;
    let dbeta = Tensor::empty(gpu, DType::F32, &[c])?;
    rec.dispatch(
        &Kernel::new("bn", "finalize_grad"),
        &[
            Arg::Params(pb),
            Arg::T(&sums),
            Arg::T(&dgamma),
            Arg::T(&dbeta),
        ],
        grid_for(gpu, c, WG),
    )?;
    let dx = Tensor::empty(gpu, DType::F32, x.shape())?;
    row_pass(
        rec,
        rc,
        "input_grad",
        &pp,
        &[
            x,
            dy,
            gamma,
            &saved.mean,
            &saved.invstd,
            &dgamma,
            &dbeta,
            &dx,
        ],
    )?;
    Ok((dx, dgamma, dbeta))
}
