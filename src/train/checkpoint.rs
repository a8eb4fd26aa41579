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
use crate::train::config::TrainConfig;
use crate::train::metrics::EpochMetrics;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "pixembed-checkpoint";
pub const VERSION: &str = "1";
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

fn bad(path: &Path, msg: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Save the model, optimizer state and progress to `dir/checkpoint.safetensors`.
pub fn save(gpu: &Gpu, dir: &Path, model: &mut Model, state: &RunState) -> Result<PathBuf> {
    let path = dir.join(FILE_NAME);
    let mut named: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut err = None;
    model.visit(&mut |p| {
        let mut push = |name: String, t: &Tensor| match t.to_vec::<f32>(gpu) {
            Ok(v) => named.push((name, t.shape().to_vec(), bytemuck::cast_slice(&v).to_vec())),
            Err(e) => err = Some(e),
        };
        push(p.name.clone(), &p.value);
        for (i, s) in p.state.iter().enumerate() {
            push(format!("{}.opt{i}", p.name), s);
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
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
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
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
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| bad(&path, format!("not a readable safetensors file ({e})")))?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let get = |k: &str| {
        meta.get(k)
            .ok_or_else(|| bad(&path, format!("metadata has no {k:?}")))
    };
    if get("format")? != FORMAT {
        return Err(bad(
            &path,
            format!("not a pixembed checkpoint (format {:?})", get("format")?),
        ));
    }
    if get("version")? != VERSION {
        return Err(bad(
            &path,
            format!(
                "checkpoint version {} is not supported (this build reads {VERSION})",
                get("version")?
            ),
        ));
    }
    let model: ModelConfig = serde_json::from_str(get("model_config")?)
        .map_err(|e| bad(&path, format!("model_config: {e}")))?;
    let train: TrainConfig = serde_json::from_str(get("train_config")?)
        .map_err(|e| bad(&path, format!("train_config: {e}")))?;
    let epoch = get("epoch")?
        .parse()
        .map_err(|_| bad(&path, "epoch is not a number"))?;
    let step = get("step")?
        .parse()
        .map_err(|_| bad(&path, "step is not a number"))?;
    // Optional keys (absent in older checkpoints): a missing one means an epoch boundary.
    let opt_num = |k: &str| -> Result<u64> {
        meta.get(k).map_or(Ok(0), |v| {
            v.parse()
                .map_err(|_| bad(&path, format!("{k} is not a number")))
        })
    };
    let batch = opt_num("batch")? as usize;
    let loss_sum = f64::from_bits(opt_num("loss_sum_bits")?);
    let correct = opt_num("correct")?;
    let images = opt_num("images")?;
    let history = meta
        .get("history")
        .map(|h| serde_json::from_str(h).map_err(|e| bad(&path, format!("history: {e}"))))
        .transpose()?;
    let data = meta
        .get("data")
        .map(|d| serde_json::from_str(d).map_err(|e| bad(&path, format!("data: {e}"))))
        .transpose()?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(&path, format!("corrupt tensor data ({e})")))?;
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(bad(
                &path,
                format!("tensor {name} is {:?}, expected F32", view.dtype()),
            ));
        }
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if data.iter().any(|v| !v.is_finite()) {
            return Err(bad(
                &path,
                format!("tensor {name} holds NaN or infinite values"),
            ));
        }
        tensors.insert(name, (view.shape().to_vec(), data));
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
        &self.tensors
    }

    /// Copy the stored values into a model built from `self.model` (checks every name and
    /// shape). Optimizer state is restored when present.
    pub fn restore(&self, gpu: &Gpu, model: &mut Model) -> Result<()> {
        let mut err: Option<Error> = None;
        let mut used = 0usize;
        model.visit(&mut |p| {
            if err.is_some() {
                return;
            }
            let mut fetch = |name: &str, shape: &[usize]| -> Result<Option<Tensor>> {
                match self.tensors.get(name) {
                    Some((s, data)) if s == shape => {
                        used += 1;
                        Tensor::from_slice(gpu, shape, data).map(Some)
                    }
                    Some((s, _)) => Err(bad(
                        &self.path,
                        format!("{name} has shape {s:?}, the model needs {shape:?}"),
                    )),
                    None => Ok(None),
                }
            };
            match fetch(&p.name, p.value.shape()) {
                Ok(Some(t)) => p.value = t,
                Ok(None) => {
                    err = Some(bad(&self.path, format!("missing tensor {}", p.name)));
                    return;
                }
                Err(e) => {
                    err = Some(e);
                    return;
                }
            }
            p.state.clear();
            for i in 0.. {
                match fetch(&format!("{}.opt{i}", p.name), p.value.shape()) {
                    Ok(Some(t)) => p.state.push(t),
                    Ok(None) => break,
                    Err(e) => {
                        err = Some(e);
                        return;
                    }
                }
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        if used != self.tensors.len() {
            return Err(bad(
                &self.path,
                format!(
                    "{} tensors do not belong to this model",
                    self.tensors.len() - used
                ),
            ));
        }
        Ok(())
    }
}
