//! Plain-Rust CPU reference of every op: obvious loops, std only. This is the executable
//! spec; every GPU kernel is tested against its twin here.

pub mod bconv;
pub mod binarize;
pub mod bn;
pub mod conv;
pub mod elementwise;
pub mod embed;
pub mod encode;
pub mod first_conv;
pub mod first_table;
pub mod geom;
pub mod linear;
pub mod loss;
pub mod lut;
pub mod optim;
pub mod pack;
pub mod pool;
pub mod quant;
pub mod reduce;
pub mod shortcut;
pub mod threshold;

pub use quant::QuantSpec;
