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

impl BlockedConv {
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
