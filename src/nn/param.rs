//! Trainable parameters and persistent buffers, with their optimizer state.

use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::reference::optim::Clip;
use rand::Rng;

/// What a parameter is, which decides how the optimizer treats it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Latent float weights of a binary layer: binarized in the forward pass, clipped to
    /// [-1, 1] after each update; weight decay applies.
    Latent,
    /// Float weights (float first layer, float last layer): weight decay applies.
    Weight,
    /// A pixel-embedding table: clipped inside its quantizer's range, no weight decay.
    Table,
    /// Batch-norm scale and shift, biases: no weight decay.
    Norm,
    /// Not trained (batch-norm running statistics); saved in checkpoints.
    Stat,
}

pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    pub value: Tensor,
    pub grad: Option<Tensor>,
    /// Optimizer state (SGD: velocity; Adam: m, v), created by the optimizer.
    pub state: Vec<Tensor>,
    /// The range the optimizer clamps the value to after each update.
    pub clip: Option<Clip>,
}

impl Param {
    pub fn new(
        gpu: &Gpu,
        name: &str,
        kind: ParamKind,
        shape: &[usize],
        data: &[f32],
    ) -> Result<Self> {
        Ok(Param {
            name: name.to_string(),
            kind,
            value: Tensor::from_slice(gpu, shape, data)?,
            grad: None,
            state: Vec::new(),
            clip: (kind == ParamKind::Latent).then_some(Clip::symmetric(1.0)),
        })
    }
    pub fn trainable(&self) -> bool {
        self.kind != ParamKind::Stat
    }
    /// Set the range the optimizer clamps the value to after each update.
    pub fn with_clip(mut self, clip: Clip) -> Self {
        self.clip = Some(clip);
        self
    }
    /// Whether `--weight-decay` applies: the kernels of convolutions and linear layers (float
    /// or latent binary), not batch-norm, biases or the embedding table.
    pub fn decays(&self) -> bool {
        matches!(self.kind, ParamKind::Weight | ParamKind::Latent)
    }
}

/// Hand `f` each parameter that `visit` walks (a layer's or a model's `visit`), stopping at
/// the first error, which is returned: the fallible form of `visit`.
pub fn try_visit(
    visit: impl FnOnce(&mut dyn FnMut(&mut Param)),
    mut f: impl FnMut(&mut Param) -> Result<()>,
) -> Result<()> {
    let mut result = Ok(());
    visit(&mut |p| {
        if result.is_ok() {
            result = f(p);
        }
    });
    result
}

/// He (Kaiming) uniform initialisation: U(-b, b), b = sqrt(6 / fan_in).
pub fn kaiming_uniform(rng: &mut impl Rng, fan_in: usize, n: usize) -> Vec<f32> {
    let b = (6.0 / fan_in.max(1) as f32).sqrt();
    (0..n).map(|_| rng.random_range(-b..b)).collect()
}

/// Latent weights of a binary layer: U(-b, b), b = 1 / sqrt(fan_in) (PyTorch's default for
/// conv and linear kernels). Small against the clip at 1, so Adam's steps of about lr flip
/// signs within tens of steps early in training; U(-0.5, 0.5) needed hundreds, and most
/// binary weights of a short run never changed sign (docs/training.md has the measurements).
pub fn latent_uniform(rng: &mut impl Rng, fan_in: usize, n: usize) -> Vec<f32> {
    let b = 1.0 / (fan_in.max(1) as f32).sqrt();
    (0..n).map(|_| rng.random_range(-b..b)).collect()
}
