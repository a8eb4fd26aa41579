//! Host side of each kernel family: shape checks, bindings, dispatch; forward and backward.
//! No model knowledge lives here. Layouts: [`layout`].

pub mod layout;
pub mod lut;
pub mod packed_pool;
pub mod quant;
pub mod residual_threshold;
pub mod shortcut;
