//! The classifier head: global average pool of the last codes, then a float linear layer
//! (weights + bias) or a binary one (sign weights, then a per-class batch-norm that becomes
//! an affine at inference).

use super::config::LastLayer;
use super::norm::BatchNorm;
use super::param::{kaiming_uniform, latent_uniform, Param, ParamKind};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Recorder, Tensor};
use crate::ops::{binarize, linear, pool};
use rand::Rng;

pub struct Head {
    pub kind: LastLayer,
    pub w: Param,
    pub bias: Option<Param>,
    pub bn: Option<BatchNorm>,
    saved: Option<(Vec<usize>, Tensor, Tensor)>,
}

impl Head {
    pub fn new(
        gpu: &Gpu,
        kind: LastLayer,
        c: usize,
        classes: usize,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let n = classes * c;
        Ok(match kind {
            LastLayer::Float => Head {
                kind,
                w: Param::new(
                    gpu,
                    "head.weight",
                    ParamKind::Weight,
                    &[classes, c],
                    &kaiming_uniform(rng, c, n),
                )?,
                bias: Some(Param::new(
                    gpu,
                    "head.bias",
                    ParamKind::Norm,
                    &[classes],
                    &vec![0.0; classes],
                )?),
                bn: None,
                saved: None,
            },
            LastLayer::Binary => Head {
                kind,
                w: Param::new(
                    gpu,
                    "head.weight",
                    ParamKind::Latent,
                    &[classes, c],
                    &latent_uniform(rng, c, n),
                )?,
                bias: None,
                bn: Some(BatchNorm::new(gpu, "head.bn", classes)?),
                saved: None,
            },
        })
    }

    /// codes \[N,H,W,C\] -> logits \[N,K\].
    pub fn forward(&mut self, rec: &mut Recorder, codes: &Tensor, train: bool) -> Result<Tensor> {
        let pooled = pool::global_avg_forward(rec, codes)?;
        let w_eff = match self.kind {
            LastLayer::Float => self.w.value.clone(),
            LastLayer::Binary => binarize::signs(rec, &self.w.value)?,
        };
        let z = linear::forward(rec, &pooled, &w_eff, self.bias.as_ref().map(|b| &b.value))?;
        let logits = match self.bn.as_mut() {
            Some(bn) => bn.forward(rec, &z, train)?,
            None => z,
        };
        if train {
            self.saved = Some((codes.shape().to_vec(), pooled, w_eff));
        }
        Ok(logits)
    }

    /// Returns the gradient w.r.t. the input codes.
    pub fn backward(&mut self, rec: &mut Recorder, dlogits: &Tensor) -> Result<Tensor> {
        let (shape, pooled, w_eff) = self
            .saved
            .take()
            .ok_or_else(|| Error::Invalid("head backward before forward".into()))?;
        let dz = match self.bn.as_mut() {
            Some(bn) => bn.backward(rec, dlogits)?,
            None => dlogits.clone(),
        };
        let (dp, dw, db) = linear::backward(rec, &pooled, &w_eff, &dz)?;
        self.w.grad = Some(match self.kind {
            LastLayer::Float => dw,
            LastLayer::Binary => binarize::backward(rec, &self.w.value, &dw)?,
        });
        if let Some(b) = self.bias.as_mut() {
            b.grad = Some(db);
        }
        pool::global_avg_backward(rec, &dp, &shape)
    }

    pub fn visit_bn(&mut self, f: &mut dyn FnMut(&mut BatchNorm)) {
        if let Some(bn) = self.bn.as_mut() {
            f(bn);
        }
    }

    pub fn visit(&mut self, f: &mut dyn FnMut(&mut Param)) {
        f(&mut self.w);
        if let Some(b) = self.bias.as_mut() {
            f(b);
        }
        if let Some(bn) = self.bn.as_mut() {
            bn.visit(f);
        }
    }
}
