//! Convolution geometry, shared by the reference ops and the GPU ops (re-exported as
//! [`crate::ops::layout::ConvGeom`]).

/// Geometry of a 2-D convolution over NHWC input: `n` images of `h x w` pixels with `c`
/// channels, `o` output channels, a `kh x kw` kernel, `stride`, zero padding `pad` on every
/// side. Output size: `ho = (h + 2 pad - kh) / stride + 1` (same for w).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvGeom {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub o: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvGeom {
    /// Square kernel `k`, padding `k / 2` ("same" at stride 1).
    pub fn same(n: usize, h: usize, w: usize, c: usize, o: usize, k: usize, stride: usize) -> Self {
        ConvGeom {
            n,
            h,
            w,
            c,
            o,
            kh: k,
            kw: k,
            stride,
            pad: k / 2,
        }
    }
    pub fn ho(&self) -> usize {
        (self.h + 2 * self.pad - self.kh) / self.stride + 1
    }
    pub fn wo(&self) -> usize {
        (self.w + 2 * self.pad - self.kw) / self.stride + 1
    }
    pub fn input_shape(&self) -> [usize; 4] {
        [self.n, self.h, self.w, self.c]
    }
    pub fn output_shape(&self) -> [usize; 4] {
        [self.n, self.ho(), self.wo(), self.o]
    }
    pub fn weight_shape(&self) -> [usize; 4] {
        [self.o, self.kh, self.kw, self.c]
    }
    /// Multiply-accumulates of one forward pass.
    pub fn macs(&self) -> u64 {
        (self.n * self.ho() * self.wo() * self.o * self.kh * self.kw * self.c) as u64
    }
}
