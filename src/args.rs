//! The command line's arguments (clap): global device flags, the subcommands and their
//! options, and how data arguments become a dataset.

use anyhow::{Context, Result};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use pixembed::bench::first_layer::Shape;
use pixembed::data::{self, AugmentKind, Format};
use pixembed::gpu::AdapterRequest;
use pixembed::nn::{Arch, FirstLayerKind, LastLayer, ModelConfig, TableKind};
use pixembed::train::checkpoint::DataSettings;
use pixembed::train::{OptimizerKind, Schedule, TrainConfig};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "pixembed",
    version,
    about = "Fully quantized CNNs with pixel embedding on any GPU"
)]
pub struct Cli {
    #[command(flatten)]
    pub device: DeviceArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Which adapter to run on (global flags).
#[derive(Args, Clone)]
pub struct DeviceArgs {
    /// Backend: vulkan, metal, dx12 or gl (default: all; WGPU_BACKEND is honoured)
    #[arg(long, global = true)]
    pub backend: Option<String>,
    /// Use the adapter whose name contains this (case-insensitive; WGPU_ADAPTER_NAME)
    #[arg(long, global = true)]
    pub adapter: Option<String>,
    /// Prefer a software adapter (e.g. lavapipe)
    #[arg(long, global = true)]
    pub cpu: bool,
    /// Device limits: adapter (its own) or webgpu (the portable baseline; PIXEMBED_LIMITS)
    #[arg(long, global = true)]
    pub limits: Option<String>,
}

impl DeviceArgs {
    pub fn request(&self) -> AdapterRequest {
        AdapterRequest {
            backend: self.backend.clone(),
            name: self.adapter.clone(),
            prefer_cpu: self.cpu,
            limits: self.limits.clone(),
        }
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Train a model
    ///
    /// With no --data and no --limit-train this is the built-in default run: a fully quantized
    /// VGG-small (pixel-embedding first layer, binary weights and 2-bit activations throughout,
    /// binary last layer), one epoch over the first 16,000 Fashion-MNIST training images
    /// (Debian's dataset-fashion-mnist, else the bundled sample), batch 64, Adam lr 0.005
    /// cosine, no augmentation; it reaches over 80% test top-1 in under 3 minutes on a 2-core
    /// software adapter. Naming data gives the general defaults: ResNet-20, batch 128.
    /// Recipe and measurements: docs/training.md.
    #[command(verbatim_doc_comment)]
    Train(Box<TrainArgs>),
    /// Evaluate a checkpoint (or, with --integer, an exported model) on a test split
    Eval(EvalArgs),
    /// Fold a checkpoint into an integer model file (packed weights, thresholds, tables)
    Export(ExportArgs),
    /// Classify image files with an exported integer model
    Infer(InferArgs),
    /// Benchmarks: op rates, first-layer variants, whole networks
    #[command(subcommand)]
    Bench(BenchCommand),
    /// A network's cost per layer: binary and float parameters, MACs, memory as trained and
    /// as exported (larq's `summary`, plus the table and the exported file's exact size)
    Summary(SummaryArgs),
    /// Pictures of a network
    #[command(subcommand)]
    Plot(PlotCommand),
    /// Studies that train and compare several networks
    #[command(subcommand)]
    Study(StudyCommand),
    /// List adapters, show the selected one, its features and limits
    Info {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Clone)]
pub struct DataArgs {
    /// Dataset path: CIFAR-10/100 binary folder, image folder (ROOT/{train,test}/CLASS/*),
    /// or IDX folder. Default: Fashion-MNIST from the Debian package, else the bundled sample
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Dataset format
    #[arg(long, value_parser = choice::<Format>(), default_value_t = Format::Auto)]
    pub dataset: Format,
    /// Use the first N training images (0: all)
    #[arg(long)]
    pub limit_train: Option<usize>,
    /// Use the first N test images (0: all)
    #[arg(long)]
    pub limit_test: Option<usize>,
    /// Resize image-folder images to HxW (shorter side, then centre crop), e.g. 64x64
    #[arg(long, value_parser = parse_hw)]
    pub resize: Option<(u32, u32)>,
    /// CIFAR-100: classify the 20 superclasses (coarse labels) instead of the 100 classes
    #[arg(long)]
    pub coarse_labels: bool,
}

/// The value parser of a flag that takes one of a library enum's variants: their kebab-case
/// names, each with its doc comment as help (the library's enums know nothing of clap).
pub fn choice<T>() -> impl TypedValueParser<Value = T>
where
    T: strum::VariantArray + strum::EnumMessage + std::str::FromStr + Copy + Send + Sync + 'static,
    &'static str: From<T>,
    <T as std::str::FromStr>::Err: std::error::Error + Send + Sync + 'static,
{
    let values = T::VARIANTS.iter().map(|&v| {
        let value = PossibleValue::new(<&'static str>::from(v));
        match v.get_documentation() {
            // Doc comments come line by line; help is one line without the final period,
            // as clap writes a flag's own doc comment.
            Some(doc) => {
                let line = doc.split_whitespace().collect::<Vec<_>>().join(" ");
                value.help(line.strip_suffix('.').unwrap_or(&line).to_string())
            }
            None => value,
        }
    });
    PossibleValuesParser::new(values).try_map(|name| name.parse::<T>())
}

pub fn parse_hw(s: &str) -> std::result::Result<(u32, u32), String> {
    let (h, w) = s.split_once(['x', 'X']).ok_or("expected HxW, e.g. 64x64")?;
    let p = |v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| format!("{v:?} is not a number"))
    };
    Ok((p(h)?, p(w)?))
}

/// The built-in default run: `pixembed train` with no --data and no --limit-train trains a
/// fully quantized VGG-small (pixel-embedding first layer, binary body and head) for one
/// epoch over the first 16,000 Fashion-MNIST images at batch 64, Adam lr 0.005 cosine: above
/// 80% test top-1 in under 3 minutes on a 2-core software adapter (docs/training.md).
pub mod default_run {
    use pixembed::nn::Arch;
    pub const TRAIN_IMAGES: usize = 16_000;
    pub const MODEL: Arch = Arch::VggSmall;
    pub const BATCH: usize = 64;
}

/// Defaults of runs that name their data (or a limit).
pub const DEFAULT_MODEL: Arch = Arch::Resnet;
pub const DEFAULT_BATCH: usize = 128;

impl TrainArgs {
    /// Whether this is the built-in default run (no --data, no --limit-train).
    pub fn is_default_run(&self) -> bool {
        self.data.is_default_run()
    }
    /// The model of a new run on `input` images of `classes`.
    pub fn model_config(&self, input: [usize; 3], classes: &[String]) -> ModelConfig {
        self.net.config(self.data.default_arch(), input, classes)
    }
}

impl DataArgs {
    /// Whether these flags select the built-in default run (no --data, no --limit-train).
    pub fn is_default_run(&self) -> bool {
        self.data.is_none() && self.limit_train.is_none()
    }
    /// The architecture when --model is not given.
    pub fn default_arch(&self) -> Arch {
        if self.is_default_run() {
            default_run::MODEL
        } else {
            DEFAULT_MODEL
        }
    }

    /// Load the data; `quick_default` applies the default run's image budget when no
    /// dataset and no limit were given. A limit of 0 means all images.
    pub fn load(&self, quick_default: bool) -> Result<data::Splits> {
        load_data(&self.settings(quick_default)?)
    }

    /// What to load: the dataset, its format and limits (see [`DataArgs::load`]).
    pub fn settings(&self, quick_default: bool) -> Result<DataSettings> {
        let (path, format) = match &self.data {
            Some(p) => (p.clone(), self.dataset),
            None => data::default_dataset()?,
        };
        let mut limit_train = self.limit_train.filter(|&n| n > 0);
        if quick_default && self.data.is_none() && self.limit_train.is_none() {
            eprintln!(
                "no --data given: the built-in default run, on the first {} images of {} (pass --limit-train 0 for all of them)",
                default_run::TRAIN_IMAGES,
                path.display()
            );
            limit_train = Some(default_run::TRAIN_IMAGES);
        }
        Ok(DataSettings {
            path,
            format,
            limit_train,
            limit_test: self.limit_test.filter(|&n| n > 0),
            resize: self.resize.map(|(h, w)| (w, h)),
            coarse_labels: self.coarse_labels,
        })
    }

    /// The data of a resumed run: its stored settings; an option given on the command line
    /// must agree with them.
    pub fn resumed(&self, stored: &DataSettings) -> Result<DataSettings> {
        let differs = |what: &str, given: String, was: String| {
            anyhow::anyhow!(
                "{what} {given} differs from the run's {was}: a resumed run trains on its own \
                 data (leave the option out, or start a new run)"
            )
        };
        if let Some(p) = &self.data {
            let same = |a: &std::path::Path, b: &std::path::Path| {
                a == b
                    || a.canonicalize()
                        .ok()
                        .is_some_and(|a| Some(a) == b.canonicalize().ok())
            };
            if !same(p, &stored.path) {
                return Err(differs(
                    "--data",
                    p.display().to_string(),
                    stored.path.display().to_string(),
                ));
            }
        }
        if self.dataset != Format::Auto && self.dataset != stored.format {
            return Err(differs(
                "--dataset",
                format!("{:?}", self.dataset),
                format!("{:?}", stored.format),
            ));
        }
        let show = |l: Option<usize>| l.map_or("all".to_string(), |n| n.to_string());
        for (what, given, was) in [
            ("--limit-train", self.limit_train, stored.limit_train),
            ("--limit-test", self.limit_test, stored.limit_test),
        ] {
            if let Some(n) = given {
                let n = Some(n).filter(|&n| n > 0);
                if n != was {
                    return Err(differs(what, show(n), show(was)));
                }
            }
        }
        if let Some((h, w)) = self.resize {
            if stored.resize != Some((w, h)) {
                return Err(differs(
                    "--resize",
                    format!("{h}x{w}"),
                    stored
                        .resize
                        .map_or("none".into(), |(w, h)| format!("{h}x{w}")),
                ));
            }
        }
        if self.coarse_labels && !stored.coarse_labels {
            return Err(differs(
                "--coarse-labels",
                "on".into(),
                "fine labels".into(),
            ));
        }
        Ok(stored.clone())
    }
}

/// Load the train and test splits `s` describes.
pub fn load_data(s: &DataSettings) -> Result<data::Splits> {
    let opts = data::LoadOptions {
        limit_train: s.limit_train,
        limit_test: s.limit_test,
        resize: s.resize,
        cifar100_coarse: s.coarse_labels,
        ..Default::default()
    };
    data::load(&s.path, s.format, &opts).with_context(|| format!("loading {}", s.path.display()))
}

/// The network: architecture, widths, quantization, first- and last-layer variants (the
/// flags of `train`, `summary`, `plot table` and `study`).
#[derive(Args, Clone)]
pub struct ModelArgs {
    /// Architecture [default: resnet; vgg-small for the built-in default run, and for
    /// `summary` and `plot table` without a path]
    #[arg(long, value_parser = choice::<Arch>())]
    pub model: Option<Arch>,
    /// ResNet depth (6n+2)
    #[arg(long, default_value_t = 20)]
    pub depth: usize,
    /// Base width (channels of the first stage)
    #[arg(long, default_value_t = 16)]
    pub width: usize,
    /// Activation bits of the body
    #[arg(long, default_value_t = 2)]
    pub act_bits: u32,
    /// Activation clip maximum: activations are quantized on [0, max]. Also the range of the
    /// pixel-embedding table's values (--first-layer embed)
    #[arg(long, default_value_t = 2.0)]
    pub act_max: f32,
    /// First-layer variant
    #[arg(long, value_parser = choice::<FirstLayerKind>(), default_value_t = FirstLayerKind::Embed)]
    pub first_layer: FirstLayerKind,
    /// Embedding dimension D: values per pixel and channel of --first-layer embed. For
    /// --first-layer thermometer, the number of levels (its own name: --thermometer-levels)
    #[arg(long, default_value_t = 10, visible_alias = "thermometer-levels")]
    pub embed_dim: usize,
    /// Bits of the embedded values (--first-layer embed). For --first-layer naive, the bits
    /// each pixel keeps (its own name: --naive-bits)
    #[arg(long, default_value_t = 2, visible_alias = "naive-bits")]
    pub embed_bits: u32,
    /// One table for all input channels, or one per channel
    #[arg(long, value_parser = choice::<TableKind>(), default_value_t = TableKind::PerChannel)]
    pub embed_table: TableKind,
    /// Last-layer variant (binary: fully quantized)
    #[arg(long, value_parser = choice::<LastLayer>(), default_value_t = LastLayer::Binary)]
    pub last_layer: LastLayer,
}

impl ModelArgs {
    /// The model these flags describe for `input` [H, W, C] images of `classes`;
    /// `default_arch` applies when --model is not given.
    pub fn config(&self, default_arch: Arch, input: [usize; 3], classes: &[String]) -> ModelConfig {
        ModelConfig {
            arch: self.model.unwrap_or(default_arch),
            depth: self.depth,
            width: self.width,
            act_bits: self.act_bits,
            act_max: self.act_max,
            first_layer: self.first_layer,
            embed_dim: self.embed_dim,
            embed_bits: self.embed_bits,
            embed_table: self.embed_table,
            last_layer: self.last_layer,
            input,
            classes: classes.len(),
            class_names: classes.to_vec(),
        }
    }
}

/// The training recipe: optimizer, schedule, epochs, batch, seed, augmentation.
#[derive(Args, Clone)]
pub struct RecipeArgs {
    #[arg(long, value_parser = choice::<OptimizerKind>(), default_value_t = OptimizerKind::Adam)]
    pub optimizer: OptimizerKind,
    /// Learning rate (peak, after warm-up)
    #[arg(long, default_value_t = 0.005)]
    pub lr: f32,
    /// SGD momentum
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    /// Decoupled weight decay (SGDW / AdamW: each step shrinks w by lr * wd * w) on the
    /// convolution and linear kernels, float and latent binary; never on batch-norm, biases or
    /// the embedding table. Off by default, as in Larq and Bi-Real Net
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// Multiplier on the learning rate of the pixel-embedding table (embed first layer):
    /// the table's range is [0, act-max] and Adam moves each entry by about lr per step
    #[arg(long, default_value_t = 1.0)]
    pub table_lr_scale: f32,
    #[arg(long, value_parser = choice::<Schedule>(), default_value_t = Schedule::Cosine)]
    pub schedule: Schedule,
    /// Warm-up epochs (fractional allowed)
    #[arg(long, default_value_t = 0.0)]
    pub warmup: f32,
    /// Epochs to train (default 1); with --resume, the total to reach (extends a finished run)
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Images per step [default: 128; 64 for the built-in default run]
    #[arg(long)]
    pub batch: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Training augmentation; auto: crop + flip for colour images, crop only for grayscale
    /// ones (no mirrored digits or clothing). Crop pads by size/8 (4 px at 28x28 and 32x32)
    #[arg(long, value_parser = choice::<AugmentKind>(), default_value_t = AugmentKind::Auto)]
    pub augment: AugmentKind,
}

impl RecipeArgs {
    /// The training settings of a new run on `data`; `default_run` picks the built-in
    /// default run's batch when --batch is not given.
    pub fn config(&self, data: &DataSettings, default_run: bool) -> TrainConfig {
        let batch = if default_run {
            default_run::BATCH
        } else {
            DEFAULT_BATCH
        };
        TrainConfig {
            epochs: self.epochs.unwrap_or(1),
            batch: self.batch.unwrap_or(batch),
            lr: self.lr,
            optimizer: self.optimizer,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            table_lr_scale: self.table_lr_scale,
            schedule: self.schedule,
            warmup_epochs: self.warmup,
            seed: self.seed,
            augment: self.augment,
            limit_train: data.limit_train,
            limit_test: data.limit_test,
            log_every: 20,
        }
    }
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub net: ModelArgs,
    #[command(flatten)]
    pub recipe: RecipeArgs,
    /// Directory for checkpoint, config, metrics.jsonl, curves.png (and table.png with the
    /// embed first layer)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory (or checkpoint file) with its own settings and
    /// data, from the batch where it stopped
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Also checkpoint every N optimizer steps (0: only at epoch ends and by time)
    #[arg(long, default_value_t = 0)]
    pub checkpoint_steps: u64,
    /// Also checkpoint when this many minutes have passed since the last checkpoint
    /// (0: never by time)
    #[arg(long, default_value_t = 10.0)]
    pub checkpoint_minutes: f64,
    /// One JSON object per epoch on stdout, then a summary object
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Rate of each performance-critical op on the body shape [64,32,32,64]
    Ops {
        #[arg(long, default_value_t = 5)]
        reps: usize,
        #[arg(long)]
        json: bool,
    },
    /// Each first-layer variant at inference, pixels to packed codes
    FirstLayer {
        /// cifar (32x32x3, 3x3/1), imagenet (224x224x3, 7x7/2), imagenet3 (3x3/2) or HxWxC
        #[arg(long, default_value = "cifar")]
        shape: Shape,
        /// Images per batch (default: 256 for cifar, 16 for imagenet)
        #[arg(long)]
        batch: Option<usize>,
        #[arg(long, default_value_t = 64)]
        out_channels: usize,
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// Also time the implementations the adapter's choice did not pick (and the float
        /// layer as four separate ops)
        #[arg(long)]
        all_implementations: bool,
        #[arg(long)]
        json: bool,
    },
    /// Whole-network inference (float first layer vs fully quantized) and training step
    Network {
        #[arg(long, value_parser = choice::<Arch>(), default_value_t = Arch::Resnet)]
        model: Arch,
        #[arg(long, default_value_t = 20)]
        depth: usize,
        #[arg(long, default_value_t = 16)]
        width: usize,
        /// Input HxWxC
        #[arg(long, default_value = "32x32x3")]
        input: String,
        /// Inference batch
        #[arg(long, default_value_t = 256)]
        batch: usize,
        /// Training batch (default: that of the built-in default training run, so that the
        /// whole command stays under a minute on a 2-core software adapter)
        #[arg(long, default_value_t = 32)]
        train_batch: usize,
        #[arg(long, default_value_t = 3)]
        reps: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct ExportArgs {
    /// Checkpoint file or run directory
    #[arg(long)]
    pub model: PathBuf,
    /// Output file (safetensors; schema in docs/export.md)
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct InferArgs {
    /// Exported integer model file
    #[arg(long)]
    pub model: PathBuf,
    /// Image files (PNG, JPEG, ...): resized and centre-cropped to the model's input
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// How many classes to print per image
    #[arg(long, default_value_t = 3)]
    pub top: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Checkpoint file or run directory (or an exported model with --integer)
    #[arg(long)]
    pub model: PathBuf,
    /// Evaluate an exported integer model with the integer engine
    #[arg(long)]
    pub integer: bool,
    /// With --integer: also run this checkpoint's training graph and report how many
    /// predictions agree
    #[arg(long, requires = "integer")]
    pub against: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    #[arg(long)]
    pub json: bool,
}

/// A model given by the same flags as `train` (for `summary` and `plot table`).
#[derive(Args)]
pub struct DescribedModel {
    #[command(flatten)]
    pub net: ModelArgs,
    /// Input image HxWxC of a model given by flags
    #[arg(long, default_value = "28x28x1", value_parser = parse_hwc)]
    pub input: [usize; 3],
    /// Classes of a model given by flags
    #[arg(long, default_value_t = 10)]
    pub classes: usize,
}

impl DescribedModel {
    /// The model the flags describe; without --model, the built-in default run's
    /// architecture (vgg-small).
    pub fn config(&self) -> ModelConfig {
        let names: Vec<String> = (0..self.classes).map(|i| i.to_string()).collect();
        self.net.config(default_run::MODEL, self.input, &names)
    }
}

pub fn parse_hwc(s: &str) -> std::result::Result<[usize; 3], String> {
    let p: Vec<&str> = s.split(['x', 'X']).collect();
    let n = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| format!("{v:?} is not a number"))
    };
    match p.as_slice() {
        [h, w, c] => Ok([n(h)?, n(w)?, n(c)?]),
        _ => Err("expected HxWxC, e.g. 28x28x1".into()),
    }
}

#[derive(Args)]
pub struct SummaryArgs {
    /// Training run directory, checkpoint file or exported model file; without it, the
    /// model the flags describe (default: the built-in default run's VGG-small, 28x28x1)
    pub path: Option<PathBuf>,
    #[command(flatten)]
    pub described: DescribedModel,
    /// Print JSON (the same content)
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum PlotCommand {
    /// The first layer's code table as heat maps: for each input channel, pixel value
    /// (0..255) x dimension, coloured by quantized code; beside it the float table the codes
    /// were quantized from (run directory or checkpoint of an embed model)
    Table(PlotTableArgs),
}

#[derive(Args)]
pub struct PlotTableArgs {
    /// Training run directory, checkpoint file or exported model file; without it, the
    /// encoding of the model the flags describe (e.g. --first-layer thermometer)
    pub path: Option<PathBuf>,
    #[command(flatten)]
    pub described: DescribedModel,
    /// Also draw the thermometer and naive encodings of the same D and bits, for comparison
    #[arg(long)]
    pub compare: bool,
    /// Output PNG
    #[arg(long, default_value = "table.png")]
    pub out: PathBuf,
}

#[derive(Subcommand)]
pub enum StudyCommand {
    /// Train the same network with each first-layer variant (same data, recipe and seeds),
    /// time each variant's first layer on this adapter, and write OUT/study.md (accuracy
    /// mean and spread over seeds, first-layer time and speedup over float, table and weight
    /// memory), OUT/study.json and OUT/study.png (accuracy vs first-layer time).
    ///
    /// Each run is a run directory OUT/runs/VARIANT-seedS; a rerun with the same settings
    /// skips finished runs and resumes interrupted ones. Seeds are --seed, --seed + 1, ...
    #[command(verbatim_doc_comment)]
    FirstLayer(Box<StudyArgs>),
}

#[derive(Args)]
pub struct StudyArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The network (--first-layer is replaced by each of --variants)
    #[command(flatten)]
    pub net: ModelArgs,
    #[command(flatten)]
    pub recipe: RecipeArgs,
    /// First-layer variants to train, comma-separated [default: all six]
    #[arg(long, value_parser = choice::<FirstLayerKind>(), value_delimiter = ',')]
    pub variants: Vec<FirstLayerKind>,
    /// Runs per variant (seeds --seed, --seed + 1, ...)
    #[arg(long, default_value_t = 2)]
    pub seeds: usize,
    /// Study directory (runs/, study.md, study.json, study.png)
    #[arg(long)]
    pub out: PathBuf,
    /// Images per batch of the first-layer benchmark
    #[arg(long, default_value_t = 64)]
    pub bench_batch: usize,
    /// Timed repetitions of the first-layer benchmark
    #[arg(long, default_value_t = 5)]
    pub bench_reps: usize,
}
