//! The GPU runtime: adapter selection, device, typed tensors, buffer pool, shader registry
//! and pipeline cache, step recording, readback and timing.

pub mod adapter;
pub mod choice;
mod context;
pub mod needs;
pub mod pool;
pub mod readback;
mod recorder;
pub mod registry;
mod tensor;
mod timing;

pub use adapter::{AdapterRequest, AdapterSummary, LimitsMode};
pub use context::{Gpu, GpuFeatures, KeyLimits};
pub use recorder::{grid, grid_for, Arg, Recorder};
pub use registry::Kernel;
pub use tensor::{DType, Element, Tensor, TENSOR_USAGE};
pub use timing::PassTimes;
