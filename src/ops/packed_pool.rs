//! 2x2 max pooling (stride 2) on packed k-bit codes, for the integer engine.
//! Math: shaders/packed_pool.wgsl; reference: [`crate::reference::lut::max_pool_codes`].

use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    bits: u32,
    cw: u32,
    total: u32,
    _pad: u32,
}

/// Bits \[N,H,W,k,Cw\] -> Bits [N,H/2,W/2,k,Cw] (floor; windows fully inside).
pub fn max2x2(rec: &mut Recorder, x: &Tensor) -> Result<Tensor> {
    let s = x.shape();
    if x.dtype() != DType::Bits || s.len() != 5 || s[1] < 2 || s[2] < 2 || s[3] == 0 || s[3] > 8 {
        return Err(Error::shape(format!(
            "packed max pool of {x:?}: expected Bits [N,H,W,k,Cw], H, W >= 2, k <= 8"
        )));
    }
    let (ho, wo) = (s[1] / 2, s[2] / 2);
    let y = Tensor::empty(rec.gpu(), DType::Bits, &[s[0], ho, wo, s[3], s[4]])?;
    let total = s[0] * ho * wo * s[4];
    let p = Params {
        h: s[1] as u32,
        w: s[2] as u32,
        ho: ho as u32,
        wo: wo as u32,
        bits: s[3] as u32,
        cw: s[4] as u32,
        total: total as u32,
        _pad: 0,
    };
    let groups = grid_for(rec.gpu(), total, 64);
    rec.dispatch(
        &Kernel::new("packed_pool", "max2x2"),
        &[Arg::Params(bytemuck::bytes_of(&p)), Arg::T(x), Arg::T(&y)],
        groups,
    )?;
    Ok(y)
}
