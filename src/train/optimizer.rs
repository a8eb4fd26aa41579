//! Applies the configured optimizer to every trainable parameter, on the GPU, in the
//! step's recorder. State buffers (velocity; Adam's m and v) live on the parameters.

use super::config::{OptimizerKind, TrainConfig};
use crate::error::Result;
use crate::gpu::{DType, Recorder, Tensor};
use crate::nn::{Model, ParamKind};
use crate::ops::optim;

pub const ADAM_BETA1: f32 = 0.9;
pub const ADAM_BETA2: f32 = 0.999;
pub const ADAM_EPS: f32 = 1e-8;

/// One optimizer step (the `step`-th, 1-based) at learning rate `lr`.
pub fn apply(
    rec: &mut Recorder,
    model: &mut Model,
    cfg: &TrainConfig,
    step: u64,
    lr: f32,
) -> Result<()> {
    let gpu = rec.gpu().clone();
    model.try_visit(|p| {
        if !p.trainable() {
            return Ok(());
        }
        let Some(grad) = p.grad.take() else {
            return Ok(());
        };
        let wd = if p.decays() { cfg.weight_decay } else { 0.0 };
        let lr = if p.kind == ParamKind::Table {
            lr * cfg.table_lr_scale
        } else {
            lr
        };
        let clip = p.clip;
        let needed = match cfg.optimizer {
            OptimizerKind::Sgd => 1,
            OptimizerKind::Adam => 2,
        };
        while p.state.len() < needed {
            p.state
                .push(Tensor::zeros(&gpu, DType::F32, p.value.shape())?);
        }
        match cfg.optimizer {
            OptimizerKind::Sgd => optim::sgd(
                rec,
                &p.value,
                &grad,
                &p.state[0],
                lr,
                cfg.momentum,
                wd,
                clip,
            ),
            OptimizerKind::Adam => optim::adam(
                rec,
                &p.value,
                &grad,
                &p.state[0],
                &p.state[1],
                step as u32,
                lr,
                ADAM_BETA1,
                ADAM_BETA2,
                ADAM_EPS,
                wd,
                clip,
            ),
        }
    })
}
