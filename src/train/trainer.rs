//! The training loop. Each step (upload of a u8 batch, forward, loss, backward, optimizer)
//! is recorded into one command encoder and submitted once; per-step loss and correct
//! counts are copied into a GPU-side log that is read back only every `log_every` steps
//! and at the end of the epoch.

use super::checkpoint::{self, Progress};
use super::config::TrainConfig;
use super::metrics::{self, EpochMetrics};
use super::optimizer;
use crate::data::{Batcher, Dataset};
use crate::error::{Error, Result};
use crate::gpu::{DType, Gpu, Recorder, Tensor};
use crate::nn::{Model, ModelConfig, ParamKind};
use crate::ops::loss;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where results go and how the run reports.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Directory for checkpoint, config, metrics and plot.
    pub out: Option<PathBuf>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Stop once this many epochs are complete (a time-boxed run; resume continues it).
    pub stop_after: Option<usize>,
}

/// The outcome of a run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    pub epochs: usize,
    pub final_test_top1: f64,
    pub final_test_top5: f64,
    pub best_test_top1: f64,
    pub images_per_sec: f64,
    pub seconds: f64,
    pub parameters: usize,
    pub adapter: String,
    pub out: Option<PathBuf>,
}

/// Words per step in the GPU-side log: loss (f32 bits), top-1 count, top-5 count.
const LOG_WORDS: usize = 3;

pub struct Trainer<'a> {
    pub gpu: &'a Gpu,
    pub model: Model,
    pub cfg: TrainConfig,
    pub progress: Progress,
    pub history: Vec<EpochMetrics>,
}

impl<'a> Trainer<'a> {
    pub fn new(gpu: &'a Gpu, model_cfg: &ModelConfig, cfg: &TrainConfig) -> Result<Self> {
        cfg.validate()?;
        let model = Model::new(gpu, model_cfg, cfg.seed)?;
        Ok(Trainer {
            gpu,
            model,
            cfg: cfg.clone(),
            progress: Progress { epoch: 0, step: 0 },
            history: Vec::new(),
        })
    }

    /// Continue a run from its checkpoint (file or run directory) with its own configuration.
    pub fn resume(gpu: &'a Gpu, path: &Path) -> Result<Self> {
        let loaded = checkpoint::load(path)?;
        let mut model = Model::new(gpu, &loaded.model, loaded.train.seed)?;
        loaded.restore(gpu, &mut model)?;
        let dir = loaded
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut history = metrics::read_jsonl(&dir.join("metrics.jsonl"));
        history.retain(|m| m.epoch <= loaded.progress.epoch);
        Ok(Trainer {
            gpu,
            model,
            cfg: loaded.train.clone(),
            progress: loaded.progress.clone(),
            history,
        })
    }

    fn steps_per_epoch(&self, n: usize) -> usize {
        n.div_ceil(self.cfg.batch)
    }

    /// One epoch of training.
    fn train_epoch(&mut self, train: &Dataset, bar: &indicatif::ProgressBar) -> Result<EpochStats> {
        let gpu = self.gpu;
        let epoch = self.progress.epoch;
        let batcher =
            Batcher::train(train, self.cfg.batch, self.cfg.seed)?.augment(self.cfg.augment);
        let steps = self.steps_per_epoch(train.n);
        let log = Tensor::zeros(gpu, DType::Bits, &[steps.max(1), LOG_WORDS])?;
        let start = Instant::now();
        let (mut images, mut done) = (0usize, 0usize);
        let shape = [train.h, train.w, train.c];
        let signs_at_start = latent_signs(gpu, &mut self.model)?;
        let mut flips = 0.0;
        for (i, batch) in batcher.epoch(epoch as u64).enumerate() {
            if batch.len < 2 {
                // Batch statistics need two images; only a final one-image batch can be this small.
                log::debug!("skipping a final batch of {} image", batch.len);
                continue;
            }
            let t = (epoch as f32) + i as f32 / steps as f32;
            let lr = self.cfg.lr_at(t);
            let pixels = Tensor::from_slice(
                gpu,
                &[batch.len, shape[0], shape[1], shape[2]],
                &batch.images,
            )?;
            let labels = Tensor::from_slice(gpu, &[batch.len], &batch.labels)?;
            let mut rec = Recorder::new(gpu);
            let logits = self.model.forward(&mut rec, &pixels, true)?;
            let out = loss::softmax_xent(&mut rec, &logits, &labels)?;
            self.model.backward(&mut rec, &out.dlogits)?;
            self.progress.step += 1;
            optimizer::apply(&mut rec, &mut self.model, &self.cfg, self.progress.step, lr)?;
            rec.copy_words(&out.loss, 0, &log, i * LOG_WORDS, 1)?;
            rec.copy_words(&out.correct, 0, &log, i * LOG_WORDS + 1, 2)?;
            rec.submit();
            images += batch.len;
            done = i + 1;
            if done % self.cfg.log_every.max(1) == 0 || done == steps {
                let words = log.to_vec::<u32>(gpu)?;
                let (l, c1) = log_stats(&words[..done * LOG_WORDS]);
                check_finite(&words[..done * LOG_WORDS], epoch)?;
                let ips = images as f64 / start.elapsed().as_secs_f64();
                flips = sign_flip_fraction(&signs_at_start, &latent_signs(gpu, &mut self.model)?);
                bar.set_position(done as u64);
                bar.set_message(format!(
                    "loss {l:.3}  top1 {:.1}%  flips {:.2}%  {ips:.0} img/s",
                    100.0 * c1 / images as f64,
                    100.0 * flips
                ));
            }
        }
        gpu.wait()?;
        let seconds = start.elapsed().as_secs_f64();
        let words = log.to_vec::<u32>(gpu)?;
        check_finite(&words[..done * LOG_WORDS], epoch)?;
        let (loss, correct) = log_stats(&words[..done * LOG_WORDS]);
        if done > 0 {
            flips = sign_flip_fraction(&signs_at_start, &latent_signs(gpu, &mut self.model)?);
        }
        Ok(EpochStats {
            loss,
            top1: correct / images.max(1) as f64,
            images_per_sec: images as f64 / seconds,
            seconds,
            sign_flips: flips,
        })
    }

    /// Top-1 and top-5 accuracy of the training graph (running BN statistics) on `data`.
    pub fn evaluate(&mut self, data: &Dataset) -> Result<(f64, f64)> {
        evaluate(self.gpu, &mut self.model, data, self.cfg.batch)
    }

    /// Train to the configured number of epochs, checkpointing after each one.
    pub fn run(
        &mut self,
        train: &Dataset,
        test: &Dataset,
        opts: &RunOptions,
        mut on_epoch: impl FnMut(&EpochMetrics),
    ) -> Result<Summary> {
        check_data(&self.model.cfg, train)?;
        check_data(&self.model.cfg, test)?;
        if let Some(dir) = &opts.out {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            let cfg = serde_json::json!({ "model": self.model.cfg, "train": self.cfg });
            checkpoint::write_atomic(
                &dir.join("config.json"),
                serde_json::to_string_pretty(&cfg).expect("json").as_bytes(),
            )?;
        }
        let run_start = Instant::now();
        let mut total_images = 0.0;
        let mut total_train_s = 0.0;
        while self.progress.epoch < self.cfg.epochs.min(opts.stop_after.unwrap_or(usize::MAX)) {
            let steps = self.steps_per_epoch(train.n) as u64;
            let bar = if opts.progress {
                indicatif::ProgressBar::new(steps).with_style(
                    indicatif::ProgressStyle::with_template(
                        "epoch {prefix} [{bar:30}] {pos}/{len} {msg} eta {eta}",
                    )
                    .expect("template")
                    .progress_chars("=> "),
                )
            } else {
                indicatif::ProgressBar::hidden()
            };
            bar.set_prefix(format!("{}/{}", self.progress.epoch + 1, self.cfg.epochs));
            let lr = self.cfg.lr_at(self.progress.epoch as f32) as f64;
            let stats = self.train_epoch(train, &bar)?;
            bar.finish_and_clear();
            total_images += train.n as f64;
            total_train_s += stats.seconds;
            let (test_top1, test_top5) = self.evaluate(test)?;
            self.progress.epoch += 1;
            let m = EpochMetrics {
                epoch: self.progress.epoch,
                train_loss: stats.loss,
                train_top1: stats.top1,
                test_top1,
                test_top5,
                images_per_sec: stats.images_per_sec,
                seconds: stats.seconds,
                lr,
                sign_flips: stats.sign_flips,
            };
            self.history.push(m.clone());
            if let Some(dir) = &opts.out {
                checkpoint::save(self.gpu, dir, &mut self.model, &self.cfg, &self.progress)?;
                checkpoint::write_atomic(
                    &dir.join("metrics.jsonl"),
                    metrics::to_jsonl(&self.history).as_bytes(),
                )?;
                if let Err(e) = super::plot::write_curves(&dir.join("curves.png"), &self.history) {
                    log::warn!("could not draw curves.png: {e}");
                }
            }
            on_epoch(&m);
        }
        let last = self.history.last();
        Ok(Summary {
            epochs: self.progress.epoch,
            final_test_top1: last.map_or(0.0, |m| m.test_top1),
            final_test_top5: last.map_or(0.0, |m| m.test_top5),
            best_test_top1: self.history.iter().map(|m| m.test_top1).fold(0.0, f64::max),
            images_per_sec: if total_train_s > 0.0 {
                total_images / total_train_s
            } else {
                0.0
            },
            seconds: run_start.elapsed().as_secs_f64(),
            parameters: self.model.parameter_count(),
            adapter: self.gpu.summary().name.clone(),
            out: opts.out.clone(),
        })
    }
}

/// What one epoch of training measured.
struct EpochStats {
    loss: f64,
    top1: f64,
    images_per_sec: f64,
    seconds: f64,
    sign_flips: f64,
}

/// The sign (w >= 0, as the forward pass binarizes) of every latent binary weight, in
/// visiting order.
pub fn latent_signs(gpu: &Gpu, model: &mut Model) -> Result<Vec<bool>> {
    let mut tensors = Vec::new();
    model.visit(&mut |p| {
        if p.kind == ParamKind::Latent {
            tensors.push(p.value.clone());
        }
    });
    let mut signs = Vec::new();
    for t in tensors {
        signs.extend(t.to_vec::<f32>(gpu)?.into_iter().map(|w| w >= 0.0));
    }
    Ok(signs)
}

/// The fraction of binary weights whose sign differs between two snapshots.
pub fn sign_flip_fraction(before: &[bool], after: &[bool]) -> f64 {
    let n = before.len().min(after.len());
    if n == 0 {
        return 0.0;
    }
    let flipped = before.iter().zip(after).filter(|(a, b)| a != b).count();
    flipped as f64 / n as f64
}

/// Evaluate a model (BN in inference mode) on a dataset: (top-1, top-5).
pub fn evaluate(gpu: &Gpu, model: &mut Model, data: &Dataset, batch: usize) -> Result<(f64, f64)> {
    check_data(&model.cfg, data)?;
    let steps = data.n.div_ceil(batch.max(1));
    let log = Tensor::zeros(gpu, DType::I32, &[steps.max(1), 2])?;
    for (i, b) in Batcher::eval(data, batch)?.epoch(0).enumerate() {
        let pixels = Tensor::from_slice(gpu, &[b.len, data.h, data.w, data.c], &b.images)?;
        let labels = Tensor::from_slice(gpu, &[b.len], &b.labels)?;
        let mut rec = Recorder::new(gpu);
        let logits = model.forward(&mut rec, &pixels, false)?;
        let counts = loss::accuracy_counts(&mut rec, &logits, &labels)?;
        rec.copy_words(&counts, 0, &log, i * 2, 2)?;
        rec.submit();
    }
    let counts = log.to_vec::<i32>(gpu)?;
    let n = data.n.max(1) as f64;
    let top1: i64 = counts.iter().step_by(2).map(|&c| c as i64).sum();
    let top5: i64 = counts.iter().skip(1).step_by(2).map(|&c| c as i64).sum();
    Ok((top1 as f64 / n, top5 as f64 / n))
}

fn check_data(cfg: &ModelConfig, d: &Dataset) -> Result<()> {
    if [d.h, d.w, d.c] != cfg.input {
        return Err(Error::Invalid(format!(
            "the model takes {}x{}x{} images, the data has {}x{}x{}",
            cfg.input[0], cfg.input[1], cfg.input[2], d.h, d.w, d.c
        )));
    }
    if let Some(&l) = d.labels.iter().find(|&&l| l as usize >= cfg.classes) {
        return Err(Error::Invalid(format!(
            "label {l} is outside the model's {} classes",
            cfg.classes
        )));
    }
    Ok(())
}

/// (mean loss, top-1 correct) of logged steps.
fn log_stats(words: &[u32]) -> (f64, f64) {
    let steps = words.len() / LOG_WORDS;
    let mut loss = 0.0;
    let mut c1 = 0.0;
    for s in 0..steps {
        loss += f32::from_bits(words[s * LOG_WORDS]) as f64;
        c1 += words[s * LOG_WORDS + 1] as i32 as f64;
    }
    (loss / steps.max(1) as f64, c1)
}

fn check_finite(words: &[u32], epoch: usize) -> Result<()> {
    for (s, w) in words.chunks_exact(LOG_WORDS).enumerate() {
        let l = f32::from_bits(w[0]);
        if !l.is_finite() {
            return Err(Error::Diverged(format!(
                "the loss became {l} at epoch {} step {}; training stopped and the last good checkpoint (if any) was kept. Try a lower --lr",
                epoch + 1,
                s + 1
            )));
        }
    }
    Ok(())
}

/// The training graph's predicted class per image (evaluation mode; ties: lowest index).
pub fn predict(gpu: &Gpu, model: &mut Model, data: &Dataset, batch: usize) -> Result<Vec<u32>> {
    check_data(&model.cfg, data)?;
    let k = model.cfg.classes;
    let mut out = Vec::with_capacity(data.n);
    for b in Batcher::eval(data, batch)?.epoch(0) {
        let pixels = Tensor::from_slice(gpu, &[b.len, data.h, data.w, data.c], &b.images)?;
        let mut rec = Recorder::new(gpu);
        let logits = model.forward(&mut rec, &pixels, false)?;
        rec.submit();
        let l = logits.to_vec::<f32>(gpu)?;
        for i in 0..b.len {
            let row = &l[i * k..(i + 1) * k];
            out.push((0..k).fold(0, |best, j| if row[j] > row[best] { j } else { best }) as u32);
        }
    }
    Ok(out)
}
