//! Body building blocks: the residual basic block and max pooling.

use super::conv::{ConvLayer, ConvSpec};
use super::norm::{BatchNorm, ConvBnAct, QuantAct};
use super::param::Param;
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Recorder, Tensor};
use crate::ops::{elementwise, pool, shortcut};
use crate::reference::QuantSpec;
use rand::Rng;

/// Residual basic block on codes:
///   h   = q(BN1(conv1(x)))                      (conv1 3x3, stride s)
///   out = q(BN2(conv2(h)) + step * shortcut(x)) (shortcut: subsample by s, zero channels)
/// so every layer boundary carries k-bit codes and the shortcut stays integer.
pub struct BasicBlock {
    pub unit1: ConvBnAct,
    pub conv2: ConvLayer,
    pub bn2: BatchNorm,
    pub act2: QuantAct,
    pub stride: usize,
    saved_x: Option<Vec<usize>>,
}

impl BasicBlock {
    pub fn new(
        gpu: &Gpu,
        name: &str,
        c: usize,
        o: usize,
        stride: usize,
        spec: QuantSpec,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        Ok(BasicBlock {
            unit1: ConvBnAct {
                conv: ConvLayer::new(
                    gpu,
                    &format!("{name}.conv1"),
                    ConvSpec::same(c, o, 3, stride),
                    true,
                    rng,
                )?
                .with_codes(spec.bits),
                bn: BatchNorm::new(gpu, &format!("{name}.bn1"), o)?,
                act: QuantAct::new(spec),
            },
            conv2: ConvLayer::new(
                gpu,
                &format!("{name}.conv2"),
                ConvSpec::same(o, o, 3, 1),
                true,
                rng,
            )?
            .with_codes(spec.bits),
            bn2: BatchNorm::new(gpu, &format!("{name}.bn2"), o)?,
            act2: QuantAct::new(spec),
            stride,
            saved_x: None,
        })
    }

    pub fn forward(&mut self, rec: &mut Recorder, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = self.unit1.forward(rec, x, train)?;
        let a2 = self.conv2.forward(rec, &h, train)?;
        let b2 = self.bn2.forward(rec, &a2, train)?;
        let s = shortcut::forward(rec, &b2, x, self.stride, self.act2.spec.step())?;
        if train {
            self.saved_x = Some(x.shape().to_vec());
        }
        self.act2.forward(rec, &s, train)
    }

    pub fn backward(&mut self, rec: &mut Recorder, dout: &Tensor) -> Result<Tensor> {
        let x_shape = self
            .saved_x
            .take()
            .ok_or_else(|| Error::Invalid("block backward before forward".into()))?;
        let ds = self.act2.backward(rec, dout)?;
        let dx_short = shortcut::backward(rec, &ds, &x_shape, self.stride, self.act2.spec.step())?;
        let da2 = self.bn2.backward(rec, &ds)?;
        let dh = self
            .conv2
            .backward(rec, &da2)?
            .ok_or_else(|| Error::Invalid("conv2 without dx".into()))?;
        let dx = self
            .unit1
            .backward(rec, &dh)?
            .ok_or_else(|| Error::Invalid("conv1 without dx".into()))?;
        elementwise::add(rec, &dx, &dx_short)
    }

    pub fn visit(&mut self, f: &mut dyn FnMut(&mut Param)) {
        self.unit1.visit(f);
        self.conv2.visit(f);
        self.bn2.visit(f);
    }
    pub fn visit_bn(&mut self, f: &mut dyn FnMut(&mut BatchNorm)) {
        self.unit1.visit_bn(f);
        f(&mut self.bn2);
    }
}

/// 2x2 max pooling, stride 2, on codes (the max of codes is a code).
#[derive(Default)]
pub struct MaxPool {
    saved: Option<(Tensor, Vec<usize>)>,
}

impl MaxPool {
    pub fn forward(&mut self, rec: &mut Recorder, x: &Tensor, train: bool) -> Result<Tensor> {
        let (y, argmax) = pool::max_forward(rec, x, 2, 2)?;
        if train {
            self.saved = Some((argmax, x.shape().to_vec()));
        }
        Ok(y)
    }
    pub fn backward(&mut self, rec: &mut Recorder, dy: &Tensor) -> Result<Tensor> {
        let (argmax, shape) = self
            .saved
            .take()
            .ok_or_else(|| Error::Invalid("pool backward before forward".into()))?;
        pool::max_backward(rec, dy, &argmax, &shape)
    }
}
