//! The exported model's file format: a safetensors file with packed weights, thresholds,
//! the code table, the head and JSON metadata (schema: docs/export.md).

use super::export::{CodeTable, IntModel, IntUnit, UnitDesc, UnitKind, FORMAT, VERSION};
use crate::error::{Error, Result};
use crate::gpu::{DType, Gpu, Tensor};
use crate::io::write_atomic;
use crate::nn::first::FirstLayer;
use crate::nn::head::Head;
use crate::nn::param::try_visit;
use crate::nn::{FirstLayerKind, ModelConfig, Param};
use crate::stored::{FileKind, Header, NamedTensors};
use rand::SeedableRng;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::Path;

const KIND: FileKind = FileKind {
    format: FORMAT,
    version: VERSION,
    name: "integer model",
};

/// The `format` of a training checkpoint, recognised here to point a user who passes one to
/// `pixembed export`.
const CHECKPOINT_FORMAT: &str = crate::train::checkpoint::FORMAT;
const CHECKPOINT_HINT: &str =
    "this is a training checkpoint, not an exported integer model: run `pixembed export` first";

fn complain(path: &Path, msg: String) -> Error {
    Error::data(path, msg)
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
        let bytes = self.to_bytes(gpu).map_err(|e| match e {
            Error::Invalid(m) => Error::data(path, m),
            other => other,
        })?;
        write_atomic(path, &bytes)
    }

    /// The bytes [`IntModel::save`] writes.
    pub fn to_bytes(&mut self, gpu: &Gpu) -> Result<Vec<u8>> {
        let mut blobs: Vec<(String, Blob)> = Vec::new();
        if let Some(l) = &self.code_table {
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
            self.code_table.as_ref().map_or(0, |l| l.bits).to_string(),
        );
        let views: Vec<(String, TensorView)> = blobs
            .iter()
            .map(|(n, b)| {
                TensorView::new(b.dtype, b.shape.clone(), &b.data).map(|v| (n.clone(), v))
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        safetensors::serialize(views, Some(meta)).map_err(|e| Error::Invalid(e.to_string()))
    }

    /// Read an exported model (checks format, version, names, shapes and types).
    pub fn load(gpu: &Gpu, path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let header = Header::read(path, &bytes, complain)?;
        let bad = |m: String| header.bad(m);
        header.check(&KIND, &[(CHECKPOINT_FORMAT, CHECKPOINT_HINT)])?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| bad(format!("not a readable safetensors file ({e})")))?;
        let cfg: ModelConfig = header.json("model_config")?;
        cfg.validate()?;
        let descs: Vec<UnitDesc> = header.json("units")?;
        let lut_bits: u32 = header.number("lut_bits")?;
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
        let code_table = if cfg.first_layer == FirstLayerKind::Float {
            None
        } else {
            Some(CodeTable {
                codes: tensor("lut.codes", DType::Bits)?,
                bits: lut_bits,
                fused: None,
            })
        };
        // The sizes a file declares are checked before anything is sized by them: one input
        // image must fit a GPU buffer (and `pixembed infer` allocates it on the host).
        let [ih, iw, ic] = cfg.input;
        let image = ih
            .checked_mul(iw)
            .and_then(|v| v.checked_mul(ic))
            .ok_or_else(|| bad(format!("input {ih}x{iw}x{ic} is too large")))?;
        gpu.check_fits(&format!("one {ih}x{iw}x{ic} input image"), image as u64)?;
        let mut units = Vec::new();
        for (i, d) in descs.iter().enumerate() {
            check_unit(i, d).map_err(bad)?;
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
                _ => {
                    let w = tensor(&format!("units.{i}.weight"), DType::Bits)?;
                    // Packed signs of [O, K, K, C]: [O, K, K, ceil(C / 32)].
                    let want = [d.o, d.k, d.k, d.c.div_ceil(32)];
                    if w.shape() != want {
                        return Err(bad(format!(
                            "unit {i}: weights have shape {:?}, its description (c {}, o {}, \
                             k {}) needs {want:?}",
                            w.shape(),
                            d.c,
                            d.o,
                            d.k
                        )));
                    }
                    w
                }
            };
            units.push(IntUnit {
                desc: d.clone(),
                weights,
                kind,
            });
        }
        let last_c = units.last().map_or(cfg.width, |u| u.desc.o);
        let mut head = Head::new(gpu, cfg.last_layer, last_c, cfg.classes, &mut rng)?;
        // Each parameter of the head (and of the float first layer) takes the stored tensor of
        // its name and shape.
        let stored = NamedTensors::read(path, &st, false, complain)?;
        try_visit(
            |f| head.visit(f),
            |p| stored.restore(gpu, p, false).map(drop),
        )?;
        let float_first = if cfg.first_layer == FirstLayerKind::Float {
            let mut first = FirstLayer::new(
                gpu,
                &cfg,
                cfg.width,
                cfg.first_kernel(),
                cfg.first_stride(),
                &mut rng,
            )?;
            try_visit(
                |f| first.visit(f),
                |p| stored.restore(gpu, p, false).map(drop),
            )?;
            Some(first)
        } else {
            None
        };
        Ok(IntModel {
            cfg,
            code_table,
            float_first,
            float_fused: None,
            units,
            head,
        })
    }
}

/// A unit description's own sizes: positive, and small enough to address.
fn check_unit(i: usize, d: &UnitDesc) -> std::result::Result<(), String> {
    if d.kind == "maxpool" {
        return Ok(());
    }
    let fits = d.c > 0
        && d.o > 0
        && d.k > 0
        && d.stride > 0
        && (1..=16).contains(&d.in_bits)
        && (1..=16).contains(&d.out_bits)
        && [d.k, d.k, d.c]
            .iter()
            .try_fold(d.o, |a, &v| a.checked_mul(v))
            .is_some();
    if fits {
        Ok(())
    } else {
        Err(format!(
            "unit {i} has impossible sizes: c {}, o {}, k {}, stride {}, bits {} -> {}",
            d.c, d.o, d.k, d.stride, d.in_bits, d.out_bits
        ))
    }
}

fn le_words(d: &[u8], n: usize) -> impl Iterator<Item = u32> + '_ {
    d.chunks_exact(4)
        .take(n)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}
