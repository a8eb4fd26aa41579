//! Packing one output-channel group of the weights into a uniform-sized table for the
//! register-blocked kernel (layout in shaders/conv_pack.wgsl).

use crate::error::Result;
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::ops::layout::ConvGeom;

/// Floats in one packed group table: the kernel declares `array<vec4<f32>, 4096>`, 64 KiB,
/// the uniform binding size every adapter offers.
pub(super) const TABLE_FLOATS: usize = 16384;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PackParams {
    o: u32,
    kh: u32,
    kw: u32,
    c: u32,
    g0: u32,
    og: u32,
    flip: u32,
    total: u32,
    c0: u32,
    cn: u32,
    _pad: [u32; 2],
}

/// Which view of the weights a table holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum View {
    /// Outputs are the convolution's output channels o; inputs its input channels c.
    Forward,
    /// Outputs are c, inputs o, taps flipped: the stride-1 gradient w.r.t. the input.
    FlippedTransposed,
}

/// Pack output channels `g0 .. g0 + og` and input channels `c0 .. c0 + cn` of the `view`
/// of `w` into one table of [`TABLE_FLOATS`] floats.
#[allow(clippy::too_many_arguments)]
pub(super) fn pack_group(
    rec: &mut Recorder,
    g: &ConvGeom,
    w: &Tensor,
    view: View,
    g0: usize,
    og: usize,
    c0: usize,
    cn: usize,
) -> Result<Tensor> {
    let total = g.kh * g.kw * cn * og;
    debug_assert!(total <= TABLE_FLOATS);
    pack_into(rec, g, w, view, g0, og, c0, cn, TABLE_FLOATS)
}

/// [`pack_group`] into a table of exactly `len >= KH*KW*cn*og` floats (any size).
#[allow(clippy::too_many_arguments)]
pub(super) fn pack_into(
    rec: &mut Recorder,
    g: &ConvGeom,
    w: &Tensor,
    view: View,
    g0: usize,
    og: usize,
    c0: usize,
    cn: usize,
    len: usize,
) -> Result<Tensor> {
    let total = g.kh * g.kw * cn * og;
    let table = Tensor::empty(rec.gpu(), DType::F32, &[len.max(total)])?;
    let p = PackParams {
        o: g.o as u32,
        kh: g.kh as u32,
        kw: g.kw as u32,
        c: g.c as u32,
        g0: g0 as u32,
        og: og as u32,
        flip: (view == View::FlippedTransposed) as u32,
        total: total as u32,
        c0: c0 as u32,
        cn: cn as u32,
        _pad: [0; 2],
    };
    rec.dispatch(
        &Kernel::new("conv_pack", "pack_group"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(w),
            Arg::T(&table),
        ],
        grid_for(rec.gpu(), total, 64),
    )?;
    Ok(table)
}
