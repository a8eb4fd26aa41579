//! Model builders (ResNet, ResNet-18, VGG-small) and the whole-network forward/backward.

use super::blocks::{BasicBlock, MaxPool};
use super::config::{Arch, ModelConfig};
use super::conv::{ConvLayer, ConvSpec};
use super::first::FirstLayer;
use super::head::Head;
use super::norm::{BatchNorm, ConvBnAct, QuantAct};
use super::param::{try_visit, Param};
use crate::error::{Error, Result};
use crate::gpu::{DType, Gpu, Recorder, Tensor};
use crate::reference::QuantSpec;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub enum BodyLayer {
    Block(Box<BasicBlock>),
    Plain(Box<ConvBnAct>),
    Pool(MaxPool),
}

pub struct Model {
    pub cfg: ModelConfig,
    pub first: FirstLayer,
    pub body: Vec<BodyLayer>,
    pub head: Head,
}

fn plain(
    gpu: &Gpu,
    name: &str,
    c: usize,
    o: usize,
    cfg: &ModelConfig,
    rng: &mut ChaCha8Rng,
) -> Result<BodyLayer> {
    Ok(BodyLayer::Plain(Box::new(ConvBnAct {
        conv: ConvLayer::new(
            gpu,
            &format!("{name}.conv"),
            ConvSpec::same(c, o, 3, 1),
            true,
            rng,
        )?
        .with_codes(cfg.act_bits),
        bn: BatchNorm::new(gpu, &format!("{name}.bn"), o)?,
        act: QuantAct::new(cfg.act()),
    })))
}

/// Residual stages of `blocks` basic blocks each, one stage per width (the first block of
/// every stage but the first at stride 2), from `c` input channels; returns the output
/// channels.
fn push_stages(
    gpu: &Gpu,
    body: &mut Vec<BodyLayer>,
    mut c: usize,
    widths: &[usize],
    blocks: usize,
    spec: QuantSpec,
    rng: &mut ChaCha8Rng,
) -> Result<usize> {
    for (stage, &o) in widths.iter().enumerate() {
        for b in 0..blocks {
            let stride = if stage > 0 && b == 0 { 2 } else { 1 };
            let name = format!("stage{}.block{b}", stage + 1);
            body.push(BodyLayer::Block(Box::new(BasicBlock::new(
                gpu, &name, c, o, stride, spec, rng,
            )?)));
            c = o;
        }
    }
    Ok(c)
}

impl Model {
    /// Build a freshly initialised model; the same seed gives the same weights.
    pub fn new(gpu: &Gpu, cfg: &ModelConfig, seed: u64) -> Result<Self> {
        cfg.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_0fa1_u64);
        let w = cfg.width;
        let spec = cfg.act();
        let first = FirstLayer::new(
            gpu,
            cfg,
            w,
            cfg.first_kernel(),
            cfg.first_stride(),
            &mut rng,
        )?;
        let mut body = Vec::new();
        let last_c = match cfg.arch {
            Arch::Resnet => {
                let n = (cfg.depth - 2) / 6;
                let widths = [w, 2 * w, 4 * w];
                push_stages(gpu, &mut body, w, &widths, n, spec, &mut rng)?
            }
            Arch::Resnet18 => {
                body.push(BodyLayer::Pool(MaxPool::default()));
                let widths = [w, 2 * w, 4 * w, 8 * w];
                push_stages(gpu, &mut body, w, &widths, 2, spec, &mut rng)?
            }
            Arch::VggSmall => {
                body.push(plain(gpu, "layer1", w, w, cfg, &mut rng)?);
                body.push(BodyLayer::Pool(MaxPool::default()));
                body.push(plain(gpu, "layer2", w, 2 * w, cfg, &mut rng)?);
                body.push(plain(gpu, "layer3", 2 * w, 2 * w, cfg, &mut rng)?);
                body.push(BodyLayer::Pool(MaxPool::default()));
                body.push(plain(gpu, "layer4", 2 * w, 4 * w, cfg, &mut rng)?);
                body.push(plain(gpu, "layer5", 4 * w, 4 * w, cfg, &mut rng)?);
                body.push(BodyLayer::Pool(MaxPool::default()));
                4 * w
            }
        };
        let head = Head::new(gpu, cfg.last_layer, last_c, cfg.classes, &mut rng)?;
        Ok(Model {
            cfg: cfg.clone(),
            first,
            body,
            head,
        })
    }

    /// Pixels U8 \[N,H,W,C\] -> logits f32 \[N,K\]. `train` uses batch statistics and saves
    /// what the backward pass needs.
    pub fn forward(&mut self, rec: &mut Recorder, pixels: &Tensor, train: bool) -> Result<Tensor> {
        let [h, w, c] = self.cfg.input;
        let s = pixels.shape();
        if pixels.dtype() != DType::U8 || s.len() != 4 || s[1..] != [h, w, c] {
            return Err(Error::shape(format!(
                "model expects u8 pixels [N,{h},{w},{c}], got {pixels:?}"
            )));
        }
        let mut x = self.first.forward(rec, pixels, train)?;
        for layer in &mut self.body {
            x = match layer {
                BodyLayer::Block(b) => b.forward(rec, &x, train)?,
                BodyLayer::Plain(p) => p.forward(rec, &x, train)?,
                BodyLayer::Pool(p) => p.forward(rec, &x, train)?,
            };
        }
        self.head.forward(rec, &x, train)
    }

    /// Backward from dL/dlogits; sets every trainable parameter's gradient.
    pub fn backward(&mut self, rec: &mut Recorder, dlogits: &Tensor) -> Result<()> {
        let mut d = self.head.backward(rec, dlogits)?;
        for layer in self.body.iter_mut().rev() {
            d = match layer {
                BodyLayer::Block(b) => b.backward(rec, &d)?,
                BodyLayer::Plain(p) => p
                    .backward(rec, &d)?
                    .ok_or_else(|| Error::Invalid("missing dx".into()))?,
                BodyLayer::Pool(p) => p.backward(rec, &d)?,
            };
        }
        self.first.backward(rec, &d)
    }

    /// Every parameter and buffer, in a fixed order (the checkpoint order).
    pub fn visit(&mut self, f: &mut dyn FnMut(&mut Param)) {
        self.first.visit(f);
        for layer in &mut self.body {
            match layer {
                BodyLayer::Block(b) => b.visit(f),
                BodyLayer::Plain(p) => p.visit(f),
                BodyLayer::Pool(_) => {}
            }
        }
        self.head.visit(f);
    }

    /// [`Model::visit`] with a fallible callback: stops at the first error and returns it.
    pub fn try_visit(&mut self, f: impl FnMut(&mut Param) -> Result<()>) -> Result<()> {
        try_visit(|g| self.visit(g), f)
    }

    /// Every batch-norm layer, in order.
    pub fn visit_bn(&mut self, f: &mut dyn FnMut(&mut BatchNorm)) {
        self.first.visit_bn(f);
        for layer in &mut self.body {
            match layer {
                BodyLayer::Block(b) => b.visit_bn(f),
                BodyLayer::Plain(p) => p.visit_bn(f),
                BodyLayer::Pool(_) => {}
            }
        }
        self.head.visit_bn(f);
    }

    /// Set the running-statistics momentum of every batch-norm layer.
    pub fn set_bn_momentum(&mut self, momentum: f32) {
        self.visit_bn(&mut |bn| bn.momentum = momentum);
    }

    /// Number of trainable scalars.
    pub fn parameter_count(&mut self) -> usize {
        let mut n = 0;
        self.visit(&mut |p| {
            if p.trainable() {
                n += p.value.numel();
            }
        });
        n
    }
}
