//! Learning checks on real data: the default recipe must learn, not merely run.
//!
//! On the Fashion-MNIST sample bundled in assets/ (always run): the built-in default run's
//! network (fully quantized VGG-small: pixel-embedding first layer, binary body, binary head)
//! trained with its recipe on the first 2,000 images for one epoch at batch 32 must reach
//! 60% test top-1 on the sample's 1,000 test images, and every first-layer variant a stated
//! floor. Every run must flip the signs of some of its binary weights: a run where the
//! sign-flip fraction stays 0 is not training its binary layers.
//!
//! On the full datasets (when PIXEMBED_FASHION_MNIST / PIXEMBED_DATA are set, as CI does):
//! Fashion-MNIST and CIFAR-10 floors for the same short budget.
//!
//! Runs are deterministic for one adapter, so the measured values below are what lavapipe
//! gives; the floors leave room for other adapters' float rounding.

mod common;

use pixembed::data::{AugmentKind, Dataset, Format, LoadOptions};
use pixembed::gpu::Gpu;
use pixembed::nn::{Arch, FirstLayerKind, LastLayer, ModelConfig, TableKind};
use pixembed::train::{OptimizerKind, RunOptions, Schedule, TrainConfig, Trainer};
use std::path::{Path, PathBuf};

/// The default run's network for `train` (sizes, channels and classes from the data).
fn default_model(train: &Dataset, first: FirstLayerKind, last: LastLayer) -> ModelConfig {
    ModelConfig {
        arch: Arch::VggSmall,
        depth: 20,
        width: 16,
        act_bits: 2,
        act_max: 2.0,
        first_layer: first,
        embed_dim: 10,
        embed_bits: 2,
        embed_table: TableKind::PerChannel,
        last_layer: last,
        input: [train.h, train.w, train.c],
        classes: train.classes.len(),
        class_names: train.classes.clone(),
    }
}

/// The default recipe: Adam lr 0.005 with a cosine schedule, no weight decay, automatic
/// augmentation (none for one epoch).
fn default_recipe(batch: usize, seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch,
        lr: 0.005,
        optimizer: OptimizerKind::Adam,
        momentum: 0.9,
        weight_decay: 0.0,
        table_lr_scale: 1.0,
        schedule: Schedule::Cosine,
        warmup_epochs: 0.0,
        seed,
        augment: AugmentKind::Auto,
        limit_train: None,
        limit_test: None,
        log_every: 50,
    }
}

fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fashion-mnist-sample")
}

fn load(path: &Path, format: Format, train: usize, test: Option<usize>) -> (Dataset, Dataset) {
    let opts = LoadOptions {
        limit_train: Some(train),
        limit_test: test,
        ..Default::default()
    };
    let s = pixembed::data::load(path, format, &opts).unwrap();
    (s.train, s.test)
}

/// Trains one epoch; returns (test top-1, sign-flip fraction of the epoch).
fn train_once(
    gpu: &Gpu,
    model: &ModelConfig,
    recipe: &TrainConfig,
    train: &Dataset,
    test: &Dataset,
) -> (f64, f64) {
    let mut t = Trainer::new(gpu, model, recipe).unwrap();
    let s = t.run(train, test, &RunOptions::default(), |_| {}).unwrap();
    (s.final_test_top1, t.history[0].sign_flips)
}

/// The real-data root named by `var`, or a recorded skip.
fn real_data(var: &str) -> Option<PathBuf> {
    match std::env::var(var) {
        Ok(p) if !p.is_empty() => Some(p.into()),
        _ => {
            common::record_skip(&format!("{var} not set"));
            None
        }
    }
}

/// Floors are about 5 points under what lavapipe measures (in the comments, seed 0), and the
/// fully quantized default's is the 60% the recipe must reach.
#[test]
fn every_first_layer_variant_learns_the_bundled_sample() {
    let gpu = gpu_or_skip!();
    let (train, test) = load(&sample_dir(), Format::Idx, 2000, None);
    assert_eq!((train.n, test.n), (2000, 1000));
    let cases = [
        // The fully quantized default: the floor the training issue set.
        (FirstLayerKind::Embed, LastLayer::Binary, 0.60), // measured 0.670
        (FirstLayerKind::Embed, LastLayer::Float, 0.62),  // 0.669
        (FirstLayerKind::Float, LastLayer::Binary, 0.63), // 0.688
        (FirstLayerKind::Int8, LastLayer::Binary, 0.63),  // 0.686
        (FirstLayerKind::Naive, LastLayer::Binary, 0.62), // 0.678
        (FirstLayerKind::Bitplane, LastLayer::Binary, 0.65), // 0.702
        (FirstLayerKind::Thermometer, LastLayer::Binary, 0.62), // 0.676
    ];
    let mut report = Vec::new();
    let mut failed = false;
    for (first, last, floor) in cases {
        let model = default_model(&train, first, last);
        let (top1, flips) = train_once(gpu, &model, &default_recipe(32, 0), &train, &test);
        let ok = top1 >= floor && flips > 0.02;
        failed |= !ok;
        report.push(format!(
            "{first:?}/{last:?}: test top-1 {top1:.3} (floor {floor}), sign flips {:.1}%{}",
            100.0 * flips,
            if ok { "" } else { "  <- FAILED" }
        ));
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        !failed,
        "a variant learned too little (or flipped no binary weight):\n{}",
        report.join("\n")
    );
}

/// The health signal itself: a learning rate too small to move any latent weight across
/// zero gives a sign-flip fraction of exactly 0, the default one a clearly positive one.
#[test]
fn sign_flip_fraction_tells_a_frozen_run_from_a_training_one() {
    let gpu = gpu_or_skip!();
    let data = common::quadrant_data(31, 96, 12, 1);
    let model = common::small_model(
        Arch::Resnet,
        FirstLayerKind::Embed,
        LastLayer::Binary,
        12,
        1,
    );
    let frozen = TrainConfig {
        lr: 1e-9,
        ..default_recipe(32, 3)
    };
    let (_, flips) = train_once(gpu, &model, &frozen, &data, &data);
    assert_eq!(flips, 0.0, "no latent weight can cross zero at lr 1e-9");
    let (_, flips) = train_once(gpu, &model, &default_recipe(32, 3), &data, &data);
    assert!(flips > 0.01, "sign flips {flips} at the default lr");
}

#[test]
fn fashion_mnist_learns_the_default_recipe() {
    let gpu = gpu_or_skip!();
    let Some(root) = real_data("PIXEMBED_FASHION_MNIST") else {
        return;
    };
    let (train, test) = load(&root, Format::Idx, 2000, Some(2000));
    let model = default_model(&train, FirstLayerKind::Embed, LastLayer::Binary);
    let (top1, flips) = train_once(gpu, &model, &default_recipe(32, 0), &train, &test);
    eprintln!("Fashion-MNIST (2,000 images, one epoch): test top-1 {top1:.3}, flips {flips:.3}");
    // Measured 0.670 on the first 2,000 test images.
    assert!(top1 >= 0.62, "test top-1 {top1}");
    assert!(flips > 0.02, "sign flips {flips}");
}

#[test]
fn cifar10_learns_the_default_recipe() {
    let gpu = gpu_or_skip!();
    let Some(root) = real_data("PIXEMBED_DATA") else {
        return;
    };
    let (train, test) = load(&root.join("cifar10-jpeg"), Format::Auto, 4000, Some(1000));
    assert_eq!((train.h, train.w, train.c), (32, 32, 3));
    let model = default_model(&train, FirstLayerKind::Embed, LastLayer::Binary);
    let (top1, flips) = train_once(gpu, &model, &default_recipe(32, 0), &train, &test);
    eprintln!("CIFAR-10 (4,000 images, one epoch): test top-1 {top1:.3}, flips {flips:.3}");
    // Measured 0.343 on the first 1,000 test images.
    assert!(top1 >= 0.29, "test top-1 {top1}");
    assert!(flips > 0.02, "sign flips {flips}");
}
