//! Host side of each kernel family: shape checks, bindings, dispatch; forward and backward.
//! No model knowledge lives here. Layouts: [`layout`].

pub mod bconv;
pub mod layout;
pub mod quant;
pub mod threshold;
