//! Host side of each kernel family: shape checks, bindings, dispatch; forward and backward.
//! No model knowledge lives here. Layouts: [`layout`].

pub mod bn;
pub mod elementwise;
pub mod layout;
pub mod linear;
pub mod pool;
pub mod quant;
