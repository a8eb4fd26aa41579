//! The library's error type. Every fallible public function returns [`Result`];
//! the binary adds context with `anyhow`.

use std::path::PathBuf;

/// What Debian/Ubuntu users run to get a software Vulkan adapter.
pub const INSTALL_HINT: &str = "no GPU adapter found. On a headless Linux machine install Mesa's \
software Vulkan driver (lavapipe): `sudo apt-get install mesa-vulkan-drivers` (Debian/Ubuntu), \
`sudo dnf install mesa-vulkan-drivers` (Fedora); on macOS and Windows install your GPU driver";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{INSTALL_HINT}")]
    NoAdapter,
    #[error("no adapter matches {wanted}; adapters present:\n{available}")]
    AdapterNotFound { wanted: String, available: String },
    #[error("unknown backend {0:?}: expected vulkan, metal, dx12 or gl")]
    UnknownBackend(String),
    #[error("could not open the GPU device: {0}")]
    RequestDevice(#[from] wgpu::RequestDeviceError),
    #[error("GPU error: {0}")]
    Gpu(String),
    #[error("shader {0:?} is not in shaders/")]
    UnknownShader(String),
    #[error("shape mismatch: {0}")]
    Shape(String),
    #[error("{what} needs {needed} bytes but the adapter allows at most {limit} bytes per buffer")]
    TooLarge {
        what: String,
        needed: u64,
        limit: u64,
    },
    #[error(
        "the GPU is out of memory: {what} needs {bytes} bytes ({allocated} bytes of buffers \
         created so far); use a smaller --batch or model"
    )]
    OutOfMemory {
        what: String,
        bytes: u64,
        allocated: u64,
    },
    #[error("{path}: {msg}")]
    Data { path: PathBuf, msg: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid argument: {0}")]
    Invalid(String),
    #[error("checkpoint {path}: {msg}")]
    Checkpoint { path: PathBuf, msg: String },
    #[error("training diverged: {0}")]
    Diverged(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn shape(msg: impl Into<String>) -> Self {
        Error::Shape(msg.into())
    }
    pub fn data(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Data {
            path: path.into(),
            msg: msg.into(),
        }
    }
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
