//! Softmax cross-entropy (mean loss, gradient, top-1/top-5 counts) and evaluation counts.
//! Math and the top-k rule: shaders/loss.wgsl; reference: [`crate::reference::loss`].

use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    k: u32,
    _pad0: u32,
    _pad1: u32,
}

/// Results of [`softmax_xent`], all on the GPU.
#[derive(Clone, Debug)]
pub struct LossOut {
    /// f32 \[1\]: mean over the N rows of -log softmax(logits)\[label\]. NaN or infinite when a
    /// row's loss is (non-finite logits, or a label outside 0..K).
    pub loss: Tensor,
    /// f32 [N, K]: (softmax - onehot) / N, the gradient of `loss`.
    pub dlogits: Tensor,
    /// I32 \[2\]: rows whose label is top-1 and top-5. A label is within the top k when fewer
    /// than k logits are strictly greater than its logit (ties count for the label); with
    /// K < 5 every valid row is within the top 5. A row with a NaN or infinite logit is a miss.
    pub correct: Tensor,
    /// f32 \[N\]: each row's loss.
    pub per_row: Tensor,
}

/// Error unless every label is a class index in 0..k. The GPU ops cannot report bad labels
/// (they mark the row's loss NaN instead); call this where the labels are still on the host.
pub fn check_labels(labels_host: &[i32], k: usize) -> Result<()> {
    match labels_host
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::try_from(l).map_or(true, |l| l >= k))
    {
        Some((i, l)) => Err(Error::Invalid(format!(
            "label {l} of example {i} is not a class index: the model has {k} classes, so \
             labels must lie in [0, {k})"
        ))),
        None => Ok(()),
    }
}

/// Shapes (N, K) of logits f32 [N, K] and labels I32 [N].
fn check_shapes(logits: &Tensor, labels: &Tensor) -> Result<(usize, usize)> {
    let &[n, k] = logits.shape() else {
        return Err(Error::shape(format!(
            "logits: expected f32 [N, K], got {logits:?}"
        )));
    };
    logits.check_shape("logits", DType::F32, &[n, k])?;
    labels.check_shape(
        "labels (one class index per row of logits)",
        DType::I32,
        &[n],
    )?;
    if n == 0 || k == 0 {
        return Err(Error::shape(format!(
            "logits {logits:?}: need at least one row and one class"
        )));
    }
    if n.checked_mul(k).is_none_or(|e| e > u32::MAX as usize) {
        return Err(Error::shape(format!(
            "logits {logits:?}: too many elements"
        )));
    }
    Ok((n, k))
}

fn params(n: usize, k: usize) -> Params {
    Params {
        n: n as u32,
        k: k as u32,
        _pad0: 0,
        _pad1: 0,
    }
}

/// Softmax cross-entropy of `logits: f32 [N, K]` against `labels: I32 [N]`: two dispatches
/// (one invocation per row, then one workgroup that reduces over rows in a fixed order).
pub fn softmax_xent(rec: &mut Recorder, logits: &Tensor, labels: &Tensor) -> Result<LossOut> {
    let (n, k) = check_shapes(logits, labels)?;
    let gpu = rec.gpu();
    let hit = Tensor::empty(gpu, DType::I32, &[n, 3])?;
    let out = LossOut {
        loss: Tensor::empty(gpu, DType::F32, &[1])?,
        dlogits: Tensor::empty(gpu, DType::F32, &[n, k])?,
        correct: Tensor::empty(gpu, DType::I32, &[2])?,
        per_row: Tensor::empty(gpu, DType::F32, &[n])?,
    };
    let p = params(n, k);
    let p = bytemuck::bytes_of(&p);
    rec.dispatch(
        &Kernel::new("loss", "rows"),
        &[
            Arg::Params(p),
            Arg::T(logits),
            Arg::T(labels),
            Arg::T(&hit),
            Arg::T(&out.per_row),
            Arg::T(&out.dlogits),
        ],
        grid_for(gpu, n, 64),
    )?;
    rec.dispatch(
        &Kernel::new("loss", "finalize"),
        &[
            Arg::Params(p),
            Arg::T(&hit),
            Arg::T(&out.correct),
            Arg::T(&out.per_row),
            Arg::T(&out.loss),
        ],
        [1, 1, 1],
    )?;
    Ok(out)
}

/// Top-1 and top-5 counts and the number of rows with a NaN or infinite logit (I32 \[3\]) of
/// `logits: f32 [N, K]` against `labels: I32 [N]`, with the rule of [`softmax_xent`]; rows
/// with a label outside 0..K or a non-finite logit count as misses.
pub fn accuracy_counts(rec: &mut Recorder, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let (n, k) = check_shapes(logits, labels)?;
    let gpu = rec.gpu();
    let hit = Tensor::empty(gpu, DType::I32, &[n, 3])?;
    let correct = Tensor::empty(gpu, DType::I32, &[3])?;
    let p = params(n, k);
    let p = bytemuck::bytes_of(&p);
    rec.dispatch(
        &Kernel::new("loss", "hits"),
        &[Arg::Params(p), Arg::T(logits), Arg::T(labels), Arg::T(&hit)],
        grid_for(gpu, n, 64),
    )?;
    rec.dispatch(
        &Kernel::new("loss", "finalize_counts"),
        &[Arg::Params(p), Arg::T(&hit), Arg::T(&correct)],
        [1, 1, 1],
    )?;
    Ok(correct)
}
