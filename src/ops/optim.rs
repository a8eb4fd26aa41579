//! Optimizer steps that update parameters in place (one dispatch each) and the squared
//! gradient norm. The trainer owns the parameter and state buffers. Math: shaders/optim.wgsl;
//! reference: [`crate::reference::optim`].

use crate::error::{Error, Result};
use crate::gpu::{grid, Arg, DType, Kernel, Recorder, Tensor};
use crate::reference::optim::adam_bias_corrections;
pub use crate::reference::optim::Clip;
use std::sync::Arc;

/// Elements per workgroup of `sumsq_partials` (WG * PER_LANE in the shader); each such
/// block gives [`SUMSQ_WG`] partial sums.
const SUMSQ_BLOCK: usize = 256 * 16;
const SUMSQ_WG: usize = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SgdParams {
    n: u32,
    clip: u32,
    clip_lo: f32,
    clip_hi: f32,
    lr: f32,
    momentum: f32,
    weight_decay: f32,
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct AdamParams {
    n: u32,
    clip: u32,
    clip_lo: f32,
    clip_hi: f32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    bc1: f32,
    bc2: f32,
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SumsqParams {
    n: u32,
    offset: u32,
    _pad: [u32; 2],
}

/// Error unless every state tensor is f32 of the parameter's shape and no two share a buffer
/// (each is bound once, some read-write).
fn check_state(param: &Tensor, others: &[(&str, &Tensor)]) -> Result<()> {
    param.check_shape("optimizer parameter", DType::F32, param.shape())?;
    if param.numel() > u32::MAX as usize {
        return Err(Error::shape(format!(
            "optimizer parameter {param:?} is too large"
        )));
    }
    for (i, (what, t)) in others.iter().enumerate() {
        t.check_shape(what, DType::F32, param.shape())?;
        let clash = Arc::ptr_eq(t.pooled(), param.pooled())
            || others[..i]
                .iter()
                .any(|(_, u)| Arc::ptr_eq(t.pooled(), u.pooled()));
        if clash {
            return Err(Error::Invalid(format!(
                "optimizer: the {what} shares its buffer with another argument; the parameter, \
                 gradient and state need distinct tensors"
            )));
        }
    }
    Ok(())
}

fn check_hyper(name: &str, value: f32, ok: bool, rule: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "optimizer {name} must be {rule} (got {value})"
        )))
    }
}

/// The clip flag and range of the Params blocks.
fn clip_params(clip: Option<Clip>) -> Result<(u32, f32, f32)> {
    match clip {
        None => Ok((0, 0.0, 0.0)),
        Some(c) => {
            if !(c.lo.is_finite() && c.hi.is_finite() && c.lo < c.hi) {
                return Err(Error::Invalid(format!(
                    "optimizer clip range must be finite with lo < hi (got [{}, {}])",
                    c.lo, c.hi
                )));
            }
            Ok((1, c.lo, c.hi))
        }
    }
}

/// SGD step, in place, with decoupled weight decay: param -= lr wd param;
/// velocity = momentum velocity + grad; param -= lr velocity; then
/// param = clamp(param, lo, hi) when `clip` is given.
#[allow(clippy::too_many_arguments)]
pub fn sgd(
    rec: &mut Recorder,
    param: &Tensor,
    grad: &Tensor,
    velocity: &Tensor,
    lr: f32,
    momentum: f32,
    weight_decay: f32,
    clip: Option<Clip>,
) -> Result<()> {
    check_state(param, &[("gradient", grad), ("velocity", velocity)])?;
    check_hyper("learning rate", lr, lr.is_finite(), "finite")?;
    check_hyper("momentum", momentum, momentum.is_finite(), "finite")?;
    check_hyper(
        "weight decay",
        weight_decay,
        weight_decay.is_finite(),
        "finite",
    )?;
    let (clip, clip_lo, clip_hi) = clip_params(clip)?;
    let n = param.numel();
    if n == 0 {
        return Ok(());
    }
    let p = SgdParams {
        n: n as u32,
        clip,
        clip_lo,
        clip_hi,
        lr,
        momentum,
        weight_decay,
        _pad: 0,
    };
    let groups = grid(rec.gpu(), n.div_ceil(256) as u32);
    rec.dispatch(
        &Kernel::new("optim", "sgd"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(param),
            Arg::T(grad),
            Arg::T(velocity),
        ],
        groups,
    )
}

/// AdamW step for the 1-based `step`, in place: param -= lr wd param;
/// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
/// param -= lr (m / (1 - b1^step)) / (sqrt(v / (1 - b2^step)) + eps); then the clip.
#[allow(clippy::too_many_arguments)]
pub fn adam(
    rec: &mut Recorder,
    param: &Tensor,
    grad: &Tensor,
    m: &Tensor,
    v: &Tensor,
    step: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    clip: Option<Clip>,
) -> Result<()> {
    check_state(
        param,
        &[
            ("gradient", grad),
            ("first moment m", m),
            ("second moment v", v),
        ],
    )?;
    if step == 0 {
        return Err(Error::Invalid(
            "adam: step counts from 1 (the first update is step 1)".into(),
        ));
    }
    check_hyper("learning rate", lr, lr.is_finite(), "finite")?;
    let unit = |b: f32| (0.0..1.0).contains(&b);
    check_hyper("beta1", beta1, unit(beta1), "in [0, 1)")?;
    check_hyper("beta2", beta2, unit(beta2), "in [0, 1)")?;
    check_hyper(
        "eps",
        eps,
        eps.is_finite() && eps > 0.0,
        "a positive number",
    )?;
    check_hyper(
        "weight decay",
        weight_decay,
        weight_decay.is_finite(),
        "finite",
    )?;
    let (clip, clip_lo, clip_hi) = clip_params(clip)?;
    let n = param.numel();
    if n == 0 {
        return Ok(());
    }
    let (bc1, bc2) = adam_bias_corrections(beta1, beta2, step);
    let p = AdamParams {
        n: n as u32,
        clip,
        clip_lo,
        clip_hi,
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        bc1,
        bc2,
        _pad: 0,
    };
    let groups = grid(rec.gpu(), n.div_ceil(256) as u32);
    rec.dispatch(
        &Kernel::new("optim", "adam"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(param),
            Arg::T(grad),
            Arg::T(m),
            Arg::T(v),
        ],
        groups,
    )
}

/// Squared L2 norm of all gradients together, f32 \[1\]: sum over tensors and elements of g^2.
/// Deterministic: fixed-order partial sums per tensor, then [`super::reduce::sum_rows`].
/// For library users who clip or watch gradient norms; `pixembed train` does neither (its
/// health signal is the sign-flip fraction, its divergence check the loss).
pub fn grad_norm_sq(rec: &mut Recorder, grads: &[&Tensor]) -> Result<Tensor> {
    let mut offsets = Vec::with_capacity(grads.len());
    let mut total = 0usize;
    for (i, g) in grads.iter().enumerate() {
        g.check_shape(&format!("gradient {i}"), DType::F32, g.shape())?;
        offsets.push(total);
        total += g.numel().div_ceil(SUMSQ_BLOCK) * SUMSQ_WG;
    }
    if total > u32::MAX as usize {
        return Err(Error::shape("grad_norm_sq: too many gradient elements"));
    }
    let gpu = rec.gpu();
    if total == 0 {
        let out = Tensor::empty(gpu, DType::F32, &[1])?;
        rec.zero(&out);
        return Ok(out);
    }
    let partials = Tensor::empty(gpu, DType::F32, &[total, 1])?;
    let kernel = Kernel::new("optim", "sumsq_partials");
    for (g, &offset) in grads.iter().zip(&offsets) {
        let n = g.numel();
        if n == 0 {
            continue;
        }
        let p = SumsqParams {
            n: n as u32,
            offset: offset as u32,
            _pad: [0; 2],
        };
        rec.dispatch(
            &kernel,
            &[
                Arg::Params(bytemuck::bytes_of(&p)),
                Arg::T(g),
                Arg::T(&partials),
            ],
            grid(gpu, n.div_ceil(SUMSQ_BLOCK) as u32),
        )?;
    }
    super::reduce::sum_rows(rec, &partials)
}
