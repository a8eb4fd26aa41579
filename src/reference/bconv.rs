//! Binary-weight x k-bit-activation convolution on unpacked values: the spec that the
//! packed popcount kernels are checked against. Independent of any packing.
//!
//! For output (n, oy, ox, o):
//!   acc = sum over taps (ky, kx) with (iy, ix) = (oy s - pad + ky, ox s - pad + kx) inside
//!         the image, and channels c, of code[n, iy, ix, c] * sign[o, ky, kx, c]
//! where codes are unsigned integers and signs are +1 or -1. Taps outside the image are
//! zero padding and add nothing.

use super::geom::ConvGeom;
use super::threshold::threshold_packed;

/// Integer accumulators `[N, Ho, Wo, O]` of codes `[N, H, W, C]` and signs `[O, KH, KW, C]`
/// (each +1 or -1).
pub fn bconv_forward(g: &ConvGeom, codes: &[u32], signs: &[i32]) -> Vec<i32> {
    assert_eq!(codes.len(), g.n * g.h * g.w * g.c, "codes shape");
    assert_eq!(signs.len(), g.o * g.kh * g.kw * g.c, "signs shape");
    let (ho, wo) = (g.ho(), g.wo());
    let mut out = vec![0i32; g.n * ho * wo * g.o];
    for n in 0..g.n {
        for oy in 0..ho {
            for ox in 0..wo {
                for o in 0..g.o {
                    let mut acc = 0i32;
                    for ky in 0..g.kh {
                        for kx in 0..g.kw {
                            let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                            let ix = (ox * g.stride + kx) as isize - g.pad as isize;
                            if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                continue;
                            }
                            let (iy, ix) = (iy as usize, ix as usize);
                            for c in 0..g.c {
                                let a = codes[((n * g.h + iy) * g.w + ix) * g.c + c] as i32;
                                let s = signs[((o * g.kh + ky) * g.kw + kx) * g.c + c];
                                acc += a * s;
                            }
                        }
                    }
                    out[((n * ho + oy) * wo + ox) * g.o + o] = acc;
                }
            }
        }
    }
    out
}

/// `acc * scale[o]` in f32 (one rounding: the accumulator is exact in f32 below 2^24).
pub fn bconv_forward_scaled(g: &ConvGeom, codes: &[u32], signs: &[i32], scale: &[f32]) -> Vec<f32> {
    bconv_forward(g, codes, signs)
        .iter()
        .enumerate()
        .map(|(i, &a)| a as f32 * scale[i % g.o])
        .collect()
}

/// Thresholded and packed: `[N, Ho, Wo, k_out, Ow]` words (see [`super::threshold`]).
pub fn bconv_forward_threshold(
    g: &ConvGeom,
    codes: &[u32],
    signs: &[i32],
    values: &[i32],
    flags: &[i32],
    out_bits: u32,
) -> Vec<u32> {
    threshold_packed(
        &bconv_forward(g, codes, signs),
        g.o,
        values,
        flags,
        out_bits,
    )
}
