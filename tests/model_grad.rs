//! Whole-model gradient check: one training batch through the GPU training graph
//! (`Model::forward` + `Model::backward`) against the same network composed from the
//! std-only reference ops (tests/refnet), for a depth-8 ResNet, a ResNet-18 at a small
//! input and a VGG-small.
//!
//! What is compared, and how closely:
//! - the k-bit codes after the first layer and after every body layer: exactly (they are
//!   integers; the binary convolutions sum integers exactly in both);
//! - the logits: |gpu - ref| <= 1e-4 + 1e-4 |ref| (f32 batch-norm/linear against f64 sums);
//! - every trainable parameter's gradient: |gpu - ref| <= 1e-4 * max|ref| of that tensor
//!   + 1e-7 (f32 reductions over the batch against f64 ones, chained through the body);
//! - the batch-norm running statistics after the step: 1e-5 + 1e-4 |ref|.
//!
//! The loss gradient fed to both is the reference's softmax cross-entropy gradient of the
//! reference logits, so both backward passes start from identical numbers.

mod common;
mod refnet;

use pixembed::gpu::{Gpu, Recorder, Tensor};
use pixembed::nn::model::BodyLayer;
use pixembed::nn::{Arch, FirstLayerKind, LastLayer, Model, ModelConfig, ParamKind, TableKind};
use pixembed::reference::loss::softmax_xent;
use rand::Rng;
use std::collections::HashMap;

#[allow(clippy::too_many_arguments)]
fn config(
    arch: Arch,
    first: FirstLayerKind,
    last: LastLayer,
    table: TableKind,
    h: usize,
    c: usize,
    width: usize,
) -> ModelConfig {
    ModelConfig {
        width,
        embed_table: table,
        ..common::small_model(arch, first, last, h, c)
    }
}

/// Codes after the first layer and after each body layer, from the GPU layers run one by
/// one in training mode (a second copy of the model, so the checked one is untouched).
fn gpu_codes(gpu: &Gpu, model: &mut Model, px: &Tensor) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    let mut rec = Recorder::new(gpu);
    let mut x = model.first.forward(&mut rec, px, true).unwrap();
    rec.submit();
    out.push(x.to_vec::<f32>(gpu).unwrap());
    for layer in &mut model.body {
        let mut rec = Recorder::new(gpu);
        x = match layer {
            BodyLayer::Block(b) => b.forward(&mut rec, &x, true).unwrap(),
            BodyLayer::Plain(p) => p.forward(&mut rec, &x, true).unwrap(),
            BodyLayer::Pool(p) => p.forward(&mut rec, &x, true).unwrap(),
        };
        rec.submit();
        out.push(x.to_vec::<f32>(gpu).unwrap());
    }
    out
}

/// Runs the check; returns a one-line summary (largest gradient error relative to the
/// tensor's largest reference value).
fn check(gpu: &Gpu, cfg: &ModelConfig, batch: usize, seed: u64) -> String {
    let what = format!(
        "{:?}/{:?}/{:?}/{:?}",
        cfg.arch, cfg.first_layer, cfg.last_layer, cfg.embed_table
    );
    let mut model = Model::new(gpu, cfg, seed).unwrap();
    let mut twin = Model::new(gpu, cfg, seed).unwrap();
    let mut params = HashMap::new();
    model.visit(&mut |p| {
        params.insert(p.name.clone(), p.value.to_vec::<f32>(gpu).unwrap());
    });
    let [h, w, c] = cfg.input;
    let pixels = common::rand_u8(seed + 1, batch * h * w * c);
    let mut r = common::rng(seed + 2);
    let labels: Vec<i32> = (0..batch)
        .map(|_| r.random_range(0..cfg.classes as i32))
        .collect();

    let mut net = refnet::RefNet::new(cfg, params);
    let ref_logits = net.forward(&pixels, batch);
    let px = Tensor::from_slice(gpu, &[batch, h, w, c], &pixels).unwrap();

    // Codes at every layer boundary: exact.
    let codes = gpu_codes(gpu, &mut twin, &px);
    assert_eq!(codes.len(), net.codes.len(), "{what}: layer count");
    for (i, (g, (want, shape))) in codes.iter().zip(&net.codes).enumerate() {
        common::assert_exact(&format!("{what}: codes after layer {i} {shape:?}"), g, want);
    }
    // Some codes must be inside the range, or the check would be vacuous.
    let last = &net.codes.last().unwrap().0;
    let n = cfg.act().levels() as f32;
    assert!(
        last.iter().any(|&v| v > 0.0 && v < n),
        "{what}: last codes saturated"
    );

    let mut rec = Recorder::new(gpu);
    let logits = model.forward(&mut rec, &px, true).unwrap();
    rec.submit();
    let got = logits.to_vec::<f32>(gpu).unwrap();
    common::assert_close(&format!("{what}: logits"), &got, &ref_logits, 1e-4, 1e-4);

    let dlogits = softmax_xent(&ref_logits, &labels, cfg.classes).dlogits;
    net.backward(&dlogits);
    let d = Tensor::from_slice(gpu, &[batch, cfg.classes], &dlogits).unwrap();
    let mut rec = Recorder::new(gpu);
    model.backward(&mut rec, &d).unwrap();
    rec.submit();

    let mut checked = 0;
    let mut worst = (String::new(), 0.0f32);
    model.visit(&mut |p| {
        let name = &p.name;
        if p.kind == ParamKind::Stat {
            let want = &net.params[name];
            let got = p.value.to_vec::<f32>(gpu).unwrap();
            common::assert_close(&format!("{what}: {name}"), &got, want, 1e-5, 1e-4);
            return;
        }
        let want = net
            .grads
            .get(name)
            .unwrap_or_else(|| panic!("{what}: reference has no gradient for {name}"));
        let got = p
            .grad
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: no gradient for {name}"))
            .to_vec::<f32>(gpu)
            .unwrap();
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let err = got
            .iter()
            .zip(want)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        if scale > 0.0 && err / scale > worst.1 {
            worst = (name.clone(), err / scale);
        }
        common::assert_close(
            &format!("{what}: gradient of {name}"),
            &got,
            want,
            1e-4 * scale + 1e-7,
            0.0,
        );
        checked += 1;
    });
    assert_eq!(checked, net.grads.len(), "{what}: parameters checked");
    format!(
        "{what}: {checked} gradients agree; worst relative error {:.2e} ({})",
        worst.1, worst.0
    )
}

/// Depth-8 ResNet (three stages, strides 1, 2, 2, shortcuts with zero channels) with the
/// pixel embedding (per-channel and shared tables), the other first layers and both heads.
#[test]
fn resnet8_gradients_match_the_reference_network() {
    let gpu = gpu_or_skip!();
    for (first, last, table, seed) in [
        (
            FirstLayerKind::Embed,
            LastLayer::Binary,
            TableKind::PerChannel,
            3,
        ),
        (
            FirstLayerKind::Embed,
            LastLayer::Float,
            TableKind::Shared,
            4,
        ),
        (
            FirstLayerKind::Float,
            LastLayer::Float,
            TableKind::PerChannel,
            5,
        ),
        (
            FirstLayerKind::Thermometer,
            LastLayer::Binary,
            TableKind::PerChannel,
            6,
        ),
        (
            FirstLayerKind::Naive,
            LastLayer::Float,
            TableKind::PerChannel,
            10,
        ),
        (
            FirstLayerKind::Bitplane,
            LastLayer::Binary,
            TableKind::PerChannel,
            11,
        ),
    ] {
        let cfg = config(Arch::Resnet, first, last, table, 8, 3, 4);
        eprintln!("{}", check(gpu, &cfg, 6, seed));
    }
}

/// ResNet-18 at 16x16: the 7x7 stride-2 stem, max pool into the first residual block,
/// four stages down to 1x1.
#[test]
fn resnet18_gradients_match_the_reference_network() {
    let gpu = gpu_or_skip!();
    let cfg = config(
        Arch::Resnet18,
        FirstLayerKind::Embed,
        LastLayer::Binary,
        TableKind::PerChannel,
        16,
        3,
        2,
    );
    eprintln!("{}", check(gpu, &cfg, 4, 7));
}

/// VGG-small: plain conv units and three max pools, no shortcuts.
#[test]
fn vgg_small_gradients_match_the_reference_network() {
    let gpu = gpu_or_skip!();
    for (first, last, seed) in [
        (FirstLayerKind::Embed, LastLayer::Binary, 8),
        (FirstLayerKind::Int8, LastLayer::Float, 9),
    ] {
        let cfg = config(Arch::VggSmall, first, last, TableKind::PerChannel, 8, 1, 4);
        eprintln!("{}", check(gpu, &cfg, 6, seed));
    }
}
