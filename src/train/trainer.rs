//! The training loop. Each step (upload of a u8 batch, forward, loss, backward, optimizer)
//! is recorded into one command encoder and submitted once; per-step loss and correct
//! counts are copied into a GPU-side log that is read back only every `log_every` steps
//! and at the end of the epoch.

use super::checkpoint::{self, DataSettings, Progress, RunState};
use super::config::TrainConfig;
use super::health::{latent_signs, sign_flip_fraction};
use super::metrics::{self, EpochMetrics};
use super::optimizer;
use crate::data::{Batcher, Dataset};
use crate::error::{Error, Result};
use crate::gpu::{DType, Gpu, Recorder, Tensor};
use crate::nn::{Model, ModelConfig};
use crate::ops::loss;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where results go and how the run reports.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Directory for checkpoint, config, metrics and plot.
    pub out: Option<PathBuf>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Stop once this many epochs are complete (a time-boxed run; resume continues it).
    pub stop_after: Option<usize>,
    /// Also checkpoint (with `out`) every this many optimizer steps within an epoch.
    pub checkpoint_steps: Option<u64>,
    /// Also checkpoint (with `out`) when this much time has passed since the last one.
    pub checkpoint_interval: Option<Duration>,
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
    /// The data the run trains on, kept in its checkpoints for `--resume`.
    pub data: Option<DataSettings>,
    /// Signs of the latent binary weights when the running epoch began.
    epoch_start_signs: Option<Vec<bool>>,
}

/// One epoch's training results.
struct EpochTrained {
    loss: f64,
    top1: f64,
    images_per_sec: f64,
    seconds: f64,
    sign_flips: f64,
}

impl<'a> Trainer<'a> {
    pub fn new(gpu: &'a Gpu, model_cfg: &ModelConfig, cfg: &TrainConfig) -> Result<Self> {
        cfg.validate()?;
        let model = Model::new(gpu, model_cfg, cfg.seed)?;
        Ok(Trainer {
            gpu,
            model,
            cfg: cfg.clone(),
            progress: Progress::default(),
            history: Vec::new(),
            data: None,
            epoch_start_signs: None,
        })
    }

    /// Continue a run from its checkpoint (file or run directory) with its own configuration
    /// (validated), metrics history and position, mid-epoch included.
    pub fn resume(gpu: &'a Gpu, path: &Path) -> Result<Self> {
        Self::from_checkpoint(gpu, checkpoint::load(path)?)
    }

    /// [`Trainer::resume`] from a checkpoint already read.
    pub fn from_checkpoint(gpu: &'a Gpu, loaded: checkpoint::Loaded) -> Result<Self> {
        loaded.train.validate().map_err(|e| Error::Checkpoint {
            path: loaded.path.clone(),
            msg: format!("its training configuration is not valid: {e}"),
        })?;
        let mut model = Model::new(gpu, &loaded.model, loaded.train.seed)?;
        loaded.restore(gpu, &mut model)?;
        // metrics.jsonl is rewritten from the history at the next save: refuse (rather than
        // erase) lines that cannot be read.
        let dir = loaded.path.parent().unwrap_or(Path::new("."));
        let from_file = metrics::read_jsonl(&dir.join("metrics.jsonl"))?;
        let mut history = loaded.history.clone().unwrap_or(from_file);
        history.retain(|m| m.epoch <= loaded.progress.epoch);
        Ok(Trainer {
            gpu,
            model,
            cfg: loaded.train.clone(),
            progress: loaded.progress.clone(),
            history,
            data: loaded.data.clone(),
            epoch_start_signs: loaded.epoch_start_signs.clone(),
        })
    }

    /// The training batches: a last batch of one image joins the one before it (batch
    /// statistics need two images).
    fn batcher<'d>(&self, train: &'d Dataset) -> Result<Batcher<'d>> {
        Ok(Batcher::train(train, self.cfg.batch, self.cfg.seed)?
            .augment(self.cfg.augment, self.cfg.epochs)
            .merge_short_last(2))
    }

    /// Train the rest of the running epoch (from batch `progress.batch`), checkpointing
    /// within it as `opts` asks.
    fn train_epoch(
        &mut self,
        train: &Dataset,
        bar: &indicatif::ProgressBar,
        opts: &RunOptions,
        last_save: &mut Instant,
    ) -> Result<EpochTrained> {
        let gpu = self.gpu;
        let epoch = self.progress.epoch;
        let batcher = self.batcher(train)?;
        let steps = batcher.batches_per_epoch();
        let first = self.progress.batch;
        let log = Tensor::zeros(gpu, DType::Bits, &[steps.max(1), LOG_WORDS])?;
        let start = Instant::now();
        // Images trained by this call (a resumed epoch's rate counts only these).
        let mut images = 0usize;
        let shape = [train.h, train.w, train.c];
        let signs_at_start = match self.epoch_start_signs.take() {
            Some(s) if first > 0 => s,
            _ => latent_signs(gpu, &mut self.model)?,
        };
        self.epoch_start_signs = Some(signs_at_start.clone());
        bar.set_position(first as u64);
        for (i, batch) in (first..).zip(batcher.epoch_from(epoch as u64, first)) {
            let t = (epoch as f32) + i as f32 / steps as f32;
            let lr = self.cfg.lr_at(t);
            let pixels = Tensor::from_slice(
                gpu,
                &[batch.len, shape[0], shape[1], shape[2]],
                &batch.images,
            )?;
            let labels = Tensor::from_slice(gpu, &[batch.len], &batch.labels)?;
            let mut rec = Recorder::new(gpu);
            self.model
                .set_bn_momentum(crate::nn::norm::momentum_at(self.progress.step));
            let logits = self.model.forward(&mut rec, &pixels, true)?;
            let out = loss::softmax_xent(&mut rec, &logits, &labels)?;
            self.model.backward(&mut rec, &out.dlogits)?;
            self.progress.step += 1;
            optimizer::apply(&mut rec, &mut self.model, &self.cfg, self.progress.step, lr)?;
            rec.copy_words(&out.loss, 0, &log, i * LOG_WORDS, 1)?;
            rec.copy_words(&out.correct, 0, &log, i * LOG_WORDS + 1, 2)?;
            rec.submit();
            images += batch.len;
            let done = i + 1;
            let save_due = opts.out.is_some()
                && done < steps
                && (opts
                    .checkpoint_steps
                    .is_some_and(|n| n > 0 && self.progress.step.is_multiple_of(n))
                    || opts
                        .checkpoint_interval
                        .is_some_and(|d| last_save.elapsed() >= d));
            if save_due || done % self.cfg.log_every.max(1) == 0 || done == steps {
                let words = log.to_vec::<u32>(gpu)?;
                self.fold_log(&words, done, &batcher)?;
                let ips = images as f64 / start.elapsed().as_secs_f64();
                // Reading every latent weight back costs a transfer: only for a visible bar.
                let flips = if bar.is_hidden() {
                    0.0
                } else {
                    sign_flip_fraction(&signs_at_start, &latent_signs(gpu, &mut self.model)?)
                };
                bar.set_position(done as u64);
                bar.set_message(format!(
                    "loss {:.3}  top1 {:.1}%  flips {:.2}%  {ips:.0} img/s",
                    self.progress.loss_sum / done as f64,
                    100.0 * self.progress.correct as f64 / self.progress.images.max(1) as f64,
                    100.0 * flips
                ));
            }
            if save_due {
                if let Some(dir) = &opts.out {
                    self.save(dir)?;
                    *last_save = Instant::now();
                }
            }
        }
        gpu.wait()?;
        let seconds = start.elapsed().as_secs_f64();
        if self.progress.batch != steps || self.progress.images == 0 {
            return Err(Error::Invalid(format!(
                "epoch {} trained {} of {steps} batches ({} images): nothing to report",
                epoch + 1,
                self.progress.batch,
                self.progress.images
            )));
        }
        let flips = sign_flip_fraction(&signs_at_start, &latent_signs(gpu, &mut self.model)?);
        Ok(EpochTrained {
            loss: self.progress.loss_sum / steps as f64,
            top1: self.progress.correct as f64 / self.progress.images as f64,
            images_per_sec: images as f64 / seconds,
            seconds,
            sign_flips: flips,
        })
        .inspect(|_| self.epoch_start_signs = None)
    }

    /// Add the logged results of batches `progress.batch..done` (in order) to the running
    /// epoch's sums; error if a loss is NaN or infinite.
    fn fold_log(&mut self, words: &[u32], done: usize, batcher: &Batcher) -> Result<()> {
        let from = self.progress.batch;
        check_finite(
            &words[from * LOG_WORDS..done * LOG_WORDS],
            self.progress.epoch,
            from,
        )?;
        for b in from..done {
            let w = &words[b * LOG_WORDS..(b + 1) * LOG_WORDS];
            self.progress.loss_sum += f32::from_bits(w[0]) as f64;
            self.progress.correct += w[1] as i32 as u64;
            self.progress.images += batcher.batch_len(b) as u64;
        }
        self.progress.batch = done;
        Ok(())
    }

    /// Write the checkpoint, then metrics.jsonl and curves.png (both also derivable from the
    /// checkpoint, whose history is the one a resumed run uses).
    fn save(&mut self, dir: &Path) -> Result<()> {
        let state = RunState {
            train: &self.cfg,
            progress: &self.progress,
            history: &self.history,
            data: self.data.as_ref(),
            epoch_start_signs: self.epoch_start_signs.as_deref(),
        };
        checkpoint::save(self.gpu, dir, &mut self.model, &state)?;
        crate::io::write_atomic(
            &dir.join("metrics.jsonl"),
            metrics::to_jsonl(&self.history).as_bytes(),
        )?;
        if let Err(e) = super::plot::write_curves(&dir.join("curves.png"), &self.history) {
            log::warn!("could not draw curves.png: {e}");
        }
        Ok(())
    }

    /// Top-1 and top-5 accuracy of the training graph (running BN statistics) on `data`.
    pub fn evaluate(&mut self, data: &Dataset) -> Result<(f64, f64)> {
        let batch = eval_batch(self.cfg.batch, data.h * data.w);
        evaluate(self.gpu, &mut self.model, data, batch)
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
        self.cfg.validate()?;
        if train.n < 2 {
            return Err(Error::Invalid(format!(
                "training needs at least 2 images (batch statistics), the data has {}",
                train.n
            )));
        }
        let steps = self.batcher(train)?.batches_per_epoch();
        if self.progress.batch >= steps {
            return Err(Error::Invalid(format!(
                "the run stopped at batch {} of epoch {}, but the data gives {steps} batches per \
                 epoch: it is not the data the run trained on",
                self.progress.batch,
                self.progress.epoch + 1
            )));
        }
        if let Some(dir) = &opts.out {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            let cfg = serde_json::json!({ "model": self.model.cfg, "train": self.cfg, "data": self.data });
            crate::io::write_atomic(
                &dir.join("config.json"),
                serde_json::to_string_pretty(&cfg).expect("json").as_bytes(),
            )?;
        }
        let run_start = Instant::now();
        let mut last_save = Instant::now();
        let mut total_images = 0.0;
        let mut total_train_s = 0.0;
        while self.progress.epoch < self.cfg.epochs.min(opts.stop_after.unwrap_or(usize::MAX)) {
            let bar = if opts.progress {
                indicatif::ProgressBar::new(steps as u64).with_style(
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
            let trained = self.train_epoch(train, &bar, opts, &mut last_save)?;
            bar.finish_and_clear();
            total_images += trained.images_per_sec * trained.seconds;
            total_train_s += trained.seconds;
            let (test_top1, test_top5) = self.evaluate(test)?;
            let m = EpochMetrics {
                epoch: self.progress.epoch + 1,
                train_loss: trained.loss,
                train_top1: trained.top1,
                test_top1,
                test_top5,
                images_per_sec: trained.images_per_sec,
                seconds: trained.seconds,
                lr,
                sign_flips: trained.sign_flips,
            };
            self.progress = Progress {
                epoch: self.progress.epoch + 1,
                step: self.progress.step,
                ..Progress::default()
            };
            self.history.push(m.clone());
            if let Some(dir) = &opts.out {
                self.save(dir)?;
                last_save = Instant::now();
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

/// Evaluation keeps no activations for backward and BN uses running statistics, so any batch
/// gives the same results: batches of 2^21 pixels (128 images of 128x128, 41 of 224x224), at
/// most 512 images (every size up to 64x64), and never fewer than the training batch.
fn eval_batch(train_batch: usize, pixels_per_image: usize) -> usize {
    ((1usize << 21) / pixels_per_image.max(1))
        .min(512)
        .max(train_batch)
}

/// Evaluate a model (BN in inference mode) on a dataset: (top-1, top-5). Images whose logits
/// are NaN or infinite count as wrong, with a warning saying how many.
pub fn evaluate(gpu: &Gpu, model: &mut Model, data: &Dataset, batch: usize) -> Result<(f64, f64)> {
    check_data(&model.cfg, data)?;
    let steps = data.n.div_ceil(batch.max(1));
    let log = Tensor::zeros(gpu, DType::I32, &[steps.max(1), 3])?;
    for (i, b) in Batcher::eval(data, batch)?.epoch(0).enumerate() {
        let pixels = Tensor::from_slice(gpu, &[b.len, data.h, data.w, data.c], &b.images)?;
        let labels = Tensor::from_slice(gpu, &[b.len], &b.labels)?;
        let mut rec = Recorder::new(gpu);
        let logits = model.forward(&mut rec, &pixels, false)?;
        let counts = loss::accuracy_counts(&mut rec, &logits, &labels)?;
        rec.copy_words(&counts, 0, &log, i * 3, 3)?;
        rec.submit();
    }
    let counts = log.to_vec::<i32>(gpu)?;
    let n = data.n.max(1) as f64;
    let sum = |k: usize| -> i64 { counts.iter().skip(k).step_by(3).map(|&c| c as i64).sum() };
    let bad = sum(2);
    if bad > 0 {
        log::warn!(
            "{bad} of {} images gave NaN or infinite logits (counted as wrong): the model has diverged",
            data.n
        );
    }
    Ok((sum(0) as f64 / n, sum(1) as f64 / n))
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

/// Error if a logged loss is NaN or infinite; `words` start at batch `first` of the epoch.
fn check_finite(words: &[u32], epoch: usize, first: usize) -> Result<()> {
    for (s, w) in (first..).zip(words.chunks_exact(LOG_WORDS)) {
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
