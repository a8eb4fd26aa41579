//! Checkpoints: one safetensors file holding every parameter, batch-norm statistic and
//! optimizer state, plus metadata (format, version, model and training configuration,
//! completed epochs, optimizer step, the position within a running epoch, the metrics
//! history and the data settings). Written atomically ([`crate::io::write_atomic`]), so an
//! interruption never leaves a half-written checkpoint, and never written when a tensor
//! holds NaN or an infinity (the last good one stays). Schema: docs/checkpoint.md.

use crate::error::{Error, Result};
use crate::gpu::{Gpu, Tensor};
use crate::io::write_atomic;
use crate::nn::{Model, ModelConfig};
use crate::stored::{FileKind, Header, NamedTensors};
use crate::train::config::TrainConfig;
use crate::train::metrics::EpochMetrics;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "pixembed-checkpoint";
pub const VERSION: &str = "1";
const KIND: FileKind = FileKind {
    format: FORMAT,
    version: VERSION,
    name: "checkpoint",
};
pub const FILE_NAME: &str = "checkpoint.safetensors";

/// Where training stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub step: u64,
    /// Batches of the running epoch (number `epoch + 1`) already trained: 0 at an epoch
    /// boundary. A resumed run continues with batch `batch` of that epoch's order.
    pub batch: usize,
    /// Sum over those batches of each batch's mean loss (summed in batch order in f64, so a
    /// resumed epoch reports exactly the loss an uninterrupted one does).
    pub loss_sum: f64,
    /// Top-1 hits over those batches.
    pub correct: u64,
    /// Images in those batches.
    pub images: u64,
}

/// Where the training data came from, so that `--resume` trains on the same images.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataSettings {
    pub path: PathBuf,
    pub format: crate::data::Format,
    pub limit_train: Option<usize>,
    pub limit_test: Option<usize>,
    /// (width, height) images were resized to.
    pub resize: Option<(u32, u32)>,
    /// CIFAR-100 with its 20 coarse labels (absent, so false, in older checkpoints).
    #[serde(default)]
    pub coarse_labels: bool,
}

/// Everything a checkpoint holds besides the tensors.
pub struct RunState<'a> {
    pub train: &'a TrainConfig,
    pub progress: &'a Progress,
    pub history: &'a [EpochMetrics],
    pub data: Option<&'a DataSettings>,
    /// Within an epoch: the sign of every latent binary weight when the epoch began, so a
    /// resumed epoch reports the same sign-flip fraction as an uninterrupted one.
    pub epoch_start_signs: Option<&'a [bool]>,
}

/// The tensor holding [`RunState::epoch_start_signs`] (+1 / -1 as f32).
const EPOCH_START_SIGNS: &str = "run.epoch_start_signs";

fn bad(path: &Path, msg: String) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        msg,
    }
}

/// Save the model, optimizer state and progress to `dir/checkpoint.safetensors`.
pub fn save(gpu: &Gpu, dir: &Path, model: &mut Model, state: &RunState) -> Result<PathBuf> {
    let path = dir.join(FILE_NAME);
    let mut named: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    model.try_visit(|p| {
        let mut push = |name: String, t: &Tensor| -> Result<()> {
            let v = t.to_vec::<f32>(gpu)?;
            named.push((name, t.shape().to_vec(), bytemuck::cast_slice(&v).to_vec()));
            Ok(())
        };
        push(p.name.clone(), &p.value)?;
        for (i, s) in p.state.iter().enumerate() {
            push(format!("{}.opt{i}", p.name), s)?;
        }
        Ok(())
    })?;
    if let Some(signs) = state.epoch_start_signs.filter(|_| state.progress.batch > 0) {
        let v: Vec<f32> = signs.iter().map(|&s| if s { 1.0 } else { -1.0 }).collect();
        named.push((
            EPOCH_START_SIGNS.to_string(),
            vec![v.len()],
            bytemuck::cast_slice(&v).to_vec(),
        ));
    }
    // A checkpoint with NaN would be refused by `load`: refuse to write it, so the last good
    // one stays in place.
    for (name, _, data) in &named {
        let values: &[f32] = bytemuck::cast_slice(data);
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(bad(
                &path,
                format!(
                    "not written: tensor {name} holds {v} (training diverged); the last good \
                     checkpoint, if any, was kept"
                ),
            ));
        }
    }
    let (train, progress) = (state.train, state.progress);
    let views: Vec<(String, TensorView)> = named
        .iter()
        .map(|(n, shape, data)| {
            TensorView::new(Dtype::F32, shape.clone(), data).map(|v| (n.clone(), v))
        })
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad(dir, e.to_string()))?;
    let meta: HashMap<String, String> = [
        ("format", FORMAT.to_string()),
        ("version", VERSION.to_string()),
        (
            "model_config",
            serde_json::to_string(&model.cfg).expect("config serializes"),
        ),
        (
            "train_config",
            serde_json::to_string(train).expect("config serializes"),
        ),
        ("epoch", progress.epoch.to_string()),
        ("step", progress.step.to_string()),
        ("batch", progress.batch.to_string()),
        ("loss_sum_bits", progress.loss_sum.to_bits().to_string()),
        ("correct", progress.correct.to_string()),
        ("images", progress.images.to_string()),
        (
            "history",
            serde_json::to_string(state.history).expect("metrics serialize"),
        ),
    ]
    .into_iter()
    .chain(state.data.map(|d| {
        (
            "data",
            serde_json::to_string(d).expect("settings serialize"),
        )
    }))
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| bad(dir, e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    write_atomic(&path, &bytes)?;
    Ok(path)
}

/// A checkpoint read from disk, not yet on the GPU.
pub struct Loaded {
    pub path: PathBuf,
    pub model: ModelConfig,
    pub train: TrainConfig,
    pub progress: Progress,
    /// Metrics of the completed epochs (`None` in checkpoints written before they were kept
    /// here).
    pub history: Option<Vec<EpochMetrics>>,
    /// The data the run trained on (`None` in older checkpoints).
    pub data: Option<DataSettings>,
    /// Signs of the latent weights when the running epoch began (mid-epoch checkpoints).
    pub epoch_start_signs: Option<Vec<bool>>,
    tensors: NamedTensors,
}

/// `path` may be the checkpoint file or the run directory holding it.
pub fn resolve(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(FILE_NAME)
    } else {
        path.to_path_buf()
    }
}

/// Read and check a checkpoint file.
pub fn load(path: &Path) -> Result<Loaded> {
    let path = resolve(path);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let header = Header::read(&path, &bytes, bad)?;
    header.check(&KIND, &[])?;
    let model: ModelConfig = header.json("model_config")?;
    let train: TrainConfig = header.json("train_config")?;
    let epoch = header.number("epoch")?;
    let step = header.number("step")?;
    // Optional keys (absent in older checkpoints): a missing one means an epoch boundary.
    let opt_num = |k: &str| -> Result<u64> { header.opt(k).map_or(Ok(0), |_| header.number(k)) };
    let batch = opt_num("batch")? as usize;
    let loss_sum = f64::from_bits(opt_num("loss_sum_bits")?);
    let correct = opt_num("correct")?;
    let images = opt_num("images")?;
    let history = header
        .opt("history")
        .map(|_| header.json("history"))
        .transpose()?;
    let data = header
        .opt("data")
        .map(|_| header.json("data"))
        .transpose()?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(&path, format!("corrupt tensor data ({e})")))?;
    let mut tensors = NamedTensors::read(&path, &st, true, bad)?;
    for (name, (_, data)) in tensors.map() {
        if data.iter().any(|v| !v.is_finite()) {
            return Err(bad(
                &path,
                format!("tensor {name} holds NaN or infinite values"),
            ));
        }
    }
    Ok(Loaded {
        path,
        model,
        train,
        progress: Progress {
            epoch,
            step,
            batch,
            loss_sum,
            correct,
            images,
        },
        history,
        data,
        epoch_start_signs: tensors
            .remove(EPOCH_START_SIGNS)
            .map(|(_, v)| v.iter().map(|&x| x > 0.0).collect()),
        tensors,
    })
}

impl Loaded {
    /// Every stored tensor by name: (shape, values).
    pub fn tensor_map(&self) -> &HashMap<String, (Vec<usize>, Vec<f32>)> {
        self.tensors.map()
    }

    /// Copy the stored values into a model built from `self.model` (checks every name and
    /// shape). Optimizer state is restored when present.
    pub fn restore(&self, gpu: &Gpu, model: &mut Model) -> Result<()> {
        let mut used = 0usize;
        model.try_visit(|p| {
            used += self.tensors.restore(gpu, p, true)?;
            Ok(())
        })?;
        let stored = self.tensors.map().len();
        if used != stored {
            return Err(bad(
                &self.path,
                format!("{} tensors do not belong to this model", stored - used),
            ));
        }
        Ok(())
    }
}
