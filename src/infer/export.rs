//! The integer model: folding a trained model into packed weights, thresholds and the code
//! table, and its file format (safetensors; schema in docs/export.md; reading and writing in format.rs).

use super::fold::fold_unit;
use crate::error::{Error, Result};
use crate::gpu::{DType, Gpu, Recorder, Tensor};
use crate::nn::conv::ConvLayer;
use crate::nn::first::{FirstLayer, FLOAT_MEAN, FLOAT_STD};
use crate::nn::head::Head;
use crate::nn::model::BodyLayer;
use crate::nn::norm::{BatchNorm, BN_EPS};
use crate::nn::{FirstLayerKind, Model, ModelConfig};
use crate::ops::first_conv::{FirstConv, FirstConvSpec, FloatThresholds};
use crate::ops::first_table::CodeTableConv;
use crate::ops::pack;
use crate::reference::QuantSpec;
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "pixembed-integer";
pub const VERSION: &str = "1";

/// The code table: the frozen first layer, D integer codes of `bits` bits per (input channel,
/// pixel value), stored as `[T, 256, D]` (T = 1 when the channels share one table).
pub struct CodeTable {
    pub codes: Tensor,
    pub bits: u32,
    /// The code table fused with the first conv unit, built by the engine on first use.
    pub fused: Option<CodeTableConv>,
}

pub enum UnitKind {
    /// Bitwise conv fused with thresholds: values I32 [O, n], flags I32 \[O\].
    Conv { thresholds: Tensor, flags: Tensor },
    /// Second conv of a residual block: thresholds I32 [O, n+1, n] and flags [O, n+1]
    /// per shortcut code; the shortcut is the block input subsampled by `stride`.
    Residual {
        thresholds: Tensor,
        flags: Tensor,
        stride: usize,
    },
    /// 2x2 max pooling on packed codes.
    MaxPool,
}

/// One layer of the integer engine.
pub struct IntUnit {
    /// Its sizes and bit widths, as stored in the file.
    pub desc: UnitDesc,
    /// Packed sign bits [O, K, K, Cw] (empty for pooling).
    pub weights: Tensor,
    pub kind: UnitKind,
}

/// The JSON description of a unit stored in the file's metadata.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UnitDesc {
    pub kind: String,
    pub c: usize,
    pub o: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub in_bits: u32,
    pub out_bits: u32,
    /// This unit's input is the input of a residual block (kept for its shortcut).
    pub block_start: bool,
    /// Residual units: the stride at which the block input is subsampled for the shortcut.
    #[serde(default)]
    pub shortcut_stride: usize,
}

pub struct IntModel {
    pub cfg: ModelConfig,
    pub code_table: Option<CodeTable>,
    /// The float first layer (float variant only): its trained parameters, as stored.
    pub float_first: Option<FirstLayer>,
    /// The same layer as one fused kernel (normalisation, f32 conv, batch-norm and quantizer
    /// folded into float thresholds, packing), built by the engine on first use.
    pub float_fused: Option<FirstConv>,
    pub units: Vec<IntUnit>,
    pub head: Head,
}

/// The float first layer as the fused kernel: the training graph's normalisation, conv
/// weights, batch-norm (running statistics) and quantizer, folded into float thresholds.
/// Its codes equal the graph's except where a pre-activation lies within f32 rounding of a
/// threshold (the two sum in different orders); there they may differ by one level.
pub fn fuse_float_first(gpu: &Gpu, first: &FirstLayer) -> Result<FirstConv> {
    let (conv, bn) = (&first.unit.conv, &first.unit.bn);
    let s = conv.spec;
    if conv.binary || s.pad != s.k / 2 {
        return Err(Error::Invalid(format!(
            "float first layer: binary weights {} or padding {} other than the fused kernel's k / 2 = {}",
            conv.binary,
            s.pad,
            s.k / 2
        )));
    }
    let host = |p: &crate::nn::param::Param| p.value.to_vec::<f32>(gpu);
    let spec = first.unit.act.spec;
    let (values, flags) = crate::reference::first_conv::bn_float_thresholds(
        &host(&bn.gamma)?,
        &host(&bn.beta)?,
        &host(&bn.mean)?,
        &host(&bn.var)?,
        BN_EPS,
        spec,
    );
    let thresholds = FloatThresholds::new(spec.bits, values, flags)?;
    let weights = host(&conv.w)?;
    FirstConv::new(
        gpu,
        &FirstConvSpec {
            c: s.c,
            k: s.k,
            stride: s.stride,
            mean: &vec![FLOAT_MEAN; s.c],
            std: &vec![FLOAT_STD; s.c],
            weights: &weights,
            thresholds: &thresholds,
        },
    )
}

fn bits_for(max_code: u32) -> u32 {
    (32 - max_code.leading_zeros()).max(1)
}

/// Freeze the first layer's encoding into integer codes per (channel, pixel value).
fn freeze_code_table(gpu: &Gpu, first: &FirstLayer) -> Result<(Vec<u32>, usize, usize, u32)> {
    let c = first.cfg.input[2];
    let probe: Vec<u8> = (0..256)
        .flat_map(|v| std::iter::repeat_n(v as u8, c))
        .collect();
    let pixels = Tensor::from_slice(gpu, &[1, 256, 1, c], &probe)?;
    let mut rec = Recorder::new(gpu);
    let enc = first.encode(&mut rec, &pixels)?;
    rec.submit();
    let vals = enc.to_vec::<f32>(gpu)?;
    let cp = enc.shape()[3];
    let d = cp / c;
    let mut table = vec![0u32; c * 256 * d];
    for v in 0..256 {
        for ch in 0..c {
            for k in 0..d {
                let x = vals[v * cp + ch * d + k];
                if x < 0.0 || x.fract() != 0.0 || x > 255.0 {
                    return Err(Error::Invalid(format!(
                        "first layer value {x} is not an integer code"
                    )));
                }
                table[(ch * 256 + v) * d + k] = x as u32;
            }
        }
    }
    let bits = bits_for(table.iter().copied().max().unwrap_or(0));
    Ok((table, c, d, bits))
}

fn conv_unit(
    gpu: &Gpu,
    conv: &ConvLayer,
    bn: &BatchNorm,
    spec: QuantSpec,
    in_bits: u32,
    block_start: bool,
    residual: Option<(usize, usize)>,
) -> Result<IntUnit> {
    let s = conv.spec;
    let acc_max = (s.k * s.k * s.c) as i32 * ((1i32 << in_bits) - 1);
    let mut rec = Recorder::new(gpu);
    let weights = pack::pack_signs(&mut rec, &conv.w.value)?;
    rec.submit();
    let f = fold_unit(
        gpu,
        bn,
        spec,
        acc_max,
        residual.map(|(cin, _)| (cin, spec.levels())),
    )?;
    let levels = f.levels;
    let (kind, name) = match residual {
        None => (
            UnitKind::Conv {
                thresholds: Tensor::from_slice(gpu, &[s.o, levels], &f.values)?,
                flags: Tensor::from_slice(gpu, &[s.o], &f.flags)?,
            },
            "conv",
        ),
        Some((_, stride)) => (
            UnitKind::Residual {
                thresholds: Tensor::from_slice(gpu, &[s.o, levels + 1, levels], &f.values)?,
                flags: Tensor::from_slice(gpu, &[s.o, levels + 1], &f.flags)?,
                stride,
            },
            "residual",
        ),
    };
    Ok(IntUnit {
        desc: UnitDesc {
            kind: name.into(),
            c: s.c,
            o: s.o,
            k: s.k,
            stride: s.stride,
            pad: s.pad,
            in_bits,
            out_bits: spec.bits,
            block_start,
            shortcut_stride: residual.map_or(0, |(_, stride)| stride),
        },
        weights,
        kind,
    })
}

fn pool_unit(gpu: &Gpu, c: usize, bits: u32) -> Result<IntUnit> {
    Ok(IntUnit {
        desc: UnitDesc {
            kind: "maxpool".into(),
            c,
            o: c,
            k: 2,
            stride: 2,
            pad: 0,
            in_bits: bits,
            out_bits: bits,
            block_start: false,
            shortcut_stride: 0,
        },
        weights: Tensor::zeros(gpu, DType::Bits, &[1])?,
        kind: UnitKind::MaxPool,
    })
}

/// Fold a trained model (consumed) into the integer model.
pub fn fold_model(gpu: &Gpu, model: Model) -> Result<IntModel> {
    let Model {
        cfg,
        first,
        body,
        head,
    } = model;
    let act_bits = cfg.act_bits;
    let mut units = Vec::new();
    let (code_table, float_first) = if cfg.first_layer == FirstLayerKind::Float {
        (None, Some(first))
    } else {
        let (table, c, d, bits) = freeze_code_table(gpu, &first)?;
        let u = &first.unit;
        units.push(conv_unit(
            gpu, &u.conv, &u.bn, u.act.spec, bits, false, None,
        )?);
        (
            Some(CodeTable {
                codes: Tensor::from_slice(gpu, &[c, 256, d], &table)?,
                bits,
                fused: None,
            }),
            None,
        )
    };
    let mut channels = cfg.width;
    for layer in &body {
        match layer {
            BodyLayer::Block(b) => {
                let u = &b.unit1;
                units.push(conv_unit(
                    gpu, &u.conv, &u.bn, u.act.spec, act_bits, true, None,
                )?);
                let residual = Some((u.conv.spec.c, b.stride));
                units.push(conv_unit(
                    gpu,
                    &b.conv2,
                    &b.bn2,
                    b.act2.spec,
                    act_bits,
                    false,
                    residual,
                )?);
                channels = b.conv2.spec.o;
            }
            BodyLayer::Plain(p) => {
                units.push(conv_unit(
                    gpu, &p.conv, &p.bn, p.act.spec, act_bits, false, None,
                )?);
                channels = p.conv.spec.o;
            }
            BodyLayer::Pool(_) => units.push(pool_unit(gpu, channels, act_bits)?),
        }
    }
    Ok(IntModel {
        cfg,
        code_table,
        float_first,
        float_fused: None,
        units,
        head,
    })
}
