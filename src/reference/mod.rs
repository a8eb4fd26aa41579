//! Plain-Rust CPU reference of every op: obvious loops, std only. This is the executable
//! spec; every GPU kernel is tested against its twin here.

pub mod bconv;
pub mod pack;
pub mod quant;
pub mod threshold;

pub use quant::QuantSpec;
