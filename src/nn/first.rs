//! The first layer: an input encoding of the u8 pixels followed by conv -> BN -> quantizer.
//! Every variant ends in the same k-bit codes, so the rest of the network is identical.

use super::config::{FirstLayerKind, ModelConfig, TableKind};
use super::conv::{ConvLayer, ConvSpec};
use super::norm::{BatchNorm, ConvBnAct, QuantAct};
use super::param::{Param, ParamKind};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Recorder, Tensor};
use crate::ops::{elementwise, embed, encode};
use crate::reference::optim::Clip;
use rand::Rng;

/// Per-channel normalisation of the float baseline: (v / 255 - 0.5) / 0.25.
pub const FLOAT_MEAN: f32 = 0.5;
pub const FLOAT_STD: f32 = 0.25;

pub struct FirstLayer {
    pub kind: FirstLayerKind,
    pub cfg: ModelConfig,
    /// The embedding table [T, 256, D] (embed only).
    pub table: Option<Param>,
    pub unit: ConvBnAct,
    saved_pixels: Option<Tensor>,
}

/// Channels the encoding produces from C input channels.
pub fn encoded_channels(cfg: &ModelConfig) -> usize {
    let c = cfg.input[2];
    match cfg.first_layer {
        FirstLayerKind::Float | FirstLayerKind::Int8 | FirstLayerKind::Naive => c,
        FirstLayerKind::Bitplane => 8 * c,
        FirstLayerKind::Thermometer | FirstLayerKind::Embed => c * cfg.embed_dim,
    }
}

/// How far inside (0, max) the table is kept: the quantizer's straight-through mask passes
/// gradient only for 0 < E < max, so an entry clamped to the edge would never move again.
pub const TABLE_MARGIN: f32 = 1.0 / 1024.0;

/// The range the optimizer clamps the table to: [margin, 1 - margin] * max.
pub fn table_clip(max: f32) -> Clip {
    Clip {
        lo: TABLE_MARGIN * max,
        hi: (1.0 - TABLE_MARGIN) * max,
    }
}

/// Initial table, a soft thermometer: dimension d is a ramp from 0 to max across the d-th of
/// D equal slices of the pixel range,
///   E\[v\]\[d\] = max * clamp(D * (v / 255 - (d + 1/2) / D) + 1/2, m, 1 - m),  m = TABLE_MARGIN,
/// so the k-bit codes of the D dimensions together start as a thermometer code of
/// D * (2^k - 1) + 1 evenly spaced levels (ERN's generalized thermometer), and every entry lies
/// strictly inside (0, max) where the straight-through gradient reaches it.
pub fn init_table(tables: usize, dim: usize, max: f32) -> Vec<f32> {
    let mut t = vec![0.0f32; tables * 256 * dim];
    for tb in 0..tables {
        for v in 0..256 {
            for d in 0..dim {
                let centre = (d as f32 + 0.5) / dim as f32;
                let ramp = dim as f32 * (v as f32 / 255.0 - centre) + 0.5;
                t[(tb * 256 + v) * dim + d] = max * ramp.clamp(TABLE_MARGIN, 1.0 - TABLE_MARGIN);
            }
        }
    }
    t
}

impl FirstLayer {
    pub fn new(
        gpu: &Gpu,
        cfg: &ModelConfig,
        out: usize,
        k: usize,
        stride: usize,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let kind = cfg.first_layer;
        let cin = encoded_channels(cfg);
        let mut conv = ConvLayer::new(
            gpu,
            "first.conv",
            ConvSpec::same(cin, out, k, stride),
            kind != FirstLayerKind::Float,
            rng,
        )?;
        conv.needs_dx = kind == FirstLayerKind::Embed;
        // Every encoding but float yields integer codes; their width bounds the packed path.
        conv.in_bits = match kind {
            FirstLayerKind::Float => None,
            FirstLayerKind::Int8 | FirstLayerKind::Bitplane => Some(8),
            FirstLayerKind::Naive | FirstLayerKind::Embed => Some(cfg.embed_bits),
            FirstLayerKind::Thermometer => Some(1),
        };
        let table = if kind == FirstLayerKind::Embed {
            let tables = match cfg.embed_table {
                TableKind::Shared => 1,
                TableKind::PerChannel => cfg.input[2],
            };
            let data = init_table(tables, cfg.embed_dim, cfg.act_max);
            Some(
                Param::new(
                    gpu,
                    "first.table",
                    ParamKind::Table,
                    &[tables, 256, cfg.embed_dim],
                    &data,
                )?
                .with_clip(table_clip(cfg.act_max)),
            )
        } else {
            None
        };
        Ok(FirstLayer {
            kind,
            cfg: cfg.clone(),
            table,
            unit: ConvBnAct {
                conv,
                bn: BatchNorm::new(gpu, "first.bn", out)?,
                act: QuantAct::new(cfg.act()),
            },
            saved_pixels: None,
        })
    }

    /// The encoded input the first convolution sees.
    pub fn encode(&self, rec: &mut Recorder, pixels: &Tensor) -> Result<Tensor> {
        let c = self.cfg.input[2];
        match self.kind {
            FirstLayerKind::Float => {
                encode::normalize(rec, pixels, &vec![FLOAT_MEAN; c], &vec![FLOAT_STD; c])
            }
            FirstLayerKind::Int8 => encode::to_f32(rec, pixels),
            FirstLayerKind::Naive => encode::naive(rec, pixels, self.cfg.embed_bits),
            FirstLayerKind::Bitplane => encode::bitplane(rec, pixels),
            FirstLayerKind::Thermometer => {
                encode::thermometer(rec, pixels, self.cfg.embed_dim as u32)
            }
            FirstLayerKind::Embed => {
                let table = self
                    .table
                    .as_ref()
                    .ok_or_else(|| Error::Invalid("embed without table".into()))?;
                embed::forward(rec, self.cfg.embed_spec(), &table.value, pixels)
            }
        }
    }

    pub fn forward(&mut self, rec: &mut Recorder, pixels: &Tensor, train: bool) -> Result<Tensor> {
        let x = self.encode(rec, pixels)?;
        if train && self.kind == FirstLayerKind::Embed {
            self.saved_pixels = Some(pixels.clone());
        }
        self.unit.forward(rec, &x, train)
    }

    pub fn backward(&mut self, rec: &mut Recorder, dcodes: &Tensor) -> Result<()> {
        let dx = self.unit.backward(rec, dcodes)?;
        if let (Some(table), Some(dcode_in)) = (self.table.as_mut(), dx) {
            let pixels = self
                .saved_pixels
                .take()
                .ok_or_else(|| Error::Invalid("embed backward before forward".into()))?;
            // value = code * step, so dL/dvalue = dL/dcode * scale (scale = n / max).
            let spec = self.cfg.embed_spec();
            let dvalue = elementwise::scale(rec, &dcode_in, spec.scale())?;
            table.grad = Some(embed::backward(rec, spec, &table.value, &pixels, &dvalue)?);
        }
        Ok(())
    }

    pub fn visit_bn(&mut self, f: &mut dyn FnMut(&mut super::norm::BatchNorm)) {
        self.unit.visit_bn(f);
    }

    pub fn visit(&mut self, f: &mut dyn FnMut(&mut Param)) {
        if let Some(t) = self.table.as_mut() {
            f(t);
        }
        self.unit.visit(f);
    }
}
