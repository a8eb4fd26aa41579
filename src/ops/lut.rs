//! Code-table gather: u8 pixels -> packed bit-planes of the frozen first layer's codes
//! (the code table, [`crate::infer::export::CodeTable`]).
//! Math and layout: shaders/lut.wgsl; reference: [`crate::reference::lut`].

use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::ops::layout::words_for;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    pixels: u32,
    c: u32,
    d: u32,
    bits: u32,
    cw: u32,
    one_table: u32,
    total: u32,
    _pad: u32,
}

/// pixels U8 \[N,H,W,C\], table codes Bits \[T,256,D\] (T = 1 or C) -> Bits \[N,H,W,bits,Cw\]
/// with Cw = ceil(C*D / 32).
pub fn gather_packed(
    rec: &mut Recorder,
    pixels: &Tensor,
    table: &Tensor,
    bits: u32,
) -> Result<Tensor> {
    let s = pixels.shape();
    let t = table.shape();
    if pixels.dtype() != DType::U8
        || s.len() != 4
        || table.dtype() != DType::Bits
        || t.len() != 3
        || t[1] != 256
    {
        return Err(Error::shape(format!(
            "lut gather: pixels {pixels:?} (u8 NHWC), table {table:?} ([T,256,D] codes)"
        )));
    }
    let (c, d) = (s[3], t[2]);
    if !(t[0] == 1 || t[0] == c) || !(1..=8).contains(&bits) {
        return Err(Error::shape(format!(
            "lut gather: {} tables for {c} channels, {bits} bits",
            t[0]
        )));
    }
    let pixels_n = s[0] * s[1] * s[2];
    let cw = words_for(c * d);
    let total = pixels_n * bits as usize * cw;
    let out = Tensor::empty(
        rec.gpu(),
        DType::Bits,
        &[s[0], s[1], s[2], bits as usize, cw],
    )?;
    let p = Params {
        pixels: pixels_n as u32,
        c: c as u32,
        d: d as u32,
        bits,
        cw: cw as u32,
        one_table: (t[0] == 1) as u32,
        total: total as u32,
        _pad: 0,
    };
    let groups = grid_for(rec.gpu(), total, 64);
    rec.dispatch(
        &Kernel::new("lut", "gather_packed"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(pixels),
            Arg::T(table),
            Arg::T(&out),
        ],
        groups,
    )?;
    Ok(out)
}
