//! `pixembed summary`: what a network costs, layer by layer, in parameters (binary and
//! float), multiply-accumulates (1-bit x k-bit and float) and memory, both as trained (f32
//! latent weights) and as exported (packed sign bits, integer thresholds, the frozen table).
//!
//! The exported sizes are not estimated: the model is folded and serialized exactly as
//! `pixembed export` writes it (or an exported file is read), and every tensor of that file
//! is attributed to its layer; the safetensors header (metadata) is the rest of the file.

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::infer::export::FORMAT as EXPORT_FORMAT;
use crate::nn::model::BodyLayer;
use crate::nn::{FirstLayerKind, LastLayer, Model, ModelConfig, Param, ParamKind};
use crate::train::checkpoint;
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Bytes of one layer in the exported file, by what they hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExportedBytes {
    /// Packed sign bits of binary weights (32 per u32 word).
    pub weights: u64,
    /// Integer thresholds and their flags (batch-norm and quantizer folded).
    pub thresholds: u64,
    /// The first layer's frozen code table \[C, 256, D\].
    pub table: u64,
    /// Float tensors kept as they are (float first layer, head weights and affine).
    pub float: u64,
}

impl ExportedBytes {
    pub fn total(&self) -> u64 {
        self.weights + self.thresholds + self.table + self.float
    }
    fn add(&mut self, o: &ExportedBytes) {
        self.weights += o.weights;
        self.thresholds += o.thresholds;
        self.table += o.table;
        self.float += o.float;
    }
}

/// One layer of the summary.
#[derive(Clone, Debug, Serialize)]
pub struct LayerRow {
    /// The layer's parameter prefix (`first`, `layer1`, `stage1.block0.conv1`, `head`).
    pub name: String,
    /// What it computes.
    pub kind: String,
    /// Output shape of one image: [H, W, C], or \[classes\] for the head.
    pub output: Vec<usize>,
    /// Binary (sign) weights.
    pub binary_params: u64,
    /// Float parameters: float weights, biases, the embedding table, batch-norm scale,
    /// shift and running statistics.
    pub float_params: u64,
    /// Of the float parameters, those not trained (batch-norm running statistics).
    pub non_trainable_params: u64,
    /// Bits k of the inputs that meet the binary weights (1-bit x k-bit MACs).
    pub input_bits: Option<u32>,
    /// Multiply-accumulates of one image with binary weights.
    pub binary_macs: u64,
    /// Multiply-accumulates of one image with float weights.
    pub float_macs: u64,
    /// Parameter memory while training: every parameter as f32.
    pub trained_bytes: u64,
    /// Bytes of this layer's tensors in the exported file.
    pub exported: ExportedBytes,
    /// The exported unit this row is (its `units.N.*` tensors), if any.
    #[serde(skip)]
    unit: Option<usize>,
}

/// Sums over all layers, and the exported file's size.
#[derive(Clone, Debug, Serialize)]
pub struct Totals {
    pub binary_params: u64,
    pub float_params: u64,
    pub non_trainable_params: u64,
    pub binary_macs: u64,
    /// Binary MACs by the bits k of their inputs (1-bit x k-bit).
    pub binary_macs_by_input_bits: std::collections::BTreeMap<u32, u64>,
    pub float_macs: u64,
    /// float_macs / (binary_macs + float_macs).
    pub float_mac_share: f64,
    pub trained_bytes: u64,
    pub exported: ExportedBytes,
    /// The safetensors header: its length word and JSON (tensor index and metadata).
    pub header_bytes: u64,
    /// The exported file: the layers' tensors plus the header.
    pub file_bytes: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModelSummary {
    /// Where the model came from: `flags`, or the path given.
    pub source: String,
    pub model: ModelConfig,
    pub layers: Vec<LayerRow>,
    pub totals: Totals,
}

/// What to summarize.
pub enum Source {
    /// A model described by its configuration (fresh weights; sizes do not depend on them).
    Config(ModelConfig),
    /// A run directory, checkpoint file or exported model file.
    Path(PathBuf),
}

/// Whether `path` is an exported integer model (rather than a checkpoint or run directory).
pub fn is_exported(path: &Path) -> bool {
    path.is_file()
        && std::fs::read(path).ok().is_some_and(|b| {
            safetensors::SafeTensors::read_metadata(&b).is_ok_and(|(_, h)| {
                h.metadata()
                    .as_ref()
                    .and_then(|m| m.get("format"))
                    .is_some_and(|f| f == EXPORT_FORMAT)
            })
        })
}

/// The model configuration stored in an exported model file.
pub fn exported_config(bytes: &[u8], path: &Path) -> Result<ModelConfig> {
    let bad = |m: String| Error::data(path, m);
    let (_, header) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let cfg = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("model_config"))
        .ok_or_else(|| bad("metadata has no \"model_config\"".into()))?;
    let cfg: ModelConfig =
        serde_json::from_str(cfg).map_err(|e| bad(format!("model_config: {e}")))?;
    cfg.validate()?;
    Ok(cfg)
}

/// A model and the bytes of its exported file, from any [`Source`]. Checkpoints are
/// restored and folded as `pixembed export` does; an exported file is read as it is.
pub fn load(gpu: &Gpu, source: &Source) -> Result<(Model, Vec<u8>, String)> {
    match source {
        Source::Config(cfg) => {
            // Folding consumes a model: one is built for the export, one to describe.
            let model = Model::new(gpu, cfg, 0)?;
            let bytes = export_bytes(gpu, Model::new(gpu, cfg, 0)?)?;
            Ok((model, bytes, "flags".into()))
        }
        Source::Path(p) if is_exported(p) => {
            let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
            let model = Model::new(gpu, &exported_config(&bytes, p)?, 0)?;
            Ok((model, bytes, p.display().to_string()))
        }
        Source::Path(p) => {
            // Folding consumes a model: one is restored for the export, one to describe.
            let loaded = checkpoint::load(p)?;
            let restored = || -> Result<Model> {
                let mut m = Model::new(gpu, &loaded.model, 0)?;
                loaded.restore(gpu, &mut m)?;
                Ok(m)
            };
            let bytes = export_bytes(gpu, restored()?)?;
            Ok((restored()?, bytes, p.display().to_string()))
        }
    }
}

/// The bytes `pixembed export` writes for `model`.
pub fn export_bytes(gpu: &Gpu, model: Model) -> Result<Vec<u8>> {
    crate::infer::fold_model(gpu, model)?.to_bytes(gpu)
}

/// Summarize a model from any [`Source`].
pub fn summarize(gpu: &Gpu, source: &Source) -> Result<ModelSummary> {
    let (mut model, bytes, name) = load(gpu, source)?;
    summarize_model(&mut model, &bytes, &name)
}

/// Binary, float and (of the float) non-trainable scalars of the parameters `visit` hands
/// over.
fn count(visit: impl FnOnce(&mut dyn FnMut(&mut Param))) -> (u64, u64, u64) {
    let (mut b, mut f, mut stat) = (0u64, 0u64, 0u64);
    visit(&mut |p: &mut Param| {
        let n = p.value.numel() as u64;
        match p.kind {
            ParamKind::Latent => b += n,
            ParamKind::Stat => {
                f += n;
                stat += n
            }
            _ => f += n,
        }
    });
    (b, f, stat)
}

fn row(
    name: &str,
    kind: String,
    output: Vec<usize>,
    (binary_params, float_params, non_trainable_params): (u64, u64, u64),
    macs: u64,
    binary_bits: Option<u32>,
    unit: Option<usize>,
) -> LayerRow {
    LayerRow {
        name: name.into(),
        kind,
        output,
        binary_params,
        float_params,
        non_trainable_params,
        input_bits: binary_bits,
        binary_macs: if binary_bits.is_some() { macs } else { 0 },
        float_macs: if binary_bits.is_some() { 0 } else { macs },
        trained_bytes: 4 * (binary_params + float_params),
        exported: ExportedBytes::default(),
        unit,
    }
}

/// The summary of `model`, whose exported file is `file`.
pub fn summarize_model(model: &mut Model, file: &[u8], source: &str) -> Result<ModelSummary> {
    let cfg = model.cfg.clone();
    let [h, w, _] = cfg.input;
    let mut rows = Vec::new();
    let mut unit = 0usize;

    // First layer: encoding (+ table), conv, batch-norm, quantizer.
    let first = &mut model.first;
    let spec = first.unit.conv.spec;
    let g = spec.geom(&[1, h, w, spec.c]);
    let (mut hw, mut c) = ((g.ho(), g.wo()), spec.o);
    let float_first = cfg.first_layer == FirstLayerKind::Float;
    let variant = format!("{:?}", cfg.first_layer).to_lowercase();
    rows.push(row(
        "first",
        format!(
            "{variant} -> {} conv {k}x{k}/{} ({} ch in)",
            if float_first { "float" } else { "binary" },
            spec.stride,
            spec.c,
            k = spec.k
        ),
        vec![hw.0, hw.1, c],
        count(|f| first.visit(f)),
        g.macs(),
        if float_first {
            None
        } else {
            first.unit.conv.in_bits
        },
        (!float_first).then(|| {
            unit += 1;
            unit - 1
        }),
    ));
    let body_bits = Some(cfg.act_bits);
    for layer in &mut model.body {
        let mut conv_row = |name: &str, shortcut: bool, spec: crate::nn::conv::ConvSpec, n, u| {
            let g = spec.geom(&[1, hw.0, hw.1, spec.c]);
            let r = row(
                name,
                format!(
                    "binary conv {}x{}/{}{}",
                    spec.k,
                    spec.k,
                    spec.stride,
                    if shortcut { " + shortcut" } else { "" }
                ),
                vec![g.ho(), g.wo(), spec.o],
                n,
                g.macs(),
                body_bits,
                Some(u),
            );
            hw = (g.ho(), g.wo());
            c = spec.o;
            r
        };
        match layer {
            BodyLayer::Plain(p) => {
                let name = p.conv.w.name.trim_end_matches(".conv.weight").to_string();
                let n = count(|f| p.visit(f));
                rows.push(conv_row(&name, false, p.conv.spec, n, unit));
                unit += 1;
            }
            BodyLayer::Block(b) => {
                let name = &b.unit1.conv.w.name;
                let block = name.trim_end_matches(".conv1.weight").to_string();
                let n1 = count(|f| b.unit1.visit(f));
                rows.push(conv_row(
                    &format!("{block}.conv1"),
                    false,
                    b.unit1.conv.spec,
                    n1,
                    unit,
                ));
                let n2 = count(|f| {
                    b.conv2.visit(f);
                    b.bn2.visit(f);
                });
                rows.push(conv_row(
                    &format!("{block}.conv2"),
                    true,
                    b.conv2.spec,
                    n2,
                    unit + 1,
                ));
                unit += 2;
            }
            BodyLayer::Pool(_) => {
                hw = ((hw.0 - 2) / 2 + 1, (hw.1 - 2) / 2 + 1);
                rows.push(row(
                    "pool",
                    "max pool 2x2/2".into(),
                    vec![hw.0, hw.1, c],
                    (0, 0, 0),
                    0,
                    None,
                    Some(unit),
                ));
                unit += 1;
            }
        }
    }
    let head = &mut model.head;
    let binary_head = head.kind == LastLayer::Binary;
    rows.push(row(
        "head",
        if binary_head {
            "avg pool -> binary linear -> batch-norm".into()
        } else {
            "avg pool -> float linear + bias".into()
        },
        vec![cfg.classes],
        count(|f| head.visit(f)),
        (c * cfg.classes) as u64,
        binary_head.then_some(cfg.act_bits),
        None,
    ));
    // Number the repeated pooling rows.
    let mut pools = 0;
    for r in rows.iter_mut().filter(|r| r.name == "pool") {
        pools += 1;
        r.name = format!("pool{pools}");
    }

    let header_bytes = attribute(&mut rows, file, float_first)?;
    let mut t = Totals {
        binary_params: 0,
        float_params: 0,
        non_trainable_params: 0,
        binary_macs: 0,
        binary_macs_by_input_bits: Default::default(),
        float_macs: 0,
        float_mac_share: 0.0,
        trained_bytes: 0,
        exported: ExportedBytes::default(),
        header_bytes,
        file_bytes: file.len() as u64,
    };
    for r in &rows {
        t.binary_params += r.binary_params;
        t.float_params += r.float_params;
        t.non_trainable_params += r.non_trainable_params;
        t.binary_macs += r.binary_macs;
        if let Some(k) = r.input_bits {
            *t.binary_macs_by_input_bits.entry(k).or_default() += r.binary_macs;
        }
        t.float_macs += r.float_macs;
        t.trained_bytes += r.trained_bytes;
        t.exported.add(&r.exported);
    }
    let macs = t.binary_macs + t.float_macs;
    t.float_mac_share = if macs > 0 {
        t.float_macs as f64 / macs as f64
    } else {
        0.0
    };
    Ok(ModelSummary {
        source: source.into(),
        model: cfg,
        layers: rows,
        totals: t,
    })
}

/// Give every tensor of the exported `file` to its row; returns the header's bytes.
fn attribute(rows: &mut [LayerRow], file: &[u8], float_first: bool) -> Result<u64> {
    let bad = |m: String| Error::Invalid(format!("exported model: {m}"));
    let st = safetensors::SafeTensors::deserialize(file).map_err(|e| bad(e.to_string()))?;
    let mut data = 0u64;
    for (name, view) in st.tensors() {
        let n = view.data().len() as u64;
        data += n;
        let last = rows.len() - 1;
        let (index, slot): (usize, fn(&mut ExportedBytes) -> &mut u64) = if name == "lut.codes" {
            (0, |e| &mut e.table)
        } else if name.starts_with("head.") {
            (last, |e| &mut e.float)
        } else if float_first && name.starts_with("first.") {
            (0, |e| &mut e.float)
        } else if let Some(rest) = name.strip_prefix("units.") {
            let (i, what) = rest
                .split_once('.')
                .ok_or_else(|| bad(format!("tensor {name}")))?;
            let i: usize = i.parse().map_err(|_| bad(format!("tensor {name}")))?;
            let index = rows
                .iter()
                .position(|r| r.unit == Some(i))
                .ok_or_else(|| bad(format!("tensor {name} belongs to no layer")))?;
            let slot: fn(&mut ExportedBytes) -> &mut u64 = match what {
                "weight" => |e| &mut e.weights,
                _ => |e| &mut e.thresholds,
            };
            (index, slot)
        } else {
            return Err(bad(format!("tensor {name} belongs to no layer")));
        };
        *slot(&mut rows[index].exported) += n;
    }
    Ok(file.len() as u64 - data)
}

/// Thousands separated by commas.
pub fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Bytes as B, KiB or MiB.
pub fn human_bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1048576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.2} MiB", n as f64 / 1048576.0),
    }
}

/// MACs as plain, K or M.
fn human_count(n: u64) -> String {
    match n {
        0 => "0".into(),
        1..10_000 => n.to_string(),
        10_000..1_000_000 => format!("{:.1}K", n as f64 / 1e3),
        _ => format!("{:.2}M", n as f64 / 1e6),
    }
}

impl ModelSummary {
    /// The table `pixembed summary` prints.
    pub fn render(&self) -> String {
        let m = &self.model;
        let mut out = String::new();
        let [h, w, c] = m.input;
        let _ = writeln!(
            out,
            "{}: {} width {}, first layer {:?}{}, last layer {:?}, {}-bit activations, \
             input {h}x{w}x{c}, {} classes",
            self.source,
            m.arch_label(),
            m.width,
            m.first_layer,
            match m.first_layer {
                FirstLayerKind::Embed => format!(
                    " (D {}, {}-bit, {:?} table)",
                    m.embed_dim, m.embed_bits, m.embed_table
                ),
                FirstLayerKind::Thermometer => format!(" ({} levels)", m.embed_dim),
                FirstLayerKind::Naive => format!(" ({}-bit)", m.embed_bits),
                _ => String::new(),
            },
            m.last_layer,
            m.act_bits,
            m.classes
        );
        let line = format!(
            "{:<20} {:<40} {:<12} {:>10} {:>10} {:>5} {:>10} {:>10} {:>11} {:>11}",
            "layer",
            "kind",
            "output",
            "bin params",
            "f32 params",
            "1xk",
            "bin MACs",
            "f32 MACs",
            "trained",
            "exported"
        );
        let rule = "-".repeat(line.len());
        let _ = writeln!(out, "{line}\n{rule}");
        let shape = |s: &[usize]| {
            s.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join("x")
        };
        for r in &self.layers {
            let _ = writeln!(
                out,
                "{:<20} {:<40} {:<12} {:>10} {:>10} {:>5} {:>10} {:>10} {:>11} {:>11}",
                r.name,
                r.kind,
                shape(&r.output),
                grouped(r.binary_params),
                grouped(r.float_params),
                r.input_bits.map_or("-".into(), |k| format!("1x{k}")),
                human_count(r.binary_macs),
                human_count(r.float_macs),
                human_bytes(r.trained_bytes),
                human_bytes(r.exported.total()),
            );
        }
        let t = &self.totals;
        let _ = writeln!(out, "{rule}");
        let _ = writeln!(
            out,
            "{:<20} {:<40} {:<12} {:>10} {:>10} {:>5} {:>10} {:>10} {:>11} {:>11}",
            "total",
            "",
            "",
            grouped(t.binary_params),
            grouped(t.float_params),
            "",
            human_count(t.binary_macs),
            human_count(t.float_macs),
            human_bytes(t.trained_bytes),
            human_bytes(t.exported.total()),
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "MACs per image: {} binary (1-bit weights; {}), {} float; float share {:.2}%",
            grouped(t.binary_macs),
            t.binary_macs_by_input_bits
                .iter()
                .rev()
                .map(|(k, n)| format!("1x{k}: {}", human_count(*n)))
                .collect::<Vec<_>>()
                .join(", "),
            grouped(t.float_macs),
            100.0 * t.float_mac_share
        );
        let _ = writeln!(
            out,
            "parameters: {} binary + {} float = {} ({} trainable, {} batch-norm statistics); \
             as trained (f32 latent): {}",
            grouped(t.binary_params),
            grouped(t.float_params),
            grouped(t.binary_params + t.float_params),
            grouped(t.binary_params + t.float_params - t.non_trainable_params),
            grouped(t.non_trainable_params),
            human_bytes(t.trained_bytes)
        );
        let e = &t.exported;
        let _ = writeln!(
            out,
            "exported file: {} bytes ({}) = packed weights {} + thresholds {} + first-layer \
             table {} + float tensors {} + header {}",
            grouped(t.file_bytes),
            human_bytes(t.file_bytes),
            grouped(e.weights),
            grouped(e.thresholds),
            grouped(e.table),
            grouped(e.float),
            grouped(t.header_bytes)
        );
        let _ = writeln!(
            out,
            "compression: {:.1}x smaller than the f32 parameters",
            t.trained_bytes as f64 / t.file_bytes.max(1) as f64
        );
        out
    }
}
