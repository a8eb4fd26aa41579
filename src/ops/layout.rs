//! Memory layouts: the one place they are defined. Every kernel and host op follows these.
//!
//! * **Activations (f32 or i32)**: NHWC, contiguous; element (n, h, w, c) at
//!   `((n * H + h) * W + w) * C + c`.
//! * **Pixels (u8)**: NHWC bytes, four per u32 word, little-endian within the word
//!   (byte i is bits `8 * (i % 4)` of word `i / 4`).
//! * **k-bit activations, packed**: bit-planes of 32 channels per u32 word. With
//!   `Cw = ceil(C / 32)` words per plane, pixel (n, h, w) owns `k * Cw` words laid out
//!   plane-major: word `((n * H + h) * W + w) * k * Cw + b * Cw + j` holds bit b of the codes
//!   of channels `32 j .. 32 j + 31`, channel `32 j + i` at bit i. Channels past C are 0,
//!   so they (and zero-padded pixels, whose words are all 0) add nothing to popcount sums.
//! * **Float conv weights**: `[O, KH, KW, C]` (OHWI), f32.
//! * **Binary conv weights, packed**: `[O, KH, KW, Cw]` u32 words; bit i of word j is 1 when
//!   the weight of input channel `32 j + i` is +1 and 0 when it is -1; bits past C are 0
//!   (they meet activation bits that are always 0).
//! * **Linear weights**: `[O, I]` f32 (row per output).
//! * **Per-channel vectors** (BN parameters, scales, biases): `[C]` f32.
//! * **Thresholds**: `[C, 2^k - 1]` i32, ascending per channel, plus `[C]` i32 flags:
//!   1 = increasing, -1 = decreasing (negative BN scale), 0 = constant output (the code is
//!   then stored in the first threshold slot).

/// Words needed to pack `c` channels at 32 per word.
pub const fn words_for(c: usize) -> usize {
    c.div_ceil(32)
}

pub use crate::reference::geom::ConvGeom;

/// Checks that need the library's error type (the geometry itself lives with the reference
/// ops, which use only `std`).
impl ConvGeom {
    /// Error unless the geometry is usable.
    pub fn check(&self) -> crate::Result<()> {
        let ok = self.n > 0
            && self.c > 0
            && self.o > 0
            && self.kh > 0
            && self.kw > 0
            && self.stride > 0
            && self.h + 2 * self.pad >= self.kh
            && self.w + 2 * self.pad >= self.kw;
        if ok {
            Ok(())
        } else {
            Err(crate::Error::shape(format!(
                "invalid convolution geometry {self:?}"
            )))
        }
    }
}
