//! The convolution as the register-blocked kernels (tiled, windowed, texture) see it.

use crate::ops::layout::ConvGeom;

/// A convolution as the register-blocked kernels see it: input [n, h, w, cin], output
/// [n, ho, wo, cout], a kh x kw kernel at `stride`, padding `pad_y` rows and `pad_x` columns
/// (negative: cropping).
#[derive(Clone, Copy, Debug)]
pub(super) struct BlockedConv {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub cin: usize,
    pub ho: usize,
    pub wo: usize,
    pub cout: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad_y: isize,
    pub pad_x: isize,
}

/// The sizes the blocked kernels' parameters start with, in the shaders' order (each kernel's
/// own fields follow in its own parameter struct).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct Sizes {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    ho: u32,
    wo: u32,
    o: u32,
}

impl BlockedConv {
    /// The leading fields of the kernels' parameters: n, h, w, cin, ho, wo, cout.
    pub fn sizes(&self) -> Sizes {
        Sizes {
            n: self.n as u32,
            h: self.h as u32,
            w: self.w as u32,
            c: self.cin as u32,
            ho: self.ho as u32,
            wo: self.wo as u32,
            o: self.cout as u32,
        }
    }

    /// The forward convolution of `g` as it stands.
    pub fn forward(g: &ConvGeom) -> Self {
        BlockedConv {
            n: g.n,
            h: g.h,
            w: g.w,
            cin: g.c,
            ho: g.ho(),
            wo: g.wo(),
            cout: g.o,
            kh: g.kh,
            kw: g.kw,
            stride: g.stride,
            pad_y: g.pad as isize,
            pad_x: g.pad as isize,
        }
    }
}
