//! Checkpoints: one safetensors file holding every parameter, batch-norm statistic and
//! optimizer state, plus metadata (format, version, model and training configuration,
//! completed epochs, optimizer step). Written atomically: a temporary file in the same
//! directory, synced, then renamed over the old one, so an interruption never leaves a
//! half-written checkpoint. Schema: docs/checkpoint.md.

use crate::error::{Error, Result};
use crate::gpu::{Gpu, Tensor};
use crate::nn::{Model, ModelConfig};
use crate::train::config::TrainConfig;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "pixembed-checkpoint";
pub const VERSION: &str = "1";
pub const FILE_NAME: &str = "checkpoint.safetensors";

/// Where training stands.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub step: u64,
}

fn bad(path: &Path, msg: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Write `bytes` to `path` atomically (temp file + fsync + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Save the model, optimizer state and progress to `dir/checkpoint.safetensors`.
pub fn save(
    gpu: &Gpu,
    dir: &Path,
    model: &mut Model,
    train: &TrainConfig,
    progress: &Progress,
) -> Result<PathBuf> {
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
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| bad(dir, e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(FILE_NAME);
    write_atomic(&path, &bytes)?;
    Ok(path)
}

/// A checkpoint read from disk, not yet on the GPU.
pub struct Loaded {
    pub path: PathBuf,
    pub model: ModelConfig,
    pub train: TrainConfig,
    pub progress: Progress,
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
        progress: Progress { epoch, step },
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
