//! The `pixembed` command line: parse, call the library, print.

use anyhow::{Context, Result};
use clap::Parser;
use pixembed::gpu::{self, Gpu};
use pixembed::infer::IntModel;
use pixembed::nn::{FirstLayerKind, Model};
use pixembed::train::checkpoint::{self, DataSettings};
use pixembed::train::{RunOptions, TrainConfig, Trainer};
use std::path::PathBuf;

mod args;
mod bench_cmd;
mod insight_cmd;
use args::{Cli, Command, DeviceArgs, EvalArgs, ExportArgs, InferArgs, TrainArgs};

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    pixembed::ops::check_env()?;
    match cli.command {
        Command::Info { json } => info(&cli.device, json),
        Command::Train(args) => train(&cli.device, &args),
        Command::Eval(args) => eval(&cli.device, &args),
        Command::Export(args) => export(&cli.device, &args),
        Command::Infer(args) => infer(&cli.device, &args),
        Command::Bench(b) => bench_cmd::bench(&cli.device, b),
        Command::Summary(a) => insight_cmd::summary(&cli.device, &a),
        Command::Plot(args::PlotCommand::Table(a)) => insight_cmd::plot_table(&cli.device, &a),
        Command::Study(args::StudyCommand::FirstLayer(a)) => {
            insight_cmd::study_first_layer(&cli.device, &a)
        }
    }
}

/// `pixembed train`: a new run, or `--resume` of an interrupted one.
fn train(dev: &DeviceArgs, a: &TrainArgs) -> Result<()> {
    if !(a.checkpoint_minutes.is_finite() && a.checkpoint_minutes >= 0.0) {
        anyhow::bail!("--checkpoint-minutes must be a number >= 0");
    }
    // A resumed run: its checkpoint first, so its data settings decide what is loaded.
    let loaded = match &a.resume {
        Some(dir) => Some(
            checkpoint::load(dir).with_context(|| format!("resuming from {}", dir.display()))?,
        ),
        None => None,
    };
    let settings = match loaded.as_ref().and_then(|l| l.data.as_ref()) {
        Some(stored) => a.data.resumed(stored)?,
        None => a.data.settings(loaded.is_none())?,
    };
    if loaded.is_none() {
        // Refuse bad settings before the data is loaded.
        new_train_config(a, &settings).validate()?;
    }
    let gpu = Gpu::new(&dev.request())?;
    let splits = args::load_data(&settings)?;
    let (tr, te) = (&splits.train, &splits.test);
    let mut trainer = match loaded {
        Some(loaded) => {
            let dir = a.resume.as_deref().unwrap_or(std::path::Path::new("."));
            let mut t = Trainer::from_checkpoint(&gpu, loaded)
                .with_context(|| format!("resuming from {}", dir.display()))?;
            if let Some(n) = a.recipe.epochs {
                if n < t.progress.epoch {
                    anyhow::bail!(
                        "--epochs {n}: the run has already completed {} epochs",
                        t.progress.epoch
                    );
                }
                // Extends (or shortens) the run; the schedule follows the new length.
                t.cfg.epochs = n;
            }
            t.cfg.validate()?;
            t.data.get_or_insert(settings);
            t
        }
        None => {
            let model = a.model_config([tr.h, tr.w, tr.c], &tr.classes);
            let mut t = Trainer::new(&gpu, &model, &new_train_config(a, &settings))?;
            t.data = Some(settings);
            t
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
            "model: {} width {}, first layer {:?}, last layer {:?}, {}-bit activations, {} parameters; {} epochs from epoch {}",
            m.arch_label(),
            m.width, m.first_layer, m.last_layer, m.act_bits, params, trainer.cfg.epochs, trainer.progress.epoch
        );
    }
    // The recipe goes to stdout, or to stderr when stdout carries JSON.
    let t = &trainer.cfg;
    let recipe = format!(
        "recipe: {:?} lr {}{} ({:?} schedule), batch {}, weight decay {}, augmentation: {}",
        t.optimizer,
        t.lr,
        t.table_lr_note(),
        t.schedule,
        t.batch,
        t.weight_decay,
        t.augment.describe(t.epochs, tr.h, tr.w, tr.c)
    );
    if a.json {
        eprintln!("{recipe}");
    } else {
        println!("{recipe}");
    }
    let opts = RunOptions {
        out,
        progress: !a.json,
        stop_after: None,
        checkpoint_steps: Some(a.checkpoint_steps).filter(|&n| n > 0),
        checkpoint_interval: Some(a.checkpoint_minutes)
            .filter(|&m| m > 0.0)
            .map(|m| std::time::Duration::from_secs_f64(m * 60.0)),
    };
    let json = a.json;
    let summary = trainer.run(tr, te, &opts, |m| {
        if json {
            let v = serde_json::json!({
                "epoch": m.epoch, "train_loss": m.train_loss, "train_top1": m.train_top1,
                "test_top1": m.test_top1, "test_top5": m.test_top5,
                "images_per_sec": m.images_per_sec, "seconds": m.seconds,
                "lr": m.lr, "sign_flips": m.sign_flips,
            });
            println!("{v}");
        } else {
            println!(
                "epoch {:>3}: loss {:.4}  train top-1 {:.2}%  test top-1 {:.2}%  top-5 {:.2}%  sign flips {:.2}%  {:.0} img/s  {:.1}s",
                m.epoch, m.train_loss, 100.0 * m.train_top1, 100.0 * m.test_top1, 100.0 * m.test_top5, 100.0 * m.sign_flips, m.images_per_sec, m.seconds
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
    if let Some(o) = summary
        .out
        .as_ref()
        .filter(|_| trainer.model.cfg.first_layer == FirstLayerKind::Embed)
    {
        // The learned table, codes beside the float values.
        let png = o.join("table.png");
        let source = pixembed::insight::summary::Source::Path(o.clone());
        if let Err(e) = pixembed::insight::plot::write_table(&gpu, &source, false, &png) {
            eprintln!("warning: could not draw {}: {e}", png.display());
        }
        match pixembed::insight::plot::table_changes(&gpu, &source) {
            Ok(Some((n, total))) => {
                eprintln!("table codes that differ from the initial table: {n} of {total}")
            }
            Ok(None) => {}
            Err(e) => eprintln!("warning: could not compare the table with its initial codes: {e}"),
        }
    }
    Ok(())
}

/// The training settings of a new run.
fn new_train_config(a: &TrainArgs, data: &DataSettings) -> TrainConfig {
    a.recipe.config(data, a.is_default_run())
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
    let readiness = gpu::needs::Readiness::of(&gpu);
    if json {
        let v = serde_json::json!({
            "adapters": all,
            "selected": gpu.summary(),
            "reason": gpu.reason(),
            "features": gpu.features(),
            "limits": gpu.key_limits(),
            "readiness": readiness,
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
        if readiness.meets_needs {
            println!("  meets pixembed's needs: yes (compute shaders, WebGPU baseline limits)");
        } else {
            println!("  meets pixembed's needs: NO");
            for s in &readiness.shortfalls {
                println!("    - {s}");
            }
        }
        println!("  paths:");
        for p in &readiness.paths {
            println!("    {}: {}", p.what, p.path);
        }
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
