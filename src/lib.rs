//! pixembed: train and run fully quantized CNNs (1-bit weights, k-bit activations, pixel
//! embedding in the first layer) on any GPU that wgpu reaches.
//!
//! Layers, from the bottom: [`gpu`] (runtime) <- [`ops`] (kernels) <- `nn` (layers,
//! models) <- `train` / `infer` / `bench`. [`reference`](mod@reference) is the plain-Rust spec of every op.

pub mod bench;
pub mod data;
pub mod error;
pub mod gpu;
pub mod infer;
pub mod insight;
pub mod io;
pub mod nn;
pub mod ops;
pub mod reference;
mod stored;
pub mod train;

pub use error::{Error, Result};
pub use reference::QuantSpec;
