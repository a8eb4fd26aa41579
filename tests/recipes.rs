//! Paths of the training recipe and of the configuration that the learning tests do not
//! take: SGD with the step schedule and warm-up, Adam with a constant rate and the shared
//! embedding table, the configuration checks, and a dispatch large enough that its grid is
//! folded into a second dimension.

mod common;

use pixembed::gpu::{grid_for, Recorder, Tensor};
use pixembed::nn::{Arch, FirstLayerKind, LastLayer, Model, ModelConfig, TableKind};
use pixembed::ops::quant;
use pixembed::reference::quant::quant_forward;
use pixembed::reference::QuantSpec;
use pixembed::train::{OptimizerKind, RunOptions, Schedule, TrainConfig, Trainer};

/// Trains 4 epochs on the quadrant data; returns the final test top-1 and checks that each
/// epoch's reported rate is the schedule's at the epoch start and that the loss fell.
fn learns(tc: &TrainConfig, mc: &ModelConfig) -> f64 {
    let gpu = common::gpu().expect("checked by the caller");
    let train = common::quadrant_data(51, 256, 12, 3);
    let test = common::quadrant_data(52, 128, 12, 3);
    let mut t = Trainer::new(gpu, mc, tc).unwrap();
    let s = t
        .run(&train, &test, &RunOptions::default(), |_| {})
        .unwrap();
    for (e, m) in t.history.iter().enumerate() {
        assert_eq!(
            m.lr,
            tc.lr_at(e as f32) as f64,
            "epoch {}: reported lr",
            e + 1
        );
    }
    let (first, last) = (t.history[0].train_loss, t.history[3].train_loss);
    assert!(last < first, "{:?}: loss {first} -> {last}", tc.optimizer);
    s.final_test_top1
}

/// SGD with momentum, the step schedule and one epoch of warm-up learns the quadrants.
#[test]
fn sgd_with_step_schedule_and_warm_up_learns() {
    gpu_or_skip!();
    let tc = TrainConfig {
        optimizer: OptimizerKind::Sgd,
        lr: 0.1,
        schedule: Schedule::Step,
        warmup_epochs: 1.0,
        ..common::small_training(4, 3, false)
    };
    let mc = common::small_model(Arch::Resnet, FirstLayerKind::Embed, LastLayer::Float, 12, 3);
    let top1 = learns(&tc, &mc);
    // Chance is 0.25.
    assert!(top1 >= 0.6, "SGD/step/warm-up: test top-1 {top1}");
}

/// Adam at a constant rate with one embedding table shared by the three channels learns.
#[test]
fn adam_constant_rate_with_shared_table_learns() {
    gpu_or_skip!();
    let tc = TrainConfig {
        schedule: Schedule::Constant,
        lr: 0.003,
        ..common::small_training(4, 4, false)
    };
    let mc = ModelConfig {
        embed_table: TableKind::Shared,
        ..common::small_model(
            Arch::Resnet,
            FirstLayerKind::Embed,
            LastLayer::Binary,
            12,
            3,
        )
    };
    let top1 = learns(&tc, &mc);
    assert!(top1 >= 0.6, "Adam/constant/shared table: test top-1 {top1}");
}

fn valid_model() -> ModelConfig {
    common::small_model(
        Arch::Resnet,
        FirstLayerKind::Embed,
        LastLayer::Binary,
        12,
        3,
    )
}

/// Every check of `ModelConfig::validate` and `TrainConfig::validate`, each with the
/// option it names in its message.
#[test]
fn invalid_configurations_are_refused_with_the_option_named() {
    valid_model().validate().unwrap();
    let m = valid_model;
    let model_cases: Vec<(ModelConfig, &str)> = vec![
        (ModelConfig { act_bits: 5, ..m() }, "bits"),
        (ModelConfig { act_bits: 0, ..m() }, "bits"),
        (
            ModelConfig {
                act_max: 0.0,
                ..m()
            },
            "max",
        ),
        (
            ModelConfig {
                act_max: f32::NAN,
                ..m()
            },
            "max",
        ),
        (
            ModelConfig {
                embed_bits: 6,
                ..m()
            },
            "bits",
        ),
        (ModelConfig { depth: 9, ..m() }, "--depth"),
        (ModelConfig { depth: 2, ..m() }, "--depth"),
        (ModelConfig { width: 0, ..m() }, "--width"),
        (ModelConfig { width: 1025, ..m() }, "--width"),
        (
            ModelConfig {
                embed_dim: 0,
                ..m()
            },
            "--embed-dim",
        ),
        (
            ModelConfig {
                embed_dim: 65,
                ..m()
            },
            "--embed-dim",
        ),
        (
            ModelConfig {
                input: [7, 12, 3],
                ..m()
            },
            "8x8",
        ),
        (
            ModelConfig {
                input: [12, 12, 2],
                ..m()
            },
            "channels",
        ),
        (ModelConfig { classes: 1, ..m() }, "classes"),
    ];
    for (c, want) in &model_cases {
        let e = c.validate().expect_err(want).to_string();
        assert!(e.contains(want), "{c:?}: {e}");
    }
    // Depth is a ResNet rule only: VGG-small and ResNet-18 ignore it.
    for arch in [Arch::VggSmall, Arch::Resnet18] {
        ModelConfig {
            arch,
            depth: 9,
            ..m()
        }
        .validate()
        .unwrap();
    }
    let t = || common::small_training(1, 0, false);
    t().validate().unwrap();
    let train_cases: Vec<(TrainConfig, &str)> = vec![
        (TrainConfig { epochs: 0, ..t() }, "--epochs"),
        (TrainConfig { batch: 1, ..t() }, "--batch"),
        (TrainConfig { batch: 4097, ..t() }, "--batch"),
        (TrainConfig { lr: 0.0, ..t() }, "--lr"),
        (
            TrainConfig {
                lr: f32::NAN,
                ..t()
            },
            "--lr",
        ),
        (
            TrainConfig {
                warmup_epochs: -1.0,
                ..t()
            },
            "--warmup",
        ),
        (
            TrainConfig {
                momentum: 1.0,
                ..t()
            },
            "--momentum",
        ),
        (
            TrainConfig {
                weight_decay: -1e-4,
                ..t()
            },
            "--weight-decay",
        ),
        (
            TrainConfig {
                table_lr_scale: 0.0,
                ..t()
            },
            "--table-lr-scale",
        ),
    ];
    for (c, want) in &train_cases {
        let e = c.validate().expect_err(want).to_string();
        assert!(e.contains(want), "{c:?}: {e}");
    }
    // Model::new checks before any GPU work.
    if let Some(gpu) = common::gpu() {
        let e = Model::new(gpu, &model_cases[5].0, 0)
            .err()
            .expect("depth 9");
        assert!(e.to_string().contains("--depth"), "{e}");
    } else {
        common::record_skip("PIXEMBED_SKIP_GPU_TESTS=1");
    }
}

/// The quantizer over more elements than one grid dimension can address
/// (max_compute_workgroups_per_dimension * 256 + a tail): the grid is folded into x and y,
/// and every element, the last ones included, matches the reference.
#[test]
fn dispatch_folded_into_a_second_grid_dimension() {
    let gpu = gpu_or_skip!();
    let max = gpu.limits().max_compute_workgroups_per_dimension as usize;
    let n = max * 256 + 1000;
    let groups = grid_for(gpu, n, 256);
    assert!(groups[1] > 1, "{n} elements fit one dimension: {groups:?}");
    // A cheap deterministic pattern across [-0.5, 2.5) that every code, both clamps and
    // rounding ties reach.
    let x: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 3001) as f32 / 1000.0 - 0.5)
        .collect();
    let spec = QuantSpec::default();
    let xt = Tensor::from_slice(gpu, &[n], &x).unwrap();
    let mut rec = Recorder::new(gpu);
    let y = quant::forward(&mut rec, spec, &xt).unwrap();
    rec.submit();
    let got = y.to_vec::<f32>(gpu).unwrap();
    common::assert_exact(
        "quantizer over a folded grid",
        &got,
        &quant_forward(spec, &x),
    );
}
