//! Plain-Rust CPU reference of every op: obvious loops, std only. This is the executable
//! spec; every GPU kernel is tested against its twin here.

pub mod bn;
pub mod elementwise;
pub mod linear;
pub mod pack;
pub mod pool;
pub mod quant;

pub use quant::QuantSpec;
