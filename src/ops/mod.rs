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

/// Check the environment variables that force an implementation (`PIXEMBED_BINCONV`,
/// `PIXEMBED_FIRST_TABLE`): an unknown value is an error up front, not a silent default.
pub fn check_env() -> crate::Result<()> {
    binconv::forced()?;
    first_table::forced_impl()?;
    Ok(())
}
