//! Host side of each kernel family: shape checks, bindings, dispatch; forward and backward.
//! No model knowledge lives here. Layouts: [`layout`].

pub mod binarize;
pub mod embed;
pub mod encode;
pub mod layout;
pub mod pack;
pub mod quant;
