//! Looking inside a quantized network: what it costs ([`summary`]), what its first layer
//! learned ([`plot`]), and which first layer gives the best accuracy for its cost ([`study`]).

pub mod plot;
pub mod study;
pub mod summary;
