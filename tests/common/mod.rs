//! The harness every GPU test uses: one shared device, seeded inputs, and comparisons
//! against the reference that print the worst element on failure.
#![allow(dead_code)]

use pixembed::gpu::{AdapterRequest, Gpu};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::OnceLock;

/// The shared GPU, or `None` when PIXEMBED_SKIP_GPU_TESTS=1 was set on purpose.
/// Without an adapter (and without the opt-out) this panics with the install hint, so a
/// GPU test never passes silently without running.
pub fn gpu() -> Option<&'static Gpu> {
    static GPU: OnceLock<Option<Gpu>> = OnceLock::new();
    GPU.get_or_init(|| {
        if std::env::var("PIXEMBED_SKIP_GPU_TESTS").as_deref() == Ok("1") {
            eprintln!("PIXEMBED_SKIP_GPU_TESTS=1: GPU tests are skipped");
            return None;
        }
        match Gpu::new(&AdapterRequest::default()) {
            Ok(g) => Some(g),
            Err(e) => panic!(
                "GPU tests need an adapter: {e}\n(set PIXEMBED_SKIP_GPU_TESTS=1 to skip them on purpose)"
            ),
        }
    })
    .as_ref()
}

/// `let gpu = gpu_or_skip!();` at the top of a GPU test.
#[macro_export]
macro_rules! gpu_or_skip {
    () => {
        match common::gpu() {
            Some(g) => g,
            None => {
                common::record_skip("PIXEMBED_SKIP_GPU_TESTS=1");
                return;
            }
        }
    };
}

/// Report that the running test did not run, and why: on stderr, and as a line
/// `SKIPPED <test>: <why>` appended to the file PIXEMBED_SKIP_LOG names (when set), which
/// CI reads, since libtest hides a passing test's output.
pub fn record_skip(why: &str) {
    let thread = std::thread::current();
    let line = format!("SKIPPED {}: {why}", thread.name().unwrap_or("?"));
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("PIXEMBED_SKIP_LOG").filter(|p| !p.is_empty()) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("PIXEMBED_SKIP_LOG {path:?}: {e}"));
        writeln!(f, "{line}").unwrap();
    }
}

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn rand_f32(seed: u64, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut r = rng(seed);
    (0..n).map(|_| r.random_range(lo..hi)).collect()
}

pub fn rand_u8(seed: u64, n: usize) -> Vec<u8> {
    let mut r = rng(seed);
    (0..n).map(|_| r.random::<u8>()).collect()
}

pub fn rand_u32(seed: u64, n: usize) -> Vec<u32> {
    let mut r = rng(seed);
    (0..n).map(|_| r.random::<u32>()).collect()
}

/// Exact comparison; on failure prints the first differing index and the count.
pub fn assert_exact<T: PartialEq + std::fmt::Debug>(what: &str, got: &[T], want: &[T]) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: length {} vs reference {}",
        got.len(),
        want.len()
    );
    let bad: Vec<usize> = (0..got.len()).filter(|&i| got[i] != want[i]).collect();
    if let Some(&i) = bad.first() {
        panic!(
            "{what}: {} of {} elements differ; first at {i}: gpu {:?} vs reference {:?}",
            bad.len(),
            got.len(),
            got[i],
            want[i]
        );
    }
}

/// |got - want| <= atol + rtol * |want| everywhere; on failure prints the worst element.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: length {} vs reference {}",
        got.len(),
        want.len()
    );
    let mut worst = (0usize, 0.0f32);
    let mut bad = 0usize;
    for i in 0..got.len() {
        let err = (got[i] - want[i]).abs();
        let excess = err - (atol + rtol * want[i].abs());
        if excess > 0.0 || got[i].is_nan() != want[i].is_nan() {
            bad += 1;
            if excess > worst.1 || worst.1 == 0.0 {
                worst = (i, excess.max(f32::MIN_POSITIVE));
            }
        }
    }
    if bad > 0 {
        let i = worst.0;
        panic!(
            "{what}: {bad} of {} elements outside atol {atol} rtol {rtol}; worst at {i}: gpu {} vs reference {} (diff {})",
            got.len(),
            got[i],
            want[i],
            (got[i] - want[i]).abs()
        );
    }
}

/// Central finite differences of a scalar function: df/dx_i ~ (f(x + e_i h) - f(x - e_i h)) / 2h,
/// for the listed coordinates.
pub fn finite_diff(f: impl Fn(&[f32]) -> f64, x: &[f32], h: f32, coords: &[usize]) -> Vec<f64> {
    coords
        .iter()
        .map(|&i| {
            let mut p = x.to_vec();
            p[i] = x[i] + h;
            let fp = f(&p);
            p[i] = x[i] - h;
            let fm = f(&p);
            (fp - fm) / (2.0 * h as f64)
        })
        .collect()
}

/// Images whose class is which quadrant is brightest (plus noise): learnable in a few steps.
pub fn quadrant_data(seed: u64, n: usize, h: usize, c: usize) -> pixembed::data::Dataset {
    let mut rng = rng(seed);
    let mut images = vec![0u8; n * h * h * c];
    let mut labels = vec![0u32; n];
    for i in 0..n {
        let label = rng.random_range(0..4u32);
        labels[i] = label;
        for y in 0..h {
            for x in 0..h {
                let q = (y >= h / 2) as u32 * 2 + (x >= h / 2) as u32;
                let base: i32 = if q == label { 190 } else { 60 };
                for ch in 0..c {
                    let v = base + rng.random_range(-50..50);
                    images[((i * h + y) * h + x) * c + ch] = v.clamp(0, 255) as u8;
                }
            }
        }
    }
    pixembed::data::Dataset {
        images,
        labels,
        n,
        h,
        w: h,
        c,
        classes: (0..4).map(|q| format!("q{q}")).collect(),
    }
}

/// A small ResNet for the four-quadrant data: depth 8, width 8, 2-bit activations.
pub fn small_model(
    arch: pixembed::nn::Arch,
    first: pixembed::nn::FirstLayerKind,
    last: pixembed::nn::LastLayer,
    h: usize,
    c: usize,
) -> pixembed::nn::ModelConfig {
    pixembed::nn::ModelConfig {
        arch,
        depth: 8,
        width: 8,
        act_bits: 2,
        act_max: 2.0,
        first_layer: first,
        embed_dim: 4,
        embed_bits: 2,
        embed_table: pixembed::nn::TableKind::PerChannel,
        last_layer: last,
        input: [h, h, c],
        classes: 4,
        class_names: (0..4).map(|q| format!("q{q}")).collect(),
    }
}

/// Adam, batch 32, cosine schedule: the training settings of the small tests.
pub fn small_training(epochs: usize, seed: u64, augment: bool) -> pixembed::train::TrainConfig {
    pixembed::train::TrainConfig {
        epochs,
        batch: 32,
        lr: 0.01,
        optimizer: pixembed::train::OptimizerKind::Adam,
        momentum: 0.9,
        weight_decay: 5e-4,
        table_lr_scale: 1.0,
        schedule: pixembed::train::Schedule::Cosine,
        warmup_epochs: 0.0,
        seed,
        augment: if augment {
            pixembed::data::AugmentKind::CropFlip
        } else {
            pixembed::data::AugmentKind::None
        },
        limit_train: None,
        limit_test: None,
        log_every: 4,
    }
}
