//! Trainable parameters and persistent buffers, with their optimizer state.

use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use rand::Rng;

/// What a parameter is, which decides how the optimizer treats it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// Latent float weights of a binary layer: binarized in the forward pass, clipped to
    /// [-1, 1] after each update, no weight decay.
    Latent,
    /// Float weights (float first layer, float last layer): weight decay applies.
    Weight,
    /// A pixel-embedding table: no weight decay.
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
        })
    }
    pub fn trainable(&self) -> bool {
        self.kind != ParamKind::Stat
    }
    /// Clip range applied after each update.
    pub fn clip(&self) -> Option<f32> {
        (self.kind == ParamKind::Latent).then_some(1.0)
    }
    pub fn decays(&self) -> bool {
        self.kind == ParamKind::Weight
    }
}

/// He (Kaiming) uniform initialisation: U(-b, b), b = sqrt(6 / fan_in).
pub fn kaiming_uniform(rng: &mut impl Rng, fan_in: usize, n: usize) -> Vec<f32> {
    let b = (6.0 / fan_in.max(1) as f32).sqrt();
    (0..n).map(|_| rng.random_range(-b..b)).collect()
}

/// Latent weights of a binary layer: U(-0.5, 0.5) keeps them inside the clip range with
/// room to flip signs early in training.
pub fn latent_uniform(rng: &mut impl Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-0.5f32..0.5)).collect()
}
