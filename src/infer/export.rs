//! The integer model: folding a trained model into packed weights, thresholds and a frozen
//! lookup table, and its file format (safetensors; schema in docs/export.md).

use super::fold::fold_unit;
use crate::error::{Error, Result};
use crate::gpu::{DType, Gpu, Recorder, Tensor};
use crate::nn::conv::ConvLayer;
use crate::nn::first::FirstLayer as FirstUnit;
use crate::nn::head::Head;
use crate::nn::model::BodyLayer;
use crate::nn::norm::BatchNorm;
use crate::nn::{FirstLayer, Model, ModelConfig, Param};
use crate::ops::pack;
use crate::reference::QuantSpec;
use crate::train::checkpoint::write_atomic;
use rand::SeedableRng;
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

pub const FORMAT: &str = "pixembed-integer";
pub const VERSION: &str = "1";

/// The frozen first layer: integer codes [T, 256, D] with `bits` planes.
pub struct Lut {
    pub codes: Tensor,
    pub bits: u32,
}

pub enum UnitKind {
    /// Bitwise conv fused with thresholds: values I32 [O, n], flags I32 [O].
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
    pub desc: UnitDesc,
    pub c: usize,
    pub o: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub in_bits: u32,
    pub out_bits: u32,
    /// This unit's input is the input of a residual block (kept for its shortcut).
    pub block_start: bool,
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
    pub block_start: bool,
    /// Residual units: the stride at which the block input is subsampled for the shortcut.
    #[serde(default)]
    pub shortcut_stride: usize,
}

pub struct IntModel {
    pub cfg: ModelConfig,
    pub lut: Option<Lut>,
    /// The float first layer (float variant only), run as in the training graph.
    pub float_first: Option<FirstUnit>,
    pub units: Vec<IntUnit>,
    pub head: Head,
}

fn bits_for(max_code: u32) -> u32 {
    (32 - max_code.leading_zeros()).max(1)
}

/// Freeze the first layer's encoding into integer codes per (channel, pixel value).
fn freeze_lut(gpu: &Gpu, first: &FirstUnit) -> Result<(Vec<u32>, usize, usize, u32)> {
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
        c: s.c,
        o: s.o,
        k: s.k,
        stride: s.stride,
        pad: s.pad,
        in_bits,
        out_bits: spec.bits,
        block_start,
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
        c,
        o: c,
        k: 2,
        stride: 2,
        pad: 0,
        in_bits: bits,
        out_bits: bits,
        block_start: false,
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
    let (lut, float_first) = if cfg.first_layer == FirstLayer::Float {
        (None, Some(first))
    } else {
        let (table, c, d, bits) = freeze_lut(gpu, &first)?;
        let u = &first.unit;
        units.push(conv_unit(
            gpu, &u.conv, &u.bn, u.act.spec, bits, false, None,
        )?);
        (
            Some(Lut {
                codes: Tensor::from_slice(gpu, &[c, 256, d], &table)?,
                bits,
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
        lut,
        float_first,
        units,
        head,
    })
}

/// An owned tensor on its way into a safetensors file.
struct Blob {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

fn blob(gpu: &Gpu, t: &Tensor) -> Result<Blob> {
    let (dtype, data) = match t.dtype() {
        DType::F32 => (
            Dtype::F32,
            bytemuck::cast_slice(&t.to_vec::<f32>(gpu)?).to_vec(),
        ),
        DType::I32 => (
            Dtype::I32,
            bytemuck::cast_slice(&t.to_vec::<i32>(gpu)?).to_vec(),
        ),
        DType::Bits => (
            Dtype::U32,
            bytemuck::cast_slice(&t.to_vec::<u32>(gpu)?).to_vec(),
        ),
        DType::U8 => (Dtype::U8, t.to_vec::<u8>(gpu)?),
    };
    Ok(Blob {
        dtype,
        shape: t.shape().to_vec(),
        data,
    })
}

/// Something that hands each of its parameters to a callback.
type Visitor<'a> = dyn FnMut(&mut dyn FnMut(&mut Param)) + 'a;

fn params_of(visit: &mut Visitor) -> Vec<(String, Tensor)> {
    let mut out = Vec::new();
    visit(&mut |p: &mut Param| out.push((p.name.clone(), p.value.clone())));
    out
}

impl IntModel {
    /// Write the exported model atomically.
    pub fn save(&mut self, gpu: &Gpu, path: &Path) -> Result<()> {
        let mut blobs: Vec<(String, Blob)> = Vec::new();
        if let Some(l) = &self.lut {
            blobs.push(("lut.codes".into(), blob(gpu, &l.codes)?));
        }
        for (i, u) in self.units.iter().enumerate() {
            if matches!(u.kind, UnitKind::MaxPool) {
                continue;
            }
            blobs.push((format!("units.{i}.weight"), blob(gpu, &u.weights)?));
            let (th, fl) = match &u.kind {
                UnitKind::Conv { thresholds, flags }
                | UnitKind::Residual {
                    thresholds, flags, ..
                } => (thresholds, flags),
                UnitKind::MaxPool => unreachable!("skipped above"),
            };
            blobs.push((format!("units.{i}.thresholds"), blob(gpu, th)?));
            blobs.push((format!("units.{i}.flags"), blob(gpu, fl)?));
        }
        let head = params_of(&mut |f| self.head.visit(f));
        let first = match self.float_first.as_mut() {
            Some(fl) => params_of(&mut |f| fl.visit(f)),
            None => Vec::new(),
        };
        for (name, t) in head.iter().chain(first.iter()) {
            blobs.push((name.clone(), blob(gpu, t)?));
        }
        let descs: Vec<&UnitDesc> = self.units.iter().map(|u| &u.desc).collect();
        let mut meta: HashMap<String, String> = HashMap::new();
        meta.insert("format".into(), FORMAT.into());
        meta.insert("version".into(), VERSION.into());
        meta.insert(
            "model_config".into(),
            serde_json::to_string(&self.cfg).expect("config serializes"),
        );
        meta.insert(
            "units".into(),
            serde_json::to_string(&descs).expect("units serialize"),
        );
        meta.insert(
            "lut_bits".into(),
            self.lut.as_ref().map_or(0, |l| l.bits).to_string(),
        );
        let views: Vec<(String, TensorView)> = blobs
            .iter()
            .map(|(n, b)| {
                TensorView::new(b.dtype, b.shape.clone(), &b.data).map(|v| (n.clone(), v))
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::data(path, e.to_string()))?;
        let bytes = safetensors::serialize(views, Some(meta))
            .map_err(|e| Error::data(path, e.to_string()))?;
        write_atomic(path, &bytes)
    }

    /// Read an exported model (checks format, version, names, shapes and types).
    pub fn load(gpu: &Gpu, path: &Path) -> Result<Self> {
        let bad = |m: String| Error::data(path, m);
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| bad(format!("not a readable safetensors file ({e})")))?;
        let (_, header) =
            safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let get = |k: &str| {
            meta.get(k)
                .cloned()
                .ok_or_else(|| bad(format!("metadata has no {k:?}")))
        };
        let format = get("format")?;
        if format != FORMAT {
            return Err(bad(if format == crate::train::checkpoint::FORMAT {
                "this is a training checkpoint, not an exported integer model: run `pixembed export` first".into()
            } else {
                format!("not a pixembed integer model (format {format:?})")
            }));
        }
        let version = get("version")?;
        if version != VERSION {
            return Err(bad(format!(
                "integer model version {version} is not supported (this build reads {VERSION})"
            )));
        }
        let cfg: ModelConfig = serde_json::from_str(&get("model_config")?)
            .map_err(|e| bad(format!("model_config: {e}")))?;
        cfg.validate()?;
        let descs: Vec<UnitDesc> =
            serde_json::from_str(&get("units")?).map_err(|e| bad(format!("units: {e}")))?;
        let lut_bits: u32 = get("lut_bits")?
            .parse()
            .map_err(|_| bad("lut_bits is not a number".into()))?;
        let tensor = |name: &str, dtype: DType| -> Result<Tensor> {
            let v = st
                .tensor(name)
                .map_err(|_| bad(format!("missing tensor {name}")))?;
            let want = match dtype {
                DType::F32 => Dtype::F32,
                DType::I32 => Dtype::I32,
                DType::Bits => Dtype::U32,
                DType::U8 => Dtype::U8,
            };
            if v.dtype() != want {
                return Err(bad(format!(
                    "tensor {name} is {:?}, expected {want:?}",
                    v.dtype()
                )));
            }
            let n: usize = v.shape().iter().product();
            let d = v.data();
            match dtype {
                DType::F32 => Tensor::from_slice(
                    gpu,
                    v.shape(),
                    &le_words(d, n).map(f32::from_bits).collect::<Vec<_>>(),
                ),
                DType::I32 => Tensor::from_slice(
                    gpu,
                    v.shape(),
                    &le_words(d, n).map(|w| w as i32).collect::<Vec<_>>(),
                ),
                DType::Bits => {
                    Tensor::from_slice(gpu, v.shape(), &le_words(d, n).collect::<Vec<_>>())
                }
                DType::U8 => Tensor::from_slice(gpu, v.shape(), d),
            }
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let lut = if cfg.first_layer == FirstLayer::Float {
            None
        } else {
            Some(Lut {
                codes: tensor("lut.codes", DType::Bits)?,
                bits: lut_bits,
            })
        };
        let mut units = Vec::new();
        for (i, d) in descs.iter().enumerate() {
            let kind = match d.kind.as_str() {
                "maxpool" => UnitKind::MaxPool,
                "conv" => UnitKind::Conv {
                    thresholds: tensor(&format!("units.{i}.thresholds"), DType::I32)?,
                    flags: tensor(&format!("units.{i}.flags"), DType::I32)?,
                },
                "residual" => UnitKind::Residual {
                    thresholds: tensor(&format!("units.{i}.thresholds"), DType::I32)?,
                    flags: tensor(&format!("units.{i}.flags"), DType::I32)?,
                    stride: d.shortcut_stride.max(1),
                },
                other => return Err(bad(format!("unit {i} has unknown kind {other:?}"))),
            };
            let weights = match kind {
                UnitKind::MaxPool => Tensor::zeros(gpu, DType::Bits, &[1])?,
                _ => tensor(&format!("units.{i}.weight"), DType::Bits)?,
            };
            units.push(IntUnit {
                desc: d.clone(),
                c: d.c,
                o: d.o,
                k: d.k,
                stride: d.stride,
                pad: d.pad,
                in_bits: d.in_bits,
                out_bits: d.out_bits,
                block_start: d.block_start,
                weights,
                kind,
            });
        }
        let last_c = units.last().map_or(cfg.width, |u| u.o);
        let mut head = Head::new(gpu, cfg.last_layer, last_c, cfg.classes, &mut rng)?;
        let mut err = None;
        // Replace each parameter of `visit` with the stored tensor of the same name and shape.
        let mut restore = |p: &mut Param| {
            if err.is_none() {
                match tensor(&p.name, DType::F32) {
                    Ok(t) if t.shape() == p.value.shape() => p.value = t,
                    Ok(t) => {
                        err = Some(bad(format!(
                            "{} has shape {:?}, expected {:?}",
                            p.name,
                            t.shape(),
                            p.value.shape()
                        )))
                    }
                    Err(e) => err = Some(e),
                }
            }
        };
        head.visit(&mut restore);
        let float_first = if cfg.first_layer == FirstLayer::Float {
            let mut first = FirstUnit::new(
                gpu,
                &cfg,
                cfg.width,
                cfg.first_kernel(),
                cfg.first_stride(),
                &mut rng,
            )?;
            first.visit(&mut restore);
            Some(first)
        } else {
            None
        };
        if let Some(e) = err {
            return Err(e);
        }
        Ok(IntModel {
            cfg,
            lut,
            float_first,
            units,
            head,
        })
    }
}

fn le_words(d: &[u8], n: usize) -> impl Iterator<Item = u32> + '_ {
    d.chunks_exact(4)
        .take(n)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}
