//! `pixembed bench network`: whole-network inference (integer engine) with a float first
//! layer vs fully quantized (pixel embedding first, binary last), and training-step
//! throughput; with GPU timestamps, each layer's share of the inference time.

use super::{time_op, Timing};
use crate::error::Result;
use crate::gpu::{Gpu, Recorder, Tensor};
use crate::infer::fold_model;
use crate::nn::{Arch, FirstLayerKind, LastLayer, Model, ModelConfig, TableKind};
use crate::ops::loss;
use crate::train::{optimizer, OptimizerKind, Schedule, TrainConfig};
use rand::{Rng, SeedableRng};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct LayerShare {
    pub layer: String,
    pub seconds: f64,
    pub share: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct NetworkRow {
    /// "inference float-first", "inference fully-quantized", "train-step fully-quantized".
    pub what: String,
    pub batch: usize,
    /// Untimed runs before the timed ones.
    pub warmup: usize,
    pub timing: Timing,
    pub images_per_sec: f64,
    /// Per-layer share of the time (inference, GPU timestamps only).
    pub layers: Vec<LayerShare>,
    /// Training rows: seconds from building the model to the end of the first step (the
    /// warm-up step: pipeline creation and per-adapter path choices included). The
    /// training row runs first, so on an empty driver shader cache this is the cold start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_step_s: Option<f64>,
}

/// The model a network benchmark runs.
pub fn bench_config(
    arch: Arch,
    depth: usize,
    width: usize,
    input: [usize; 3],
    first: FirstLayerKind,
    last: LastLayer,
) -> ModelConfig {
    ModelConfig {
        arch,
        depth,
        width,
        act_bits: 2,
        act_max: 2.0,
        first_layer: first,
        embed_dim: 10,
        embed_bits: 2,
        embed_table: TableKind::PerChannel,
        last_layer: last,
        input,
        classes: 10,
        class_names: (0..10).map(|i| i.to_string()).collect(),
    }
}

/// The optimizer settings of the benchmarked (and profiled) training step.
pub fn bench_train_config(batch: usize) -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch,
        lr: 1e-3,
        optimizer: OptimizerKind::Adam,
        momentum: 0.9,
        weight_decay: 5e-4,
        table_lr_scale: 1.0,
        schedule: Schedule::Constant,
        warmup_epochs: 0.0,
        seed: 0,
        augment: crate::data::AugmentKind::None,
        limit_train: None,
        limit_test: None,
        log_every: 1,
    }
}

/// The profiled training step (examples/): ResNet-20 w16 on 32x32x3 with a pixel-embedding
/// first layer and a binary last layer, and one batch of fixed pixels and labels.
pub fn profiled_step(gpu: &Gpu, batch: usize) -> Result<(ModelConfig, Tensor, Tensor)> {
    let cfg = bench_config(
        Arch::Resnet,
        20,
        16,
        [32, 32, 3],
        FirstLayerKind::Embed,
        LastLayer::Binary,
    );
    let px: Vec<u8> = (0..batch * 32 * 32 * 3)
        .map(|i| (i * 37 % 251) as u8)
        .collect();
    let pixels = Tensor::from_slice(gpu, &[batch, 32, 32, 3], &px)?;
    let labels_host: Vec<i32> = (0..batch).map(|i| (i % 10) as i32).collect();
    let labels = Tensor::from_slice(gpu, &[batch], &labels_host)?;
    Ok((cfg, pixels, labels))
}

fn random_pixels(gpu: &Gpu, n: usize, input: [usize; 3], seed: u64) -> Result<Tensor> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let px: Vec<u8> = (0..n * input.iter().product::<usize>())
        .map(|_| rng.random())
        .collect();
    Tensor::from_slice(gpu, &[n, input[0], input[1], input[2]], &px)
}

/// Integer-engine inference throughput of `cfg` (randomly initialised, folded): one warm-up
/// run (pipeline creation), then `reps` runs timed with GPU timestamps per dispatch; the
/// median is reported and the median run's dispatches are attributed to layers.
pub fn inference(
    gpu: &Gpu,
    cfg: &ModelConfig,
    batch: usize,
    reps: usize,
    label: &str,
) -> Result<NetworkRow> {
    let model = Model::new(gpu, cfg, 1)?;
    let mut int = fold_model(gpu, model)?;
    let pixels = random_pixels(gpu, batch, cfg.input, 2)?;
    let mut warm = Recorder::new(gpu);
    int.record(&mut warm, &pixels, None)?;
    warm.submit();
    gpu.wait()?;
    let mut runs = Vec::with_capacity(reps.max(1));
    let mut marks = Vec::new();
    for _ in 0..reps.max(1) {
        marks.clear();
        let mut rec = Recorder::new(gpu).with_timing(2048);
        int.record(&mut rec, &pixels, Some(&mut marks))?;
        runs.push(rec.submit_timed()?);
    }
    runs.sort_by(|a, b| a.best_s().total_cmp(&b.best_s()));
    let timing = Timing {
        median_s: runs[runs.len() / 2].best_s(),
        min_s: runs[0].best_s(),
        max_s: runs[runs.len() - 1].best_s(),
        runs: runs.len(),
        source: runs[0].source(),
    };
    let times = &runs[runs.len() / 2];
    let mut layers = Vec::new();
    if !times.passes.is_empty() {
        let total: f64 = times.passes.iter().map(|(_, s)| s).sum();
        for (i, (name, start)) in marks.iter().enumerate() {
            let end = marks
                .get(i + 1)
                .map_or(times.passes.len(), |m| m.1)
                .min(times.passes.len());
            let s: f64 = times.passes[(*start).min(end)..end]
                .iter()
                .map(|(_, s)| s)
                .sum();
            layers.push(LayerShare {
                layer: name.clone(),
                seconds: s,
                share: s / total.max(1e-12),
            });
        }
    }
    Ok(NetworkRow {
        what: label.into(),
        batch,
        warmup: 1,
        images_per_sec: batch as f64 / timing.median_s,
        timing,
        layers,
        first_step_s: None,
    })
}

/// Training-step throughput: upload, forward, loss, backward and optimizer in one submit.
pub fn train_step(
    gpu: &Gpu,
    cfg: &ModelConfig,
    batch: usize,
    reps: usize,
    label: &str,
) -> Result<NetworkRow> {
    let start = std::time::Instant::now();
    let mut model = Model::new(gpu, cfg, 1)?;
    let tc = bench_train_config(batch);
    let pixels = random_pixels(gpu, batch, cfg.input, 3)?;
    let labels_host: Vec<i32> = (0..batch).map(|i| (i % cfg.classes) as i32).collect();
    let labels = Tensor::from_slice(gpu, &[batch], &labels_host)?;
    let mut step = 0u64;
    let mut record = |rec: &mut Recorder| {
        let logits = model.forward(rec, &pixels, true)?;
        let out = loss::softmax_xent(rec, &logits, &labels)?;
        model.backward(rec, &out.dlogits)?;
        step += 1;
        optimizer::apply(rec, &mut model, &tc, step, 1e-3)
    };
    // One warm-up step (pipeline creation, optimizer state), then `reps` timed steps.
    let mut rec = Recorder::new(gpu);
    record(&mut rec)?;
    rec.submit();
    gpu.wait()?;
    let first_step_s = start.elapsed().as_secs_f64();
    let timing = time_op(gpu, 0, reps, record)?;
    Ok(NetworkRow {
        what: label.into(),
        batch,
        warmup: 1,
        images_per_sec: batch as f64 / timing.median_s,
        timing,
        layers: Vec::new(),
        first_step_s: Some(first_step_s),
    })
}

/// Every row of `pixembed bench network`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    gpu: &Gpu,
    arch: Arch,
    depth: usize,
    width: usize,
    input: [usize; 3],
    batch: usize,
    train_batch: usize,
    reps: usize,
) -> Result<Vec<NetworkRow>> {
    let float = bench_config(
        arch,
        depth,
        width,
        input,
        FirstLayerKind::Float,
        LastLayer::Float,
    );
    let quant = bench_config(
        arch,
        depth,
        width,
        input,
        FirstLayerKind::Embed,
        LastLayer::Binary,
    );
    // Training first: its first step is then the process's cold start.
    let train = train_step(gpu, &quant, train_batch, reps, "train-step fully-quantized")?;
    Ok(vec![
        inference(gpu, &float, batch, reps, "inference float-first")?,
        inference(gpu, &quant, batch, reps, "inference fully-quantized")?,
        train,
    ])
}
