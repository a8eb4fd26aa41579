//! `summary`, `plot table` and `study first-layer` through the library: layer shapes,
//! parameter and MAC counts against their formulas, exported sizes against the file
//! `export` writes, the table picture's codes and size, and a tiny study that writes its
//! three files, agrees with its runs' metrics and resumes without training again.

mod common;

use pixembed::data::{AugmentKind, Format};
use pixembed::gpu::Gpu;
use pixembed::insight::plot::{self, Scale, PANEL};
use pixembed::insight::study::{self, Event, StudySettings};
use pixembed::insight::summary::{self, Source};
use pixembed::nn::{Arch, FirstLayerKind, LastLayer, Model, ModelConfig, TableKind};
use pixembed::reference::encode::thermometer_threshold;
use pixembed::train::checkpoint::DataSettings;
use pixembed::train::{metrics, OptimizerKind, Schedule, TrainConfig};
use std::path::{Path, PathBuf};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/fashion-mnist-sample");

fn cfg(arch: Arch, first: FirstLayerKind, width: usize) -> ModelConfig {
    ModelConfig {
        arch,
        depth: 8,
        width,
        act_bits: 2,
        act_max: 2.0,
        first_layer: first,
        embed_dim: 10,
        embed_bits: 2,
        embed_table: TableKind::PerChannel,
        last_layer: LastLayer::Binary,
        input: [28, 28, 1],
        classes: 10,
        class_names: (0..10).map(|i| i.to_string()).collect(),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pixembed-insight-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Write the model's export with `IntModel::save` (what `pixembed export` calls).
fn export(gpu: &Gpu, c: &ModelConfig, path: &Path) -> u64 {
    let model = Model::new(gpu, c, 3).unwrap();
    let mut int = pixembed::infer::fold_model(gpu, model).unwrap();
    int.save(gpu, path).unwrap();
    std::fs::metadata(path).unwrap().len()
}

#[test]
fn summary_rows_follow_the_network_and_sizes_match_the_exported_file() {
    let gpu = gpu_or_skip!();
    let c = cfg(Arch::VggSmall, FirstLayerKind::Embed, 8);
    let s = summary::summarize(gpu, &Source::Config(c.clone())).unwrap();
    let names: Vec<&str> = s.layers.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "first", "layer1", "pool1", "layer2", "layer3", "pool2", "layer4", "layer5", "pool3",
            "head"
        ]
    );
    let shapes: Vec<Vec<usize>> = s.layers.iter().map(|r| r.output.clone()).collect();
    assert_eq!(
        shapes,
        [
            vec![28, 28, 8],
            vec![28, 28, 8],
            vec![14, 14, 8],
            vec![14, 14, 16],
            vec![14, 14, 16],
            vec![7, 7, 16],
            vec![7, 7, 32],
            vec![7, 7, 32],
            vec![3, 3, 32],
            vec![10],
        ]
    );
    let first = &s.layers[0];
    // Embed: table [1, 256, 10] (float), binary conv 8 x 3x3 x 10, batch-norm 4 x 8.
    assert_eq!(first.binary_params, 8 * 9 * 10);
    assert_eq!(first.float_params, 256 * 10 + 4 * 8);
    assert_eq!(first.binary_macs, 28 * 28 * 8 * 9 * 10);
    assert_eq!(first.input_bits, Some(2));
    let l3 = &s.layers[4];
    assert_eq!(l3.binary_params, 16 * 9 * 16);
    assert_eq!(l3.binary_macs, 14 * 14 * 16 * 9 * 16);
    assert_eq!(l3.trained_bytes, 4 * (16 * 9 * 16 + 4 * 16));
    // Exported: packed signs [16, 3, 3, 1 word], thresholds [16, 3] and flags [16] as i32.
    assert_eq!(l3.exported.weights, 16 * 9 * 4);
    assert_eq!(l3.exported.thresholds, (16 * 3 + 16) * 4);
    assert_eq!(first.exported.table, 256 * 10 * 4);
    assert_eq!(s.totals.float_macs, 0);
    assert_eq!(s.totals.float_mac_share, 0.0);
    let mut model = Model::new(gpu, &c, 0).unwrap();
    let params = model.parameter_count() as u64;
    let stats: u64 = 2 * (8 + 8 + 16 + 16 + 32 + 32 + 10);
    assert_eq!(
        s.totals.binary_params + s.totals.float_params,
        params + stats,
        "every trainable parameter plus the batch-norm running statistics"
    );
    assert_eq!(s.totals.non_trainable_params, stats);

    // The sizes agree with the file export writes, for a model given by its configuration
    // and for that file itself; the float first layer's MAC share is its own.
    let dir = temp_dir("summary");
    for (arch, first) in [
        (Arch::VggSmall, FirstLayerKind::Embed),
        (Arch::Resnet, FirstLayerKind::Float),
        (Arch::Resnet, FirstLayerKind::Thermometer),
    ] {
        let c = cfg(arch, first, 8);
        let file = dir.join(format!("{arch:?}-{first:?}.safetensors"));
        let bytes = export(gpu, &c, &file);
        for source in [Source::Config(c.clone()), Source::Path(file.clone())] {
            let s = summary::summarize(gpu, &source).unwrap();
            let t = &s.totals;
            assert_eq!(t.file_bytes, bytes, "{arch:?} {first:?}");
            assert_eq!(t.exported.total() + t.header_bytes, bytes);
            let rows: u64 = s.layers.iter().map(|r| r.exported.total()).sum();
            assert_eq!(rows, t.exported.total());
            let share = s.layers[0].float_macs as f64 / (t.binary_macs + t.float_macs) as f64;
            assert_eq!(t.float_mac_share, share);
            assert_eq!(first == FirstLayerKind::Float, share > 0.0);
            // The JSON carries the same numbers.
            let j = serde_json::to_value(&s).unwrap();
            assert_eq!(j["totals"]["file_bytes"], bytes);
            assert_eq!(j["layers"].as_array().unwrap().len(), s.layers.len());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn table_panels_hold_the_encodings_codes_and_the_picture_has_the_stated_size() {
    let gpu = gpu_or_skip!();
    let c = cfg(Arch::VggSmall, FirstLayerKind::Thermometer, 4);
    let (panels, cols, _) = plot::panels(gpu, &Source::Config(c.clone()), true).unwrap();
    // Thermometer codes, then the thermometer and naive comparisons.
    assert_eq!(cols, 2);
    assert_eq!(panels.len(), 4);
    let p = &panels[0];
    assert_eq!((p.dims, p.scale), (10, Scale::Codes { max: 1 }));
    for v in 0..256 {
        for d in 0..10 {
            let want = (v as u32 >= thermometer_threshold(d as u32, 10)) as u32 as f32;
            assert_eq!(p.values[v * 10 + d], want, "v {v} d {d}");
        }
    }
    let naive = &panels[3];
    assert_eq!(naive.dims, 1);
    for v in 0..256 {
        assert_eq!(naive.values[v], (v >> 6) as f32);
    }

    let dir = temp_dir("plot");
    let png = dir.join("table.png");
    let (w, h) = plot::write_table(gpu, &Source::Config(c), true, &png).unwrap();
    assert_eq!((w, h), (2 * PANEL.0, 2 * PANEL.1));
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), (w, h));
    // Not blank: the heat map's colours are there.
    let rgb = img.to_rgb8();
    let distinct: std::collections::HashSet<[u8; 3]> = rgb.pixels().map(|p| p.0).collect();
    assert!(distinct.len() > 4, "{} colours", distinct.len());

    // Channels with the same encoding are drawn once.
    let mut rgb = cfg(Arch::VggSmall, FirstLayerKind::Naive, 4);
    rgb.input = [16, 16, 3];
    let (panels, cols, _) = plot::panels(gpu, &Source::Config(rgb), false).unwrap();
    assert_eq!((panels.len(), cols), (1, 1));
    assert!(
        panels[0].title.starts_with("every channel"),
        "{}",
        panels[0].title
    );

    // The float first layer has no table.
    let f = cfg(Arch::VggSmall, FirstLayerKind::Float, 4);
    assert!(plot::write_table(gpu, &Source::Config(f), false, &png).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_tiny_study_writes_its_files_agrees_with_its_runs_and_resumes() {
    let gpu = gpu_or_skip!();
    let (limit_train, limit_test) = (96, 64);
    let splits =
        pixembed::data::load_idx(Path::new(SAMPLE), Some(limit_train), Some(limit_test)).unwrap();
    let mut model = cfg(Arch::VggSmall, FirstLayerKind::Embed, 4);
    model.class_names = splits.train.classes.clone();
    let settings = StudySettings {
        model,
        train: TrainConfig {
            epochs: 1,
            batch: 32,
            lr: 0.005,
            optimizer: OptimizerKind::Adam,
            momentum: 0.9,
            weight_decay: 0.0,
            table_lr_scale: 1.0,
            schedule: Schedule::Cosine,
            warmup_epochs: 0.0,
            seed: 5,
            augment: AugmentKind::None,
            limit_train: Some(limit_train),
            limit_test: Some(limit_test),
            log_every: 20,
        },
        data: DataSettings {
            path: SAMPLE.into(),
            format: Format::Idx,
            limit_train: Some(limit_train),
            limit_test: Some(limit_test),
            resize: None,
            coarse_labels: false,
        },
        variants: vec![FirstLayerKind::Naive, FirstLayerKind::Embed],
        seeds: 2,
        bench_batch: 4,
        bench_reps: 1,
        command: "pixembed study first-layer (test)".into(),
    };
    let out = temp_dir("study");
    let mut events = Vec::new();
    let s = study::run(gpu, &settings, &splits, &out, false, &mut |e| {
        events.push(e.clone())
    })
    .unwrap();
    let trained = |events: &[Event]| {
        events
            .iter()
            .filter(|e| matches!(e, Event::Training { .. }))
            .count()
    };
    assert_eq!(trained(&events), 4);
    for f in ["study.md", "study.json", "study.png"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let img = image::open(out.join("study.png")).unwrap();
    assert_eq!((img.width(), img.height()), study::PLOT_SIZE);

    // Every run's numbers are its metrics.jsonl's last epoch; each row is their mean.
    assert_eq!(s.runs.len(), 4);
    for r in &s.runs {
        let m = metrics::read_jsonl(&r.dir.join("metrics.jsonl")).unwrap();
        let last = m.last().unwrap();
        assert_eq!((r.test_top1, r.test_top5), (last.test_top1, last.test_top5));
    }
    assert_eq!(
        s.runs.iter().map(|r| r.seed).collect::<Vec<_>>(),
        [5, 6, 5, 6]
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("study.json")).unwrap()).unwrap();
    for (i, row) in s.rows.iter().enumerate() {
        let runs: Vec<f64> = s
            .runs
            .iter()
            .filter(|r| r.variant == row.variant)
            .map(|r| r.test_top1)
            .collect();
        assert_eq!(runs.len(), 2);
        let mean = (runs[0] + runs[1]) / 2.0;
        assert!((row.top1_mean - mean).abs() < 1e-12);
        let sd = (runs[0] - runs[1]).abs() / 2f64.sqrt();
        assert!((row.top1_std - sd).abs() < 1e-12);
        assert_eq!(
            json["rows"][i]["top1_mean"].as_f64().unwrap(),
            row.top1_mean
        );
        assert!(row.first_layer_ms > 0.0);
    }
    // Memory: naive has a [1, 256, 1] table, embed [1, 256, 10], stored as u32 codes.
    assert_eq!(s.rows[0].table_bytes, 256 * 4);
    assert_eq!(s.rows[1].table_bytes, 256 * 10 * 4);
    let md = std::fs::read_to_string(out.join("study.md")).unwrap();
    assert!(md.contains("| naive |") && md.contains("| embed |"), "{md}");

    // A rerun with the same settings trains nothing and leaves the checkpoints alone.
    let ckpt = s.runs[0].dir.join("checkpoint.safetensors");
    let before = std::fs::metadata(&ckpt).unwrap().modified().unwrap();
    let mut again = Vec::new();
    let s2 = study::run(gpu, &settings, &splits, &out, false, &mut |e| {
        again.push(e.clone())
    })
    .unwrap();
    assert_eq!(trained(&again), 0, "{again:?}");
    let skipped = again
        .iter()
        .filter(|e| matches!(e, Event::Skipped { .. }))
        .count();
    assert_eq!(skipped, 4);
    assert_eq!(
        std::fs::metadata(&ckpt).unwrap().modified().unwrap(),
        before
    );
    for (a, b) in s.runs.iter().zip(&s2.runs) {
        assert_eq!((a.test_top1, a.test_top5), (b.test_top1, b.test_top5));
    }

    // Other settings in the same directory are refused, not trained over.
    let mut other = settings.clone();
    other.train.lr = 0.01;
    let e = study::run(gpu, &other, &splits, &out, false, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("other settings"), "{e}");
    let _ = std::fs::remove_dir_all(&out);
}
