//! Batch-norm layer (training: batch statistics and running-stat update; evaluation: running
//! statistics) and the activation quantizer layer.

use super::param::{Param, ParamKind};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Recorder, Tensor};
use crate::ops::bn::{self, BnParams, BnSaved};
use crate::ops::quant;
use crate::reference::QuantSpec;

pub const BN_MOMENTUM: f32 = 0.1;
pub const BN_EPS: f32 = 1e-5;

/// The running-statistics momentum for the optimizer step that follows `steps` completed
/// ones: max(BN_MOMENTUM, 1 / (steps + 1)). The first ten steps take the cumulative average
/// of the batch statistics (the first step replaces the initial mean 0 and variance 1
/// outright), then the usual exponential average. With a fixed 0.1 from the start, the
/// running statistics of a short run still weigh the initial (0, 1) by 0.9^steps (19% after
/// 16 steps), while the variance of an integer popcount sum is in the hundreds, so the
/// evaluation-mode network of a short run was far from the one that trained.
pub fn momentum_at(steps: u64) -> f32 {
    BN_MOMENTUM.max(1.0 / (steps as f32 + 1.0))
}

pub struct BatchNorm {
    pub gamma: Param,
    pub beta: Param,
    pub mean: Param,
    pub var: Param,
    /// Running statistics: running = (1 - momentum) running + momentum batch.
    pub momentum: f32,
    saved: Option<(Tensor, BnSaved)>,
}

impl BatchNorm {
    pub fn new(gpu: &Gpu, name: &str, c: usize) -> Result<Self> {
        Ok(BatchNorm {
            gamma: Param::new(
                gpu,
                &format!("{name}.gamma"),
                ParamKind::Norm,
                &[c],
                &vec![1.0; c],
            )?,
            beta: Param::new(
                gpu,
                &format!("{name}.beta"),
                ParamKind::Norm,
                &[c],
                &vec![0.0; c],
            )?,
            mean: Param::new(
                gpu,
                &format!("{name}.running_mean"),
                ParamKind::Stat,
                &[c],
                &vec![0.0; c],
            )?,
            var: Param::new(
                gpu,
                &format!("{name}.running_var"),
                ParamKind::Stat,
                &[c],
                &vec![1.0; c],
            )?,
            momentum: BN_MOMENTUM,
            saved: None,
        })
    }

    pub fn forward(&mut self, rec: &mut Recorder, x: &Tensor, train: bool) -> Result<Tensor> {
        if train {
            let p = BnParams {
                gamma: &self.gamma.value,
                beta: &self.beta.value,
                running_mean: &self.mean.value,
                running_var: &self.var.value,
                momentum: self.momentum,
                eps: BN_EPS,
            };
            let (y, saved) = bn::forward_train(rec, x, &p)?;
            self.saved = Some((x.clone(), saved));
            Ok(y)
        } else {
            bn::forward_infer(
                rec,
                x,
                &self.gamma.value,
                &self.beta.value,
                &self.mean.value,
                &self.var.value,
                BN_EPS,
            )
        }
    }

    pub fn backward(&mut self, rec: &mut Recorder, dy: &Tensor) -> Result<Tensor> {
        let (x, saved) = self
            .saved
            .take()
            .ok_or_else(|| Error::Invalid("bn backward before forward".into()))?;
        let (dx, dgamma, dbeta) = bn::backward(rec, &x, dy, &self.gamma.value, &saved)?;
        self.gamma.grad = Some(dgamma);
        self.beta.grad = Some(dbeta);
        Ok(dx)
    }

    pub fn visit(&mut self, f: &mut dyn FnMut(&mut Param)) {
        f(&mut self.gamma);
        f(&mut self.beta);
        f(&mut self.mean);
        f(&mut self.var);
    }
}

/// The activation quantizer: x -> codes (STE backward from code gradients).
pub struct QuantAct {
    pub spec: QuantSpec,
    saved: Option<Tensor>,
}

impl QuantAct {
    pub fn new(spec: QuantSpec) -> Self {
        QuantAct { spec, saved: None }
    }
    pub fn forward(&mut self, rec: &mut Recorder, x: &Tensor, train: bool) -> Result<Tensor> {
        if train {
            self.saved = Some(x.clone());
        }
        quant::forward(rec, self.spec, x)
    }
    pub fn backward(&mut self, rec: &mut Recorder, dcodes: &Tensor) -> Result<Tensor> {
        let x = self
            .saved
            .take()
            .ok_or_else(|| Error::Invalid("quant backward before forward".into()))?;
        quant::backward_codes(rec, self.spec, &x, dcodes)
    }
}

/// conv -> batch-norm -> quantizer, the unit every plain layer of the body is made of.
pub struct ConvBnAct {
    pub conv: super::conv::ConvLayer,
    pub bn: BatchNorm,
    pub act: QuantAct,
}

impl ConvBnAct {
    pub fn forward(&mut self, rec: &mut Recorder, x: &Tensor, train: bool) -> Result<Tensor> {
        let a = self.conv.forward(rec, x, train)?;
        let b = self.bn.forward(rec, &a, train)?;
        self.act.forward(rec, &b, train)
    }
    pub fn backward(&mut self, rec: &mut Recorder, dcodes: &Tensor) -> Result<Option<Tensor>> {
        let db = self.act.backward(rec, dcodes)?;
        let da = self.bn.backward(rec, &db)?;
        self.conv.backward(rec, &da)
    }
    pub fn visit(&mut self, f: &mut dyn FnMut(&mut Param)) {
        self.conv.visit(f);
        self.bn.visit(f);
    }
    pub fn visit_bn(&mut self, f: &mut dyn FnMut(&mut BatchNorm)) {
        f(&mut self.bn);
    }
}
