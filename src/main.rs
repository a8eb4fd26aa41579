//! The `pixembed` command line: parse, call the library, print.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use pixembed::bench::first_layer::Shape;
use pixembed::data::{self, Format};
use pixembed::gpu::{self, AdapterRequest, Gpu};
use pixembed::infer::IntModel;
use pixembed::nn::{Arch, FirstLayer, LastLayer, Model, ModelConfig, TableKind};
use pixembed::train::{checkpoint, OptimizerKind, RunOptions, Schedule, TrainConfig, Trainer};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "pixembed",
    version,
    about = "Fully quantized CNNs with pixel embedding on any GPU"
)]
struct Cli {
    #[command(flatten)]
    device: DeviceArgs,
    #[command(subcommand)]
    command: Command,
}

/// Which adapter to run on (global flags).
#[derive(Args, Clone)]
struct DeviceArgs {
    /// Backend: vulkan, metal, dx12 or gl (default: all; WGPU_BACKEND is honoured)
    #[arg(long, global = true)]
    backend: Option<String>,
    /// Use the adapter whose name contains this (case-insensitive; WGPU_ADAPTER_NAME)
    #[arg(long, global = true)]
    adapter: Option<String>,
    /// Prefer a software adapter (e.g. lavapipe)
    #[arg(long, global = true)]
    cpu: bool,
}

impl DeviceArgs {
    fn request(&self) -> AdapterRequest {
        AdapterRequest {
            backend: self.backend.clone(),
            name: self.adapter.clone(),
            prefer_cpu: self.cpu,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Train a model (defaults: Fashion-MNIST, ResNet-20 with a pixel-embedding first layer)
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
    /// List adapters, show the selected one, its features and limits
    Info {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Info { json } => info(&cli.device, json),
        Command::Train(args) => train(&cli.device, &args),
        Command::Eval(args) => eval(&cli.device, &args),
        Command::Export(args) => export(&cli.device, &args),
        Command::Infer(args) => infer(&cli.device, &args),
        Command::Bench(b) => bench(&cli.device, b),
    }
}

/// Where the data comes from (train and eval).
#[derive(Args, Clone)]
struct DataArgs {
    /// Dataset path: CIFAR-10/100 binary folder, image folder (ROOT/{train,test}/CLASS/*),
    /// or IDX folder. Default: Fashion-MNIST from the Debian package, else the bundled sample
    #[arg(long)]
    data: Option<PathBuf>,
    /// Dataset format
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    dataset: Format,
    /// Use the first N training images (0: all)
    #[arg(long)]
    limit_train: Option<usize>,
    /// Use the first N test images (0: all)
    #[arg(long)]
    limit_test: Option<usize>,
    /// Resize image-folder images to HxW (shorter side, then centre crop), e.g. 64x64
    #[arg(long, value_parser = parse_hw)]
    resize: Option<(u32, u32)>,
}

fn parse_hw(s: &str) -> std::result::Result<(u32, u32), String> {
    let (h, w) = s.split_once(['x', 'X']).ok_or("expected HxW, e.g. 64x64")?;
    let p = |v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| format!("{v:?} is not a number"))
    };
    Ok((p(h)?, p(w)?))
}

/// Images the built-in default training run uses (unless --limit-train says otherwise), so
/// that `pixembed train` with no arguments finishes in a few minutes on a software adapter.
const DEFAULT_RUN_TRAIN_IMAGES: usize = 2000;

impl DataArgs {
    /// Load the data; `quick_default` applies the default run's image budget when no
    /// dataset and no limit were given. A limit of 0 means all images.
    fn load(&self, quick_default: bool) -> Result<data::Splits> {
        let (path, format) = match &self.data {
            Some(p) => (p.clone(), self.dataset),
            None => data::default_dataset()?,
        };
        let mut limit_train = self.limit_train.filter(|&n| n > 0);
        if quick_default && self.data.is_none() && self.limit_train.is_none() {
            eprintln!(
                "no --data given: training on the first {DEFAULT_RUN_TRAIN_IMAGES} images of {} (pass --limit-train 0 for all of them)",
                path.display()
            );
            limit_train = Some(DEFAULT_RUN_TRAIN_IMAGES);
        }
        let opts = data::LoadOptions {
            limit_train,
            limit_test: self.limit_test.filter(|&n| n > 0),
            resize: self.resize.map(|(h, w)| (w, h)),
            ..Default::default()
        };
        data::load(&path, format, &opts).with_context(|| format!("loading {}", path.display()))
    }
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Architecture
    #[arg(long, value_enum, default_value_t = Arch::Resnet)]
    model: Arch,
    /// ResNet depth (6n+2)
    #[arg(long, default_value_t = 20)]
    depth: usize,
    /// Base width (channels of the first stage)
    #[arg(long, default_value_t = 16)]
    width: usize,
    /// Activation bits of the body
    #[arg(long, default_value_t = 2)]
    act_bits: u32,
    /// Activation clip maximum
    #[arg(long, default_value_t = 2.0)]
    act_max: f32,
    /// First-layer variant
    #[arg(long, value_enum, default_value_t = FirstLayer::Embed)]
    first_layer: FirstLayer,
    /// Embedding dimension D (also the thermometer's levels)
    #[arg(long, default_value_t = 10)]
    embed_dim: usize,
    /// Bits of the embedded values (also the naive variant's input bits)
    #[arg(long, default_value_t = 2)]
    embed_bits: u32,
    /// One table for all input channels, or one per channel
    #[arg(long, value_enum, default_value_t = TableKind::PerChannel)]
    embed_table: TableKind,
    /// Last-layer variant (binary: fully quantized)
    #[arg(long, value_enum, default_value_t = LastLayer::Binary)]
    last_layer: LastLayer,
    #[arg(long, value_enum, default_value_t = OptimizerKind::Adam)]
    optimizer: OptimizerKind,
    /// Learning rate (peak, after warm-up)
    #[arg(long, default_value_t = 0.002)]
    lr: f32,
    /// SGD momentum
    #[arg(long, default_value_t = 0.9)]
    momentum: f32,
    /// Weight decay (float weights only)
    #[arg(long, default_value_t = 5e-4)]
    weight_decay: f32,
    #[arg(long, value_enum, default_value_t = Schedule::Cosine)]
    schedule: Schedule,
    /// Warm-up epochs (fractional allowed)
    #[arg(long, default_value_t = 0.0)]
    warmup: f32,
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// Images per step (default 128; 32 for the built-in default run, which has few images)
    #[arg(long)]
    batch: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Disable random crop and flip
    #[arg(long)]
    no_augment: bool,
    /// Directory for checkpoint, config, metrics.jsonl and curves.png
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in this directory (or checkpoint file) with its own settings
    #[arg(long)]
    resume: Option<PathBuf>,
    /// One JSON object per epoch on stdout, then a summary object
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum BenchCommand {
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
        #[arg(long, default_value_t = 7)]
        reps: usize,
        #[arg(long)]
        json: bool,
    },
    /// Whole-network inference (float first layer vs fully quantized) and training step
    Network {
        #[arg(long, value_enum, default_value_t = Arch::Resnet)]
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
        /// Training batch
        #[arg(long, default_value_t = 128)]
        train_batch: usize,
        #[arg(long, default_value_t = 3)]
        reps: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct ExportArgs {
    /// Checkpoint file or run directory
    #[arg(long)]
    model: PathBuf,
    /// Output file (safetensors; schema in docs/export.md)
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct InferArgs {
    /// Exported integer model file
    #[arg(long)]
    model: PathBuf,
    /// Image files (PNG, JPEG, ...): resized and centre-cropped to the model's input
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// How many classes to print per image
    #[arg(long, default_value_t = 3)]
    top: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct EvalArgs {
    /// Checkpoint file or run directory (or an exported model with --integer)
    #[arg(long)]
    model: PathBuf,
    /// Evaluate an exported integer model with the integer engine
    #[arg(long)]
    integer: bool,
    /// With --integer: also run this checkpoint's training graph and report how many
    /// predictions agree
    #[arg(long, requires = "integer")]
    against: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
    #[arg(long, default_value_t = 256)]
    batch: usize,
    #[arg(long)]
    json: bool,
}

fn train(dev: &DeviceArgs, a: &TrainArgs) -> Result<()> {
    let gpu = Gpu::new(&dev.request())?;
    let splits = a.data.load(true)?;
    let (tr, te) = (&splits.train, &splits.test);
    let mut trainer = match &a.resume {
        Some(dir) => Trainer::resume(&gpu, dir)
            .with_context(|| format!("resuming from {}", dir.display()))?,
        None => {
            let model = ModelConfig {
                arch: a.model,
                depth: a.depth,
                width: a.width,
                act_bits: a.act_bits,
                act_max: a.act_max,
                first_layer: a.first_layer,
                embed_dim: a.embed_dim,
                embed_bits: a.embed_bits,
                embed_table: a.embed_table,
                last_layer: a.last_layer,
                input: [tr.h, tr.w, tr.c],
                classes: tr.classes.len(),
                class_names: tr.classes.clone(),
            };
            let cfg = TrainConfig {
                epochs: a.epochs,
                batch: a.batch.unwrap_or(
                    if a.data.data.is_none() && a.data.limit_train.is_none() {
                        32
                    } else {
                        128
                    },
                ),
                lr: a.lr,
                optimizer: a.optimizer,
                momentum: a.momentum,
                weight_decay: a.weight_decay,
                schedule: a.schedule,
                warmup_epochs: a.warmup,
                seed: a.seed,
                augment: !a.no_augment,
                limit_train: a.data.limit_train,
                limit_test: a.data.limit_test,
                log_every: 20,
            };
            Trainer::new(&gpu, &model, &cfg)?
        }
    };
    let out = a.out.clone().or_else(|| {
        a.resume.as_ref().map(|r| {
            if r.is_dir() {
                r.clone()
            } else {
                r.parent().map(PathBuf::from).unwrap_or_default()
            }
        })
    });
    let params = trainer.model.parameter_count();
    if !a.json {
        println!(
            "pixembed train: {} ({} train / {} test images, {}x{}x{}, {} classes) on {}",
            splits.name,
            tr.n,
            te.n,
            tr.h,
            tr.w,
            tr.c,
            tr.classes.len(),
            gpu.summary().name
        );
        let m = &trainer.model.cfg;
        println!(
            "model: {:?} depth {} width {}, first layer {:?}, last layer {:?}, {}-bit activations, {} parameters; {} epochs from epoch {}",
            m.arch, m.depth, m.width, m.first_layer, m.last_layer, m.act_bits, params, trainer.cfg.epochs, trainer.progress.epoch
        );
    }
    let opts = RunOptions {
        out,
        progress: !a.json,
        stop_after: None,
    };
    let json = a.json;
    let summary = trainer.run(tr, te, &opts, |m| {
        if json {
            let v = serde_json::json!({
                "epoch": m.epoch, "train_loss": m.train_loss, "train_top1": m.train_top1,
                "test_top1": m.test_top1, "test_top5": m.test_top5,
                "images_per_sec": m.images_per_sec, "seconds": m.seconds,
            });
            println!("{v}");
        } else {
            println!(
                "epoch {:>3}: loss {:.4}  train top-1 {:.2}%  test top-1 {:.2}%  top-5 {:.2}%  {:.0} img/s  {:.1}s",
                m.epoch, m.train_loss, 100.0 * m.train_top1, 100.0 * m.test_top1, 100.0 * m.test_top5, m.images_per_sec, m.seconds
            );
        }
    })?;
    if json {
        println!("{}", serde_json::json!({ "summary": summary }));
    } else {
        println!(
            "test accuracy: top-1 {:.2}%  top-5 {:.2}%  ({} epochs, {:.0} img/s, {:.1}s)",
            100.0 * summary.final_test_top1,
            100.0 * summary.final_test_top5,
            summary.epochs,
            summary.images_per_sec,
            summary.seconds
        );
        if let Some(o) = &summary.out {
            println!("saved to {}", o.display());
        }
    }
    Ok(())
}

fn eval(dev: &DeviceArgs, a: &EvalArgs) -> Result<()> {
    let gpu = Gpu::new(&dev.request())?;
    let splits = a.data.load(false)?;
    let mut agreement = None;
    let (top1, top5) = if a.integer {
        let mut m = IntModel::load(&gpu, &a.model)?;
        let p = pixembed::infer::engine::predict_dataset(&gpu, &mut m, &splits.test, a.batch)?;
        if let Some(ckpt) = &a.against {
            let loaded = checkpoint::load(ckpt)?;
            let mut model = Model::new(&gpu, &loaded.model, 0)?;
            loaded.restore(&gpu, &mut model)?;
            let graph = pixembed::train::predict(&gpu, &mut model, &splits.test, a.batch)?;
            let same = graph.iter().zip(&p.classes).filter(|(a, b)| a == b).count();
            let (gt1, _) = pixembed::train::evaluate(&gpu, &mut model, &splits.test, a.batch)?;
            agreement = Some((same, graph.len(), gt1));
        }
        (p.top1, p.top5)
    } else {
        let loaded = checkpoint::load(&a.model)?;
        let mut model = Model::new(&gpu, &loaded.model, 0)?;
        loaded.restore(&gpu, &mut model)?;
        pixembed::train::evaluate(&gpu, &mut model, &splits.test, a.batch)?
    };
    if let Some((same, n, graph_top1)) = agreement {
        if a.json {
            let v = serde_json::json!({ "agree": same, "n": n, "graph_top1": graph_top1, "integer_top1": top1 });
            println!("{v}");
        } else {
            println!(
                "integer engine vs training graph: {same} of {n} predictions agree; top-1 {:.2}% vs {:.2}%",
                100.0 * top1,
                100.0 * graph_top1
            );
        }
    }
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "top1": top1, "top5": top5, "n": splits.test.n })
        );
    } else {
        println!(
            "{}: top-1 {:.2}%  top-5 {:.2}%  on {} test images",
            a.model.display(),
            100.0 * top1,
            100.0 * top5,
            splits.test.n
        );
    }
    Ok(())
}

fn info(dev: &DeviceArgs, json: bool) -> Result<()> {
    let req = dev.request();
    let instance = gpu::adapter::instance_for(&req)?;
    let all: Vec<_> = gpu::adapter::enumerate(&instance)
        .iter()
        .map(|a| gpu::AdapterSummary::of(&a.get_info()))
        .collect();
    let gpu = Gpu::new(&req)?;
    if json {
        let v = serde_json::json!({
            "adapters": all,
            "selected": gpu.summary(),
            "reason": gpu.reason(),
            "features": gpu.features(),
            "limits": gpu.key_limits(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("adapters:");
        for a in &all {
            println!("  {a}");
        }
        println!("selected: {}", gpu.summary());
        println!("  why: {}", gpu.reason());
        println!("  features: {:?}", gpu.features());
        println!("  limits: {:#?}", gpu.key_limits());
    }
    Ok(())
}

fn export(dev: &DeviceArgs, a: &ExportArgs) -> Result<()> {
    let gpu = Gpu::new(&dev.request())?;
    let loaded = checkpoint::load(&a.model)?;
    let mut model = Model::new(&gpu, &loaded.model, 0)?;
    loaded.restore(&gpu, &mut model)?;
    let mut int = pixembed::infer::fold_model(&gpu, model)?;
    int.save(&gpu, &a.out)?;
    let bytes = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    println!(
        "exported {} units to {} ({bytes} bytes)",
        int.units.len(),
        a.out.display()
    );
    Ok(())
}

/// Top classes with scores, or why the image could not be read.
type Answer = std::result::Result<Vec<(String, f32)>, String>;

fn infer(dev: &DeviceArgs, a: &InferArgs) -> Result<()> {
    let gpu = Gpu::new(&dev.request())?;
    let mut m = IntModel::load(&gpu, &a.model)?;
    let [h, w, c] = m.cfg.input;
    let mut ok_images = Vec::new();
    let mut pixels = Vec::new();
    let mut failures = 0;
    let mut results: Vec<(PathBuf, Answer)> = Vec::new();
    for path in &a.images {
        match pixembed::infer::image::load_for_model(path, h, w, c) {
            Ok(px) => {
                pixels.extend(px);
                ok_images.push(path.clone());
            }
            Err(e) => {
                failures += 1;
                results.push((path.clone(), Err(e.to_string())));
            }
        }
    }
    if !ok_images.is_empty() {
        let t = gpu::Tensor::from_slice(&gpu, &[ok_images.len(), h, w, c], &pixels)?;
        let scores = m.scores(&gpu, &t)?.to_vec::<f32>(&gpu)?;
        let k = m.cfg.classes;
        for (i, path) in ok_images.into_iter().enumerate() {
            let row = &scores[i * k..(i + 1) * k];
            let mut idx: Vec<usize> = (0..k).collect();
            idx.sort_by(|&x, &y| row[y].total_cmp(&row[x]).then(x.cmp(&y)));
            let top = idx
                .iter()
                .take(a.top.max(1))
                .map(|&j| {
                    (
                        m.cfg
                            .class_names
                            .get(j)
                            .cloned()
                            .unwrap_or_else(|| j.to_string()),
                        row[j],
                    )
                })
                .collect();
            results.push((path, Ok(top)));
        }
    }
    results.sort_by_key(|(p, _)| a.images.iter().position(|q| q == p));
    for (path, r) in &results {
        match (r, a.json) {
            (Ok(top), true) => println!(
                "{}",
                serde_json::json!({ "image": path, "top": top.iter().map(|(n, s)| serde_json::json!({"class": n, "score": s})).collect::<Vec<_>>() })
            ),
            (Err(e), true) => println!("{}", serde_json::json!({ "image": path, "error": e })),
            (Ok(top), false) => println!(
                "{}: {}",
                path.display(),
                top.iter()
                    .map(|(n, s)| format!("{n} ({s:.3})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (Err(e), false) => eprintln!("{}: error: {e}", path.display()),
        }
    }
    if failures > 0 {
        anyhow::bail!("{failures} of {} images could not be read", a.images.len());
    }
    Ok(())
}

fn bench(dev: &DeviceArgs, b: BenchCommand) -> Result<()> {
    let gpu = Gpu::new(&dev.request())?;
    match b {
        BenchCommand::Ops { reps, json } => {
            let rows = pixembed::bench::ops::run_all(&gpu, reps)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "adapter": gpu.summary(), "ops": rows.iter().map(|r| serde_json::json!({"op": r.op, "shape": r.shape, "timing": r.timing, "rate": r.rate(), "unit": r.unit})).collect::<Vec<_>>() })
                );
            } else {
                print!("{}", pixembed::bench::report::ops(gpu.summary(), &rows));
            }
        }
        BenchCommand::FirstLayer {
            shape,
            batch,
            out_channels,
            reps,
            json,
        } => {
            let batch = batch.unwrap_or(shape.default_batch);
            let rows = pixembed::bench::first_layer::run(&gpu, shape, batch, out_channels, reps)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "adapter": gpu.summary(), "batch": batch, "rows": rows })
                );
            } else {
                print!(
                    "{}",
                    pixembed::bench::report::first_layer(
                        gpu.summary(),
                        shape,
                        batch,
                        out_channels,
                        &rows
                    )
                );
            }
        }
        BenchCommand::Network {
            model,
            depth,
            width,
            input,
            batch,
            train_batch,
            reps,
            json,
        } => {
            let dims: Vec<usize> = input
                .split(['x', 'X'])
                .map(|v| v.trim().parse())
                .collect::<std::result::Result<_, _>>()
                .context("--input must be HxWxC, e.g. 32x32x3")?;
            let [h, w, c]: [usize; 3] = dims
                .try_into()
                .map_err(|_| anyhow::anyhow!("--input must be HxWxC, e.g. 32x32x3"))?;
            let rows = pixembed::bench::network::run(
                &gpu,
                model,
                depth,
                width,
                [h, w, c],
                batch,
                train_batch,
                reps,
            )?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "adapter": gpu.summary(), "rows": rows })
                );
            } else {
                print!("{}", pixembed::bench::report::network(gpu.summary(), &rows));
            }
        }
    }
    Ok(())
}
