//! End-to-end training on generated data: it learns, a resumed run equals an uninterrupted
//! one, a NaN loss stops training and keeps the last good checkpoint, and bad checkpoints
//! are refused with clear errors.

mod common;

use pixembed::nn::{Arch, FirstLayerKind, LastLayer, ModelConfig};
use pixembed::train::{checkpoint, RunOptions, TrainConfig, Trainer};
use pixembed::Error;

fn model_cfg(first: FirstLayerKind, last: LastLayer, h: usize, c: usize) -> ModelConfig {
    common::small_model(Arch::Resnet, first, last, h, c)
}

fn train_cfg(epochs: usize) -> TrainConfig {
    common::small_training(epochs, 7, true)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("pixembed-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn every_first_layer_variant_learns() {
    let gpu = gpu_or_skip!();
    let train = common::quadrant_data(1, 256, 12, 3);
    let test = common::quadrant_data(2, 128, 12, 3);
    let mut report = Vec::new();
    let mut failed = false;
    for (first, last) in [
        (FirstLayerKind::Embed, LastLayer::Binary),
        (FirstLayerKind::Float, LastLayer::Float),
        (FirstLayerKind::Int8, LastLayer::Binary),
        (FirstLayerKind::Naive, LastLayer::Binary),
        (FirstLayerKind::Bitplane, LastLayer::Binary),
        (FirstLayerKind::Thermometer, LastLayer::Float),
    ] {
        // No augmentation: a horizontal flip would swap the quadrant classes.
        let cfg = TrainConfig {
            augment: pixembed::data::AugmentKind::None,
            ..train_cfg(4)
        };
        let mut t = Trainer::new(gpu, &model_cfg(first, last, 12, 3), &cfg).unwrap();
        let s = t
            .run(&train, &test, &RunOptions::default(), |_| {})
            .unwrap();
        let fell = t.history[3].train_loss < t.history[0].train_loss;
        // Chance is 0.25 on four balanced classes.
        failed |= s.final_test_top1 < 0.8 || !fell;
        report.push(format!(
            "{first:?}/{last:?}: test top-1 {:.3}, loss {:.3} -> {:.3}",
            s.final_test_top1, t.history[0].train_loss, t.history[3].train_loss
        ));
    }
    assert!(!failed, "a variant did not learn:\n{}", report.join("\n"));
    eprintln!("{}", report.join("\n"));
}

#[test]
fn resume_equals_uninterrupted_run() {
    let gpu = gpu_or_skip!();
    let train = common::quadrant_data(3, 96, 10, 1);
    let test = common::quadrant_data(4, 64, 10, 1);
    let cfg = model_cfg(FirstLayerKind::Embed, LastLayer::Binary, 10, 1);
    let full_dir = temp_dir("full");
    let mut full = Trainer::new(gpu, &cfg, &train_cfg(2)).unwrap();
    let opts = RunOptions {
        out: Some(full_dir.clone()),
        ..Default::default()
    };
    full.run(&train, &test, &opts, |_| {}).unwrap();

    let part_dir = temp_dir("part");
    let mut first = Trainer::new(gpu, &cfg, &train_cfg(2)).unwrap();
    // Stop after one epoch, as an interrupted run would have.
    let stop = RunOptions {
        out: Some(part_dir.clone()),
        progress: false,
        stop_after: Some(1),
        ..Default::default()
    };
    first.run(&train, &test, &stop, |_| {}).unwrap();
    drop(first);
    let mut resumed = Trainer::resume(gpu, &part_dir).unwrap();
    assert_eq!(resumed.progress.epoch, 1);
    let opts = RunOptions {
        out: Some(part_dir.clone()),
        progress: false,
        stop_after: None,
        ..Default::default()
    };
    resumed.run(&train, &test, &opts, |_| {}).unwrap();

    let a = checkpoint::load(&full_dir).unwrap();
    let b = checkpoint::load(&part_dir).unwrap();
    assert_eq!(a.progress, b.progress);
    assert_eq!(full.history.len(), 2);
    assert_eq!(
        full.history[1].train_loss, resumed.history[1].train_loss,
        "losses differ after resume"
    );
    assert_eq!(full.history[1].test_top1, resumed.history[1].test_top1);
    let (ma, mb) = (a.tensor_map(), b.tensor_map());
    assert_eq!(ma.len(), mb.len());
    for (name, va) in ma {
        assert_eq!(
            Some(va),
            mb.get(name),
            "{name} differs between the resumed and the uninterrupted run"
        );
    }
    assert!(part_dir.join("metrics.jsonl").exists() && part_dir.join("config.json").exists());
    assert!(part_dir.join("curves.png").exists());
}

#[test]
fn nan_loss_stops_and_keeps_last_checkpoint() {
    let gpu = gpu_or_skip!();
    let train = common::quadrant_data(5, 64, 10, 1);
    let test = common::quadrant_data(6, 32, 10, 1);
    let cfg = model_cfg(FirstLayerKind::Embed, LastLayer::Float, 10, 1);
    let dir = temp_dir("nan");
    let mut t = Trainer::new(gpu, &cfg, &train_cfg(1)).unwrap();
    let opts = RunOptions {
        out: Some(dir.clone()),
        ..Default::default()
    };
    t.run(&train, &test, &opts, |_| {}).unwrap();
    let good = std::fs::read(dir.join(checkpoint::FILE_NAME)).unwrap();
    // Poison the head weights: the next loss is NaN.
    t.cfg.epochs = 2;
    t.model
        .head
        .w
        .value
        .write(gpu, &vec![f32::NAN; t.model.head.w.value.numel()])
        .unwrap();
    let err = t.run(&train, &test, &opts, |_| {}).unwrap_err();
    assert!(matches!(err, Error::Diverged(_)), "{err}");
    assert!(err.to_string().contains("NaN"), "{err}");
    assert_eq!(
        std::fs::read(dir.join(checkpoint::FILE_NAME)).unwrap(),
        good,
        "checkpoint was overwritten"
    );
}

#[test]
fn bad_checkpoints_are_refused() {
    let gpu = gpu_or_skip!();
    let dir = temp_dir("badckpt");
    let path = dir.join(checkpoint::FILE_NAME);
    std::fs::write(&path, b"not a checkpoint at all").unwrap();
    assert!(checkpoint::load(&path).is_err());
    // A real checkpoint, truncated.
    let train = common::quadrant_data(7, 32, 10, 1);
    let cfg = model_cfg(FirstLayerKind::Embed, LastLayer::Binary, 10, 1);
    let mut t = Trainer::new(gpu, &cfg, &train_cfg(1)).unwrap();
    t.run(
        &train,
        &train,
        &RunOptions {
            out: Some(dir.clone()),
            ..Default::default()
        },
        |_| {},
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = checkpoint::load(&path)
        .err()
        .expect("truncated checkpoint loads");
    assert!(err.to_string().contains("checkpoint"), "{err}");
    // Intact file, but a model of another shape.
    std::fs::write(&path, &bytes).unwrap();
    let loaded = checkpoint::load(&path).unwrap();
    let other = ModelConfig { width: 16, ..cfg };
    let mut m = pixembed::nn::Model::new(gpu, &other, 0).unwrap();
    let err = loaded.restore(gpu, &mut m).unwrap_err();
    assert!(err.to_string().contains("shape"), "{err}");
    // A safetensors file that is not ours.
    let st = safetensors::serialize(
        Vec::<(String, safetensors::tensor::TensorView)>::new(),
        None,
    )
    .unwrap();
    std::fs::write(&path, st).unwrap();
    let err = checkpoint::load(&path)
        .err()
        .expect("a foreign safetensors file loaded");
    assert!(err.to_string().contains("format"), "{err}");
}

#[test]
fn forward_and_backward_are_bit_identical_across_runs() {
    let gpu = gpu_or_skip!();
    let data = common::quadrant_data(21, 16, 12, 3);
    let run = || {
        let cfg = model_cfg(FirstLayerKind::Embed, LastLayer::Binary, 12, 3);
        let mut m = pixembed::nn::Model::new(gpu, &cfg, 5).unwrap();
        let px = pixembed::gpu::Tensor::from_slice(gpu, &[16, 12, 12, 3], &data.images).unwrap();
        let labels: Vec<i32> = data.labels.iter().map(|&l| l as i32).collect();
        let lt = pixembed::gpu::Tensor::from_slice(gpu, &[16], &labels).unwrap();
        let mut rec = pixembed::gpu::Recorder::new(gpu);
        let logits = m.forward(&mut rec, &px, true).unwrap();
        let out = pixembed::ops::loss::softmax_xent(&mut rec, &logits, &lt).unwrap();
        m.backward(&mut rec, &out.dlogits).unwrap();
        rec.submit();
        let mut all = vec![out.loss.to_vec::<f32>(gpu).unwrap()[0].to_bits()];
        m.visit(&mut |p| {
            if let Some(g) = &p.grad {
                all.extend(g.to_vec::<f32>(gpu).unwrap().iter().map(|v| v.to_bits()));
            }
        });
        all
    };
    let (a, b) = (run(), run());
    assert!(a.len() > 1000, "gradients missing");
    common::assert_exact("loss and every gradient, two runs", &a, &b);
}

/// Settings that used to pass validation and then train nothing (or with lr 0 forever)
/// are refused up front.
#[test]
fn bad_settings_are_refused() {
    let gpu = gpu_or_skip!();
    let cfg = model_cfg(FirstLayerKind::Embed, LastLayer::Binary, 10, 1);
    for (bad, want) in [
        (
            TrainConfig {
                batch: 1,
                ..train_cfg(1)
            },
            "--batch",
        ),
        (
            TrainConfig {
                warmup_epochs: f32::INFINITY,
                ..train_cfg(1)
            },
            "--warmup",
        ),
        (
            TrainConfig {
                warmup_epochs: -1.0,
                ..train_cfg(1)
            },
            "--warmup",
        ),
    ] {
        let e = Trainer::new(gpu, &cfg, &bad).err().expect("accepted");
        assert!(e.to_string().contains(want), "{e}");
    }
    // One training image: no batch can be trained, so no epoch may be reported.
    let one = common::quadrant_data(8, 1, 10, 1);
    let mut t = Trainer::new(gpu, &cfg, &train_cfg(1)).unwrap();
    let e = t
        .run(&one, &one, &RunOptions::default(), |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("at least 2 images"), "{e}");
    assert!(t.history.is_empty());
}

fn stop_after(dir: &std::path::Path, epochs: usize) -> RunOptions {
    RunOptions {
        out: Some(dir.to_path_buf()),
        stop_after: Some(epochs),
        ..Default::default()
    }
}

/// A metrics.jsonl line that cannot be read stops the resume; the file is left as it was.
#[test]
fn resume_keeps_unreadable_metrics() {
    let gpu = gpu_or_skip!();
    let train = common::quadrant_data(9, 64, 10, 1);
    let cfg = model_cfg(FirstLayerKind::Embed, LastLayer::Binary, 10, 1);
    let dir = temp_dir("badmetrics");
    let mut t = Trainer::new(gpu, &cfg, &train_cfg(2)).unwrap();
    t.run(&train, &train, &stop_after(&dir, 1), |_| {}).unwrap();
    let path = dir.join("metrics.jsonl");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"epoch\": 2, \"note\": \"hand-written\"}\n");
    std::fs::write(&path, &text).unwrap();
    let e = Trainer::resume(gpu, &dir).err().expect("resumed");
    assert!(e.to_string().contains("line 2"), "{e}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "metrics.jsonl changed"
    );
}

/// The history lives in the checkpoint: a run interrupted after its checkpoint but before
/// metrics.jsonl was written still reports every epoch.
#[test]
fn history_survives_a_lost_metrics_file() {
    let gpu = gpu_or_skip!();
    let train = common::quadrant_data(10, 64, 10, 1);
    let cfg = model_cfg(FirstLayerKind::Embed, LastLayer::Binary, 10, 1);
    let dir = temp_dir("lostmetrics");
    let mut t = Trainer::new(gpu, &cfg, &train_cfg(2)).unwrap();
    t.run(&train, &train, &stop_after(&dir, 1), |_| {}).unwrap();
    std::fs::remove_file(dir.join("metrics.jsonl")).unwrap();
    let mut r = Trainer::resume(gpu, &dir).unwrap();
    r.run(&train, &train, &stop_after(&dir, 2), |_| {}).unwrap();
    let lines = pixembed::train::metrics::read_jsonl(&dir.join("metrics.jsonl")).unwrap();
    assert_eq!(lines.iter().map(|m| m.epoch).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(lines[0], t.history[0]);
}

/// A checkpoint holding NaN is not written; the last good one stays.
#[test]
fn nan_checkpoint_is_refused_and_the_good_one_kept() {
    let gpu = gpu_or_skip!();
    let train = common::quadrant_data(11, 64, 10, 1);
    let cfg = model_cfg(FirstLayerKind::Embed, LastLayer::Binary, 10, 1);
    let dir = temp_dir("nanckpt");
    let mut t = Trainer::new(gpu, &cfg, &train_cfg(2)).unwrap();
    t.run(&train, &train, &stop_after(&dir, 1), |_| {}).unwrap();
    let good = std::fs::read(dir.join(checkpoint::FILE_NAME)).unwrap();
    let w = &t.model.head.w.value;
    w.write(gpu, &vec![f32::NAN; w.numel()]).unwrap();
    let state = checkpoint::RunState {
        train: &t.cfg,
        progress: &t.progress,
        history: &t.history,
        data: None,
        epoch_start_signs: None,
    };
    let e = checkpoint::save(gpu, &dir, &mut t.model, &state).unwrap_err();
    assert!(
        e.to_string().contains("NaN") && e.to_string().contains("kept"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(dir.join(checkpoint::FILE_NAME)).unwrap(),
        good
    );
}

/// A checkpoint whose training configuration is invalid (batch 0) is refused on resume
/// with a message, not a panic later.
#[test]
fn resume_validates_the_stored_configuration() {
    let gpu = gpu_or_skip!();
    let cfg = model_cfg(FirstLayerKind::Embed, LastLayer::Binary, 10, 1);
    let dir = temp_dir("badcfg");
    let mut m = pixembed::nn::Model::new(gpu, &cfg, 0).unwrap();
    let bad = TrainConfig {
        batch: 0,
        ..train_cfg(1)
    };
    let state = checkpoint::RunState {
        train: &bad,
        progress: &Default::default(),
        history: &[],
        data: None,
        epoch_start_signs: None,
    };
    checkpoint::save(gpu, &dir, &mut m, &state).unwrap();
    let e = Trainer::resume(gpu, &dir).err().expect("resumed");
    assert!(e.to_string().contains("--batch"), "{e}");
}

/// Mean absolute distance of the embedding table from its initial values after one epoch
/// of training at `--table-lr-scale scale` (the rest of the recipe unchanged).
fn table_travel(gpu: &pixembed::gpu::Gpu, scale: f32) -> f32 {
    let train = common::quadrant_data(5, 128, 10, 1);
    let test = common::quadrant_data(6, 32, 10, 1);
    let cfg = model_cfg(FirstLayerKind::Embed, LastLayer::Binary, 10, 1);
    let tc = TrainConfig {
        table_lr_scale: scale,
        augment: pixembed::data::AugmentKind::None,
        ..train_cfg(1)
    };
    let mut t = Trainer::new(gpu, &cfg, &tc).unwrap();
    let table = |t: &Trainer| {
        let p = t
            .model
            .first
            .table
            .as_ref()
            .expect("embed model has a table");
        p.value.to_vec::<f32>(gpu).unwrap()
    };
    let before = table(&t);
    t.run(&train, &test, &RunOptions::default(), |_| {})
        .unwrap();
    let after = table(&t);
    let sum: f32 = before.iter().zip(&after).map(|(a, b)| (a - b).abs()).sum();
    sum / before.len() as f32
}

/// --table-lr-scale multiplies the table's steps (Adam moves each entry by about lr per
/// step, so x10 moves the table several times further), and a checkpoint keeps the setting,
/// while one written before it existed reads as 1.0.
#[test]
fn table_lr_scale_moves_the_table_and_is_kept_in_checkpoints() {
    let gpu = gpu_or_skip!();
    let (one, ten) = (table_travel(gpu, 1.0), table_travel(gpu, 10.0));
    eprintln!("table travel: {one} at scale 1, {ten} at scale 10");
    assert!(
        one > 0.0 && ten > 3.0 * one,
        "table moved {one} at scale 1 and {ten} at scale 10"
    );

    let cfg = model_cfg(FirstLayerKind::Embed, LastLayer::Binary, 10, 1);
    let dir = temp_dir("tablelr");
    let mut m = pixembed::nn::Model::new(gpu, &cfg, 0).unwrap();
    let tc = TrainConfig {
        table_lr_scale: 10.0,
        ..train_cfg(1)
    };
    let state = checkpoint::RunState {
        train: &tc,
        progress: &Default::default(),
        history: &[],
        data: None,
        epoch_start_signs: None,
    };
    checkpoint::save(gpu, &dir, &mut m, &state).unwrap();
    assert_eq!(Trainer::resume(gpu, &dir).unwrap().cfg.table_lr_scale, 10.0);

    let mut old = serde_json::to_value(&tc).unwrap();
    old.as_object_mut().unwrap().remove("table_lr_scale");
    let old: TrainConfig = serde_json::from_value(old).unwrap();
    assert_eq!(old.table_lr_scale, 1.0);
}
