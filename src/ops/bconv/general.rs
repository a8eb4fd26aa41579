//! The general bitwise convolution: one output element per invocation, any shape
//! (shaders/bconv.wgsl). Thresholded output = accumulators, then `threshold::apply_packed`;
//! residual output = accumulators, then `residual_threshold::apply`.

use super::{output_tensor, Output};
use crate::error::Result;
use crate::gpu::{grid_for, Arg, Kernel, Recorder, Tensor};
use crate::ops::layout::{words_for, ConvGeom};
use crate::ops::{residual_threshold, threshold};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    o: u32,
    cw: u32,
    bits: u32,
    kh: u32,
    kw: u32,
    stride: u32,
    pad: u32,
    total: u32,
}

pub(super) fn forward(
    rec: &mut Recorder,
    geom: &ConvGeom,
    bits: u32,
    x: &Tensor,
    w: &Tensor,
    out: Output,
) -> Result<Tensor> {
    if let Output::Threshold(th) = out {
        let acc = forward(rec, geom, bits, x, w, Output::I32)?;
        return threshold::apply_packed(rec, &acc, th);
    }
    if let Output::Residual(r) = out {
        let acc = forward(rec, geom, bits, x, w, Output::I32)?;
        return residual_threshold::apply(
            rec,
            &acc,
            r.input,
            r.cin,
            r.stride,
            r.bits,
            r.thresholds,
            r.flags,
        );
    }
    let y = output_tensor(rec, geom, out)?;
    let total = y.numel();
    let p = Params {
        h: geom.h as u32,
        w: geom.w as u32,
        ho: geom.ho() as u32,
        wo: geom.wo() as u32,
        o: geom.o as u32,
        cw: words_for(geom.c) as u32,
        bits,
        kh: geom.kh as u32,
        kw: geom.kw as u32,
        stride: geom.stride as u32,
        pad: geom.pad as u32,
        total: total as u32,
    };
    let groups = grid_for(rec.gpu(), total, 64);
    let params = Arg::Params(bytemuck::bytes_of(&p));
    match out {
        Output::Scaled(scale) => rec.dispatch(
            &Kernel::new("bconv", "forward_scaled"),
            &[params, Arg::T(x), Arg::T(w), Arg::T(&y), Arg::T(scale)],
            groups,
        )?,
        _ => rec.dispatch(
            &Kernel::new("bconv", "forward_i32"),
            &[params, Arg::T(x), Arg::T(w), Arg::T(&y)],
            groups,
        )?,
    }
    Ok(y)
}
