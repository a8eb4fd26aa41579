//! Host side of each kernel family: shape checks, bindings, dispatch; forward and backward.
//! No model knowledge lives here. Layouts: [`layout`].

pub mod bconv;
pub mod binarize;
pub mod binconv;
pub mod bn;
pub mod conv;
pub mod elementwise;
pub mod embed;
pub mod encode;
pub mod first_conv;
pub mod first_table;
pub mod layout;
pub mod linear;
pub mod loss;
pub mod lut;
pub mod optim;
pub mod pack;
pub mod packed_pool;
pub mod pool;
pub mod quant;
pub mod reduce;
pub mod residual_threshold;
pub mod shortcut;
pub mod threshold;
