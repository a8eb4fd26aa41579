//! Layers with parameters and saved activations, the first-layer variants, and model
//! builders. Data flows pixels -> first layer -> body (codes between layers) -> head.

pub mod blocks;
pub mod config;
pub mod conv;
pub mod first;
pub mod head;
pub mod model;
pub mod norm;
pub mod param;

pub use config::{Arch, FirstLayerKind, LastLayer, ModelConfig, TableKind};
pub use model::Model;
pub use param::{Param, ParamKind};
