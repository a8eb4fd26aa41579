//! Residual thresholds of the integer engine: code = q(BN(acc) + step * s) folded per
//! (channel, shortcut code s). Math: shaders/residual_threshold.wgsl; reference:
//! [`crate::reference::lut::residual_threshold`].

use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::ops::layout::words_for;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    ho: u32,
    wo: u32,
    o: u32,
    h: u32,
    w: u32,
    cin: u32,
    stride: u32,
    bits: u32,
    ow: u32,
    cinw: u32,
    total: u32,
}

/// acc I32 \[N,Ho,Wo,O\]; x_in Bits \[N,H,W,bits,Cinw\] (the block input, `cin` channels);
/// th I32 [O, n+1, n]; flags I32 [O, n+1] -> Bits \[N,Ho,Wo,bits,Ow\].
#[allow(clippy::too_many_arguments)]
pub fn apply(
    rec: &mut Recorder,
    acc: &Tensor,
    x_in: &Tensor,
    cin: usize,
    stride: usize,
    bits: u32,
    th: &Tensor,
    flags: &Tensor,
) -> Result<Tensor> {
    let a = acc.shape();
    let x = x_in.shape();
    let levels = (1usize << bits) - 1;
    let ok = a.len() == 4
        && x.len() == 5
        && x[3] == bits as usize
        && x[4] == words_for(cin)
        && a[0] == x[0]
        && stride > 0
        && a[1] == x[1].div_ceil(stride)
        && a[2] == x[2].div_ceil(stride)
        && cin <= a[3]
        && th.shape() == [a[3], levels + 1, levels]
        && flags.shape() == [a[3], levels + 1];
    if !ok {
        return Err(Error::shape(format!(
            "residual thresholds: acc {acc:?}, input {x_in:?} ({cin} channels, {bits} bits), thresholds {th:?}, flags {flags:?}"
        )));
    }
    let ow = words_for(a[3]);
    let total = a[0] * a[1] * a[2] * ow;
    let out = Tensor::empty(
        rec.gpu(),
        DType::Bits,
        &[a[0], a[1], a[2], bits as usize, ow],
    )?;
    let p = Params {
        n: a[0] as u32,
        ho: a[1] as u32,
        wo: a[2] as u32,
        o: a[3] as u32,
        h: x[1] as u32,
        w: x[2] as u32,
        cin: cin as u32,
        stride: stride as u32,
        bits,
        ow: ow as u32,
        cinw: x[4] as u32,
        total: total as u32,
    };
    let groups = grid_for(rec.gpu(), total, 64);
    rec.dispatch(
        &Kernel::new("residual_threshold", "apply"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(acc),
            Arg::T(x_in),
            Arg::T(th),
            Arg::T(flags),
            Arg::T(&out),
        ],
        groups,
    )?;
    Ok(out)
}
