//! `pixembed study first-layer`: train the same network with each first-layer variant
//! (same data, recipe and seeds), time each variant's first layer on the adapter, and write
//! study.md, study.json and study.png (accuracy against first-layer time).
//!
//! Every training run lives in `OUT/runs/VARIANT-seedS` (a normal run directory:
//! checkpoint, config.json, metrics.jsonl, curves.png). A rerun with the same settings
//! skips the finished runs and resumes an interrupted one from its checkpoint; a run
//! directory trained with other settings is refused, never overwritten.

use super::summary::{self, human_bytes, Source};
use crate::bench::first_layer::{self, FirstLayerRow, Shape};
use crate::data::Splits;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::nn::{FirstLayerKind, ModelConfig};
use crate::train::checkpoint::{self, DataSettings};
use crate::train::{RunOptions, TrainConfig, Trainer};
use plotters::prelude::*;
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Every first-layer variant, in the order the study reports them.
pub const ALL_VARIANTS: [FirstLayerKind; 6] = [
    FirstLayerKind::Float,
    FirstLayerKind::Int8,
    FirstLayerKind::Naive,
    FirstLayerKind::Bitplane,
    FirstLayerKind::Thermometer,
    FirstLayerKind::Embed,
];

/// The variant's name as the command line spells it.
pub fn variant_name(v: FirstLayerKind) -> String {
    format!("{v:?}").to_lowercase()
}

/// Rounds of the first-layer benchmark (each times every variant).
pub const BENCH_ROUNDS: usize = 3;

/// What the study trains and times.
#[derive(Clone, Debug, Serialize)]
pub struct StudySettings {
    /// The network; its first layer is replaced by each variant.
    pub model: ModelConfig,
    /// The recipe; run `s` of a variant trains with seed `train.seed + s`.
    pub train: TrainConfig,
    pub data: DataSettings,
    pub variants: Vec<FirstLayerKind>,
    pub seeds: usize,
    /// Images per batch of the first-layer benchmark.
    pub bench_batch: usize,
    /// Timed repetitions of the benchmark.
    pub bench_reps: usize,
    /// The command line that started the study (shown in study.md).
    pub command: String,
}

impl StudySettings {
    fn run_configs(&self, v: FirstLayerKind, s: usize) -> (ModelConfig, TrainConfig) {
        let mut m = self.model.clone();
        m.first_layer = v;
        let mut t = self.train.clone();
        t.seed = self.train.seed + s as u64;
        (m, t)
    }
}

/// What the study reports as it goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A run starts training (`resumed`: from its checkpoint); `index` of `total` runs.
    Training {
        variant: String,
        seed: u64,
        index: usize,
        total: usize,
        resumed: bool,
    },
    /// A finished run with the same settings was found: not trained again.
    Skipped {
        variant: String,
        seed: u64,
        index: usize,
        total: usize,
    },
    /// Timing the first layers.
    Benchmarking,
}

/// One training run's result (its last epoch's metrics).
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    pub variant: String,
    pub seed: u64,
    pub dir: PathBuf,
    pub test_top1: f64,
    pub test_top5: f64,
    /// Training time of the run's epochs (metrics.jsonl).
    pub train_seconds: f64,
}

/// One variant: accuracy over seeds, first-layer speed and memory.
#[derive(Clone, Debug, Serialize)]
pub struct VariantRow {
    pub variant: String,
    pub seeds: usize,
    pub top1_mean: f64,
    /// Sample standard deviation over seeds (0 for one seed).
    pub top1_std: f64,
    pub top5_mean: f64,
    pub top5_std: f64,
    /// First-layer time of one benchmark batch: the median over the benchmark's rounds of
    /// each round's median.
    pub first_layer_ms: f64,
    pub speedup_vs_float: f64,
    /// The first-layer implementation timed.
    pub implementation: String,
    /// The exported first layer's table (frozen codes) in bytes.
    pub table_bytes: u64,
    /// The exported first layer's weights (packed bits; f32 for float) and thresholds.
    pub weight_bytes: u64,
    /// The whole exported model file.
    pub file_bytes: u64,
    /// Float share of the network's MACs.
    pub float_mac_share: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Study {
    pub settings: StudySettings,
    pub adapter: String,
    /// Training and test images.
    pub images: [usize; 2],
    /// The benchmark's input [N, H, W, C], kernel and stride.
    pub bench_input: [usize; 4],
    pub bench_kernel: usize,
    pub bench_stride: usize,
    pub rows: Vec<VariantRow>,
    pub runs: Vec<RunResult>,
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// The directory of a variant's run with seed offset `s`.
pub fn run_dir(out: &Path, v: FirstLayerKind, s: usize) -> PathBuf {
    out.join("runs")
        .join(format!("{}-seed{s}", variant_name(v)))
}

/// What every run of a study shares.
struct Context<'a> {
    gpu: &'a Gpu,
    settings: &'a StudySettings,
    splits: &'a Splits,
    progress: bool,
    on_event: &'a mut dyn FnMut(&Event),
}

/// Train (or skip, or resume) one run; its result from the run's metrics.
fn train_one(
    cx: &mut Context,
    dir: &Path,
    (v, s): (FirstLayerKind, usize),
    (index, total): (usize, usize),
) -> Result<RunResult> {
    let (gpu, settings) = (cx.gpu, cx.settings);
    let on_event = &mut *cx.on_event;
    let (mcfg, tcfg) = settings.run_configs(v, s);
    let variant = variant_name(v);
    let seed = tcfg.seed;
    let ckpt = dir.join(checkpoint::FILE_NAME);
    let mut trainer = if ckpt.exists() {
        let loaded = checkpoint::load(&ckpt)?;
        if loaded.model != mcfg
            || loaded.train != tcfg
            || loaded.data.as_ref() != Some(&settings.data)
        {
            return Err(Error::Invalid(format!(
                "{} holds a run with other settings than this study's: give the study \
                 another --out, or remove that directory",
                dir.display()
            )));
        }
        if loaded.progress.epoch >= tcfg.epochs {
            on_event(&Event::Skipped {
                variant: variant.clone(),
                seed,
                index,
                total,
            });
            let history = loaded.history.clone().unwrap_or_default();
            return result_of(&variant, seed, dir, &history);
        }
        on_event(&Event::Training {
            variant: variant.clone(),
            seed,
            index,
            total,
            resumed: true,
        });
        Trainer::from_checkpoint(gpu, loaded)?
    } else {
        on_event(&Event::Training {
            variant: variant.clone(),
            seed,
            index,
            total,
            resumed: false,
        });
        let mut t = Trainer::new(gpu, &mcfg, &tcfg)?;
        t.data = Some(settings.data.clone());
        t
    };
    let opts = RunOptions {
        out: Some(dir.to_path_buf()),
        progress: cx.progress,
        // As `train` does by default: an interrupted run loses at most ten minutes.
        checkpoint_interval: Some(std::time::Duration::from_secs(600)),
        ..RunOptions::default()
    };
    trainer.run(&cx.splits.train, &cx.splits.test, &opts, |_| {})?;
    result_of(&variant, seed, dir, &trainer.history)
}

fn result_of(
    variant: &str,
    seed: u64,
    dir: &Path,
    history: &[crate::train::metrics::EpochMetrics],
) -> Result<RunResult> {
    let last = history.last().ok_or_else(|| {
        Error::Invalid(format!("{}: the run has no finished epoch", dir.display()))
    })?;
    Ok(RunResult {
        variant: variant.into(),
        seed,
        dir: dir.to_path_buf(),
        test_top1: last.test_top1,
        test_top5: last.test_top5,
        train_seconds: history.iter().map(|m| m.seconds).sum(),
    })
}

/// Run the study into `out`: train every (variant, seed) not yet finished, benchmark the
/// first layers, and write study.md, study.json and study.png.
pub fn run(
    gpu: &Gpu,
    settings: &StudySettings,
    splits: &Splits,
    out: &Path,
    progress: bool,
    on_event: &mut dyn FnMut(&Event),
) -> Result<Study> {
    if settings.variants.is_empty() || settings.seeds == 0 {
        return Err(Error::Invalid(
            "a study needs at least one variant and one seed".into(),
        ));
    }
    let mut seen = Vec::new();
    for v in &settings.variants {
        if seen.contains(v) {
            return Err(Error::Invalid(format!(
                "variant {} is named twice",
                variant_name(*v)
            )));
        }
        seen.push(*v);
    }
    settings.train.validate()?;
    for &v in &settings.variants {
        settings.run_configs(v, 0).0.validate()?;
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let total = settings.variants.len() * settings.seeds;
    let mut runs = Vec::new();
    let mut cx = Context {
        gpu,
        settings,
        splits,
        progress,
        on_event,
    };
    for (vi, &v) in settings.variants.iter().enumerate() {
        for s in 0..settings.seeds {
            let index = vi * settings.seeds + s + 1;
            runs.push(train_one(
                &mut cx,
                &run_dir(out, v, s),
                (v, s),
                (index, total),
            )?);
        }
    }
    (cx.on_event)(&Event::Benchmarking);
    let m = &settings.model;
    let [h, w, c] = m.input;
    let shape = Shape {
        h,
        w,
        c,
        k: m.first_kernel(),
        stride: m.first_stride(),
        default_batch: settings.bench_batch,
    };
    // Rounds over all variants, so that a stretch of contention on a shared machine falls
    // on every variant rather than on one; each variant's time is its median over rounds.
    let mut rounds = Vec::new();
    for _ in 0..BENCH_ROUNDS {
        rounds.push(first_layer::run_with_table(
            gpu,
            shape,
            settings.bench_batch,
            m.width,
            settings.bench_reps,
            false,
            (m.embed_dim, m.embed_bits),
        )?);
    }
    let median_ms = |name: &str| -> Option<f64> {
        let mut t: Vec<f64> = rounds
            .iter()
            .filter_map(|r| r.iter().find(|b| b.variant == name))
            .map(|b| b.timing.median_s * 1e3)
            .collect();
        t.sort_by(f64::total_cmp);
        t.get(t.len() / 2).copied()
    };
    let float_ms = median_ms("float").unwrap_or(f64::NAN);
    let bench = &rounds[0];
    let mut rows = Vec::new();
    for &v in &settings.variants {
        let name = variant_name(v);
        let ms = median_ms(&name).unwrap_or(f64::NAN);
        let of: Vec<&RunResult> = runs.iter().filter(|r| r.variant == name).collect();
        let (top1_mean, top1_std) = mean_std(&of.iter().map(|r| r.test_top1).collect::<Vec<_>>());
        let (top5_mean, top5_std) = mean_std(&of.iter().map(|r| r.test_top5).collect::<Vec<_>>());
        let b: &FirstLayerRow = bench
            .iter()
            .find(|r| r.variant == name)
            .ok_or_else(|| Error::Invalid(format!("no benchmark row for {name}")))?;
        let sum = summary::summarize(gpu, &Source::Path(run_dir(out, v, 0)))?;
        let first = &sum.layers[0].exported;
        rows.push(VariantRow {
            variant: name,
            seeds: of.len(),
            top1_mean,
            top1_std,
            top5_mean,
            top5_std,
            first_layer_ms: ms,
            speedup_vs_float: float_ms / ms,
            implementation: b.implementation.trim_start_matches('*').to_string(),
            table_bytes: first.table,
            weight_bytes: first.weights + first.thresholds + first.float,
            file_bytes: sum.totals.file_bytes,
            float_mac_share: sum.totals.float_mac_share,
        });
    }
    let study = Study {
        settings: settings.clone(),
        adapter: gpu.summary().name.clone(),
        images: [splits.train.n, splits.test.n],
        bench_input: [settings.bench_batch, h, w, c],
        bench_kernel: shape.k,
        bench_stride: shape.stride,
        rows,
        runs,
    };
    crate::io::write_atomic(&out.join("study.md"), study.markdown().as_bytes())?;
    crate::io::write_atomic(
        &out.join("study.json"),
        serde_json::to_string_pretty(&study)
            .expect("study serializes")
            .as_bytes(),
    )?;
    write_plot(&out.join("study.png"), &study)?;
    Ok(study)
}

impl Study {
    /// study.md: the settings and one table row per variant.
    pub fn markdown(&self) -> String {
        let s = &self.settings;
        let m = &s.model;
        let t = &s.train;
        let mut out = String::new();
        let _ = writeln!(out, "# First-layer study\n");
        if !s.command.is_empty() {
            let _ = writeln!(out, "```\n{}\n```\n", s.command);
        }
        let _ = writeln!(
            out,
            "- data: {} ({} training images, {} test images, {}x{}x{}, {} classes)",
            s.data.path.display(),
            self.images[0],
            self.images[1],
            m.input[0],
            m.input[1],
            m.input[2],
            m.classes
        );
        let _ = writeln!(
            out,
            "- model: {} width {}, {}-bit activations, last layer {:?}; embed D {} ({}-bit \
             codes, {:?} table), thermometer {} levels, naive {}-bit pixels",
            m.arch_label(),
            m.width,
            m.act_bits,
            m.last_layer,
            m.embed_dim,
            m.embed_bits,
            m.embed_table,
            m.embed_dim,
            m.embed_bits
        );
        let _ = writeln!(
            out,
            "- recipe: {} epoch(s), batch {}, {:?} lr {}{} ({:?} schedule), weight decay {}, \
             augmentation: {}; {} seed(s) per variant ({}..{})",
            t.epochs,
            t.batch,
            t.optimizer,
            t.lr,
            t.table_lr_note(),
            t.schedule,
            t.weight_decay,
            t.augment
                .describe(t.epochs, m.input[0], m.input[1], m.input[2]),
            s.seeds,
            t.seed,
            t.seed + s.seeds as u64 - 1
        );
        let [n, h, w, c] = self.bench_input;
        let _ = writeln!(
            out,
            "- first-layer time: inference from u8 pixels to packed codes, batch [{n},{h},{w},{c}], \
             {k}x{k}/{} conv to {} channels, median over {BENCH_ROUNDS} rounds (every variant \
             in turn) of the median of {} runs, on {}",
            self.bench_stride,
            m.width,
            s.bench_reps,
            self.adapter,
            k = self.bench_kernel
        );
        let _ = writeln!(
            out,
            "- accuracy: test top-1 / top-5 after the last epoch, mean ± sample standard \
             deviation over seeds; memory: bytes in the exported model file\n"
        );
        let _ = writeln!(
            out,
            "| first layer | top-1 % | top-5 % | first layer ms | vs float | table | \
             first-layer weights | model file | float MACs |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
        for r in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {:.2} ± {:.2} | {:.2} ± {:.2} | {:.3} | {:.2}x | {} | {} | {} | {:.1}% |",
                r.variant,
                100.0 * r.top1_mean,
                100.0 * r.top1_std,
                100.0 * r.top5_mean,
                100.0 * r.top5_std,
                r.first_layer_ms,
                r.speedup_vs_float,
                if r.table_bytes > 0 {
                    human_bytes(r.table_bytes)
                } else {
                    "-".into()
                },
                human_bytes(r.weight_bytes),
                human_bytes(r.file_bytes),
                100.0 * r.float_mac_share
            );
        }
        let _ = writeln!(out, "\nRuns (test top-1 / top-5 %, training seconds):\n");
        for r in &self.runs {
            let _ = writeln!(
                out,
                "- {} seed {}: {:.2} / {:.2}, {:.0} s",
                r.variant,
                r.seed,
                100.0 * r.test_top1,
                100.0 * r.test_top5,
                r.train_seconds
            );
        }
        out
    }
}

/// study.png size.
pub const PLOT_SIZE: (u32, u32) = (900, 600);

/// Test top-1 against first-layer time, one point per variant with error bars (± one
/// standard deviation over seeds).
pub fn write_plot(path: &Path, study: &Study) -> Result<()> {
    use crate::train::plot::{err, write_png};
    let rows = &study.rows;
    let t_max = rows.iter().map(|r| r.first_layer_ms).fold(0.0, f64::max) * 1.15;
    let lo = rows
        .iter()
        .map(|r| r.top1_mean - r.top1_std)
        .fold(1.0, f64::min);
    let hi = rows
        .iter()
        .map(|r| r.top1_mean + r.top1_std)
        .fold(0.0, f64::max);
    let pad = ((hi - lo) * 0.15).max(0.01);
    let (y0, y1) = (
        (100.0 * (lo - pad)).max(0.0),
        (100.0 * (hi + pad)).min(100.0),
    );
    write_png(path, PLOT_SIZE, |root| {
        let e = |x| err(path, x);
        let [n, h, w, c] = study.bench_input;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "test top-1 vs first-layer time (bars: ±1 sd over {} seed{}; {})",
                    study.settings.seeds,
                    if study.settings.seeds == 1 { "" } else { "s" },
                    study.adapter
                ),
                ("sans-serif", 20),
            )
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..t_max.max(1e-3), y0..y1.max(y0 + 1.0))
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc(format!(
                "first-layer time, ms per batch [{n},{h},{w},{c}] (median)"
            ))
            .y_desc("test top-1 %")
            .axis_desc_style(("sans-serif", 16))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(e)?;
        // Labels go beside their point, on the first side where they overlap no other label
        // or point (pixel boxes, at about 9 px per character of the 16 px font).
        let mut taken: Vec<(i32, i32, i32, i32)> = rows
            .iter()
            .map(|r| {
                let (px, py) = chart.backend_coord(&(r.first_layer_ms, 100.0 * r.top1_mean));
                (px - 7, py - 7, px + 7, py + 7)
            })
            .collect();
        let overlaps = |a: (i32, i32, i32, i32), b: &(i32, i32, i32, i32)| {
            a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
        };
        for (i, r) in rows.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let (x, y, sd) = (r.first_layer_ms, 100.0 * r.top1_mean, 100.0 * r.top1_std);
            chart
                .draw_series(std::iter::once(ErrorBar::new_vertical(
                    x,
                    y - sd,
                    y,
                    y + sd,
                    color.stroke_width(2),
                    12,
                )))
                .map_err(e)?;
            let (px, py) = chart.backend_coord(&(x, y));
            let w = 9 * r.variant.len() as i32;
            let offset = [
                (9, -20),
                (9, 4),
                (-9 - w, -20),
                (-9 - w, 4),
                (9, 22),
                (-9 - w, 22),
            ]
            .into_iter()
            .find(|&(dx, dy)| {
                let b = (px + dx, py + dy, px + dx + w, py + dy + 16);
                !taken.iter().any(|t| overlaps(b, t))
            })
            .unwrap_or((9, -20));
            taken.push((
                px + offset.0,
                py + offset.1,
                px + offset.0 + w,
                py + offset.1 + 16,
            ));
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x, y))
                        + Circle::new((0, 0), 6, color.filled())
                        + Text::new(r.variant.clone(), offset, ("sans-serif", 16)),
                ))
                .map_err(e)?;
        }
        Ok(())
    })
}
