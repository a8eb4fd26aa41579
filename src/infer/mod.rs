//! Integer inference: folding (BN + quantizer -> integer thresholds), the packed export
//! format, the integer-only engine, and image preparation for `pixembed infer`.

pub mod engine;
pub mod export;
pub mod fold;
pub mod format;
pub mod image;

pub use export::{fold_model, IntModel};
