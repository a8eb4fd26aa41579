//! The determinism promise across backends: the same seed gives the same loss curve, bit for
//! bit, on Vulkan and on GL (on a machine with both, e.g. Mesa's lavapipe and llvmpipe).
//!
//! Skipped, saying so, when either backend has no adapter; `PIXEMBED_REQUIRE_GL=1` turns a
//! missing GL adapter into a failure (CI sets it after installing Mesa's EGL/GLES).

mod common;

use pixembed::gpu::{AdapterRequest, Gpu};
use pixembed::nn::{Arch, FirstLayerKind, LastLayer};
use pixembed::train::{RunOptions, Trainer};

fn open(backend: &str) -> Option<Gpu> {
    let req = AdapterRequest {
        backend: Some(backend.into()),
        ..Default::default()
    };
    match Gpu::new(&req) {
        Ok(g) => Some(g),
        Err(e) if backend == "gl" && std::env::var("PIXEMBED_REQUIRE_GL").as_deref() == Ok("1") => {
            panic!("PIXEMBED_REQUIRE_GL=1 but GL has no adapter: {e}")
        }
        Err(e) => {
            eprintln!("skipped: no {backend} adapter ({e})");
            None
        }
    }
}

/// Per-epoch training loss and test accuracy of a short seeded run, as exact bits.
fn loss_curve(gpu: &Gpu) -> Vec<(u64, u64)> {
    let train = common::quadrant_data(3, 96, 10, 1);
    let test = common::quadrant_data(4, 64, 10, 1);
    let cfg = common::small_model(
        Arch::Resnet,
        FirstLayerKind::Embed,
        LastLayer::Binary,
        10,
        1,
    );
    let mut t = Trainer::new(gpu, &cfg, &common::small_training(2, 7, true)).unwrap();
    let opts = RunOptions {
        progress: false,
        ..Default::default()
    };
    t.run(&train, &test, &opts, |_| {}).unwrap();
    t.history
        .iter()
        .map(|m| (m.train_loss.to_bits(), m.test_top1.to_bits()))
        .collect()
}

#[test]
fn same_seed_same_loss_curve_on_vulkan_and_gl() {
    if std::env::var("PIXEMBED_SKIP_GPU_TESTS").as_deref() == Ok("1") {
        eprintln!("skipped (PIXEMBED_SKIP_GPU_TESTS=1)");
        return;
    }
    let (Some(vk), Some(gl)) = (open("vulkan"), open("gl")) else {
        return;
    };
    eprintln!("Vulkan: {}\nGL: {}", vk.summary(), gl.summary());
    let (a, b) = (loss_curve(&vk), loss_curve(&gl));
    assert_eq!(a.len(), 2);
    let show = |c: &[(u64, u64)]| -> Vec<(f64, f64)> {
        c.iter()
            .map(|&(l, t)| (f64::from_bits(l), f64::from_bits(t)))
            .collect()
    };
    assert_eq!(
        a,
        b,
        "loss curves differ: Vulkan {:?}, GL {:?}",
        show(&a),
        show(&b)
    );
}
