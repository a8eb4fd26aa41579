//! What training checkpoints and exported models share: a safetensors file whose metadata
//! names its format and version, and f32 tensors restored into parameters by name.

use crate::error::{Error, Result};
use crate::gpu::{Gpu, Tensor};
use crate::nn::Param;
use safetensors::tensor::Dtype;
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How a file kind words its errors: (file, message) -> error.
pub(crate) type Complaint = fn(&Path, String) -> Error;

/// The kind of file a header must declare.
pub(crate) struct FileKind {
    /// The `format` metadata value.
    pub format: &'static str,
    /// The `version` metadata value this build reads.
    pub version: &'static str,
    /// What a user calls it, in messages ("checkpoint").
    pub name: &'static str,
}

/// The string metadata of a safetensors file.
pub(crate) struct Header {
    path: PathBuf,
    meta: HashMap<String, String>,
    bad: Complaint,
}

impl Header {
    /// Read the metadata of the file `path` whose bytes are `bytes`.
    pub fn read(path: &Path, bytes: &[u8], bad: Complaint) -> Result<Self> {
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| bad(path, format!("not a readable safetensors file ({e})")))?;
        Ok(Header {
            path: path.to_path_buf(),
            meta: header.metadata().clone().unwrap_or_default(),
            bad,
        })
    }

    /// An error about this file.
    pub fn bad(&self, msg: impl Into<String>) -> Error {
        (self.bad)(&self.path, msg.into())
    }

    /// A key the file must have.
    pub fn get(&self, key: &str) -> Result<&str> {
        self.opt(key)
            .ok_or_else(|| self.bad(format!("metadata has no {key:?}")))
    }

    /// A key older files may lack.
    pub fn opt(&self, key: &str) -> Option<&str> {
        self.meta.get(key).map(String::as_str)
    }

    /// A key that holds JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T> {
        serde_json::from_str(self.get(key)?).map_err(|e| self.bad(format!("{key}: {e}")))
    }

    /// A key that holds a number.
    pub fn number<T: std::str::FromStr>(&self, key: &str) -> Result<T> {
        self.get(key)?
            .parse()
            .map_err(|_| self.bad(format!("{key} is not a number")))
    }

    /// Error unless the file declares `kind` at its version. A file of one of `others`
    /// (format, what to tell the user) gets that message instead.
    pub fn check(&self, kind: &FileKind, others: &[(&str, &str)]) -> Result<()> {
        let format = self.get("format")?;
        if format != kind.format {
            return Err(self.bad(match others.iter().find(|(f, _)| *f == format) {
                Some((_, hint)) => hint.to_string(),
                None => format!("not a pixembed {} (format {format:?})", kind.name),
            }));
        }
        let version = self.get("version")?;
        if version != kind.version {
            return Err(self.bad(format!(
                "{} version {version} is not supported (this build reads {})",
                kind.name, kind.version
            )));
        }
        Ok(())
    }
}

/// f32 tensors by name, to restore parameters from.
pub(crate) struct NamedTensors {
    path: PathBuf,
    bad: Complaint,
    map: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl NamedTensors {
    /// The F32 tensors of a safetensors file; with `only_f32`, a tensor of another type is an
    /// error, else it is left out.
    pub fn read(path: &Path, st: &SafeTensors, only_f32: bool, bad: Complaint) -> Result<Self> {
        let mut map = HashMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                if only_f32 {
                    return Err(bad(
                        path,
                        format!("tensor {name} is {:?}, expected F32", view.dtype()),
                    ));
                }
                continue;
            }
            let data: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            map.insert(name, (view.shape().to_vec(), data));
        }
        Ok(NamedTensors {
            path: path.to_path_buf(),
            bad,
            map,
        })
    }

    /// Every tensor: name -> (shape, values).
    pub fn map(&self) -> &HashMap<String, (Vec<usize>, Vec<f32>)> {
        &self.map
    }

    /// Take one tensor out.
    pub fn remove(&mut self, name: &str) -> Option<(Vec<usize>, Vec<f32>)> {
        self.map.remove(name)
    }

    /// The tensor `name` on the GPU if it is stored: an error when it has another shape.
    fn fetch(&self, gpu: &Gpu, name: &str, shape: &[usize]) -> Result<Option<Tensor>> {
        match self.map.get(name) {
            Some((s, data)) if s == shape => Tensor::from_slice(gpu, shape, data).map(Some),
            Some((s, _)) => Err((self.bad)(
                &self.path,
                format!("{name} has shape {s:?}, the model needs {shape:?}"),
            )),
            None => Ok(None),
        }
    }

    /// Replace the value of `p` with the tensor of its name (an error when it is missing or
    /// has another shape), and with `state`, its optimizer state with the tensors
    /// `NAME.opt0`, `NAME.opt1`, ... that are stored. Returns how many tensors it used.
    pub fn restore(&self, gpu: &Gpu, p: &mut Param, state: bool) -> Result<usize> {
        p.value = self
            .fetch(gpu, &p.name, p.value.shape())?
            .ok_or_else(|| (self.bad)(&self.path, format!("missing tensor {}", p.name)))?;
        let mut used = 1;
        if state {
            p.state.clear();
            while let Some(t) =
                self.fetch(gpu, &format!("{}.opt{}", p.name, used - 1), p.value.shape())?
            {
                p.state.push(t);
                used += 1;
            }
        }
        Ok(used)
    }
}
