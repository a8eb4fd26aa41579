//! Training hyper-parameters.

use crate::data::AugmentKind;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumMessage, EnumString, IntoStaticStr, VariantArray};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray, EnumMessage)]
#[strum(serialize_all = "kebab-case")]
pub enum OptimizerKind {
    Sgd,
    Adam,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray, EnumMessage)]
#[strum(serialize_all = "kebab-case")]
pub enum Schedule {
    /// Cosine decay to zero over all epochs (after warm-up).
    Cosine,
    /// Multiply by 0.1 at 50% and 75% of the epochs (after warm-up).
    Step,
    Constant,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch: usize,
    pub lr: f32,
    pub optimizer: OptimizerKind,
    pub momentum: f32,
    pub weight_decay: f32,
    /// Multiplier on the learning rate of pixel-embedding tables (`--table-lr-scale`);
    /// checkpoints written before the setting existed read as 1.0.
    #[serde(default = "one")]
    pub table_lr_scale: f32,
    pub schedule: Schedule,
    pub warmup_epochs: f32,
    pub seed: u64,
    #[serde(deserialize_with = "crate::data::deserialize_augment")]
    pub augment: AugmentKind,
    pub limit_train: Option<usize>,
    pub limit_test: Option<usize>,
    /// Read the loss back every this many steps (progress, divergence check).
    pub log_every: usize,
}

fn one() -> f32 {
    1.0
}

impl TrainConfig {
    /// Learning rate at fractional epoch `t` (0 at the start of training).
    pub fn lr_at(&self, t: f32) -> f32 {
        let warm = self.warmup_epochs.max(0.0);
        if t < warm {
            return self.lr * (t + 1e-3).min(warm) / warm;
        }
        let total = (self.epochs as f32 - warm).max(1e-6);
        let p = ((t - warm) / total).clamp(0.0, 1.0);
        match self.schedule {
            Schedule::Cosine => self.lr * 0.5 * (1.0 + (std::f32::consts::PI * p).cos()),
            Schedule::Step => {
                self.lr
                    * if p >= 0.75 {
                        0.01
                    } else if p >= 0.5 {
                        0.1
                    } else {
                        1.0
                    }
            }
            Schedule::Constant => self.lr,
        }
    }

    /// " (table xS)" when the table's learning rate is scaled, else nothing: for recipe lines.
    pub fn table_lr_note(&self) -> String {
        if self.table_lr_scale == 1.0 {
            String::new()
        } else {
            format!(" (table x{})", self.table_lr_scale)
        }
    }

    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: &str| Err(crate::Error::Invalid(m.to_string()));
        if self.epochs == 0 {
            return bad("--epochs must be at least 1");
        }
        if self.batch < 2 || self.batch > 4096 {
            return bad("--batch must be in 2..=4096 (batch-norm statistics need two images)");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("--lr must be a positive number");
        }
        if !(self.table_lr_scale.is_finite() && self.table_lr_scale > 0.0) {
            return bad("--table-lr-scale must be a positive number");
        }
        if !(self.warmup_epochs.is_finite() && self.warmup_epochs >= 0.0) {
            return bad("--warmup must be a number of epochs >= 0");
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return bad("--momentum must be in [0, 1)");
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("--weight-decay must be >= 0");
        }
        Ok(())
    }
}
