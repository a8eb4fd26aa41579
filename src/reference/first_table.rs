//! Folded-table first layer: the table gather and the first binary convolution folded into
//! one integer table per (tap, input channel, pixel value), then the usual thresholds.
//!
//! A code-table first layer turns pixel value v of input channel c into D integer codes
//! `code[t(c)][v][d]` (t(c) = c, or 0 when one table serves every channel), which feed a
//! binary convolution over C*D channels (channel c*D + d) with signs w[o, ky, kx, c*D + d].
//! Both steps are linear in the codes, so for each tap (ky, kx), channel c and value v
//!
//! ```text
//! T[tap][c][v][o] = sum_d w[o, ky, kx, c*D + d] * code[t(c)][v][d]
//! acc[n, oy, ox, o] = sum over taps inside the image and channels c of T[tap][c][v(iy, ix, c)][o]
//! ```
//!
//! equals the accumulator of the gathered codes' binary convolution exactly (padding taps
//! add nothing, like bconv's zero padding). The codes then come from the same per-channel
//! thresholds ([`super::threshold`]).

use super::geom::ConvGeom;
use super::threshold::threshold_packed;

/// Fold codes `[tables, 256, d]` and signs `[O, KH, KW, C*D]` (+1/-1) into
/// `T [KH*KW, C, 256, O]` (geometry `g` with `g.c = C*D`).
pub fn fold_table(g: &ConvGeom, codes: &[u32], tables: usize, d: usize, signs: &[i32]) -> Vec<i32> {
    let c = g.c / d;
    let taps = g.kh * g.kw;
    assert_eq!(codes.len(), tables * 256 * d, "codes shape");
    assert_eq!(signs.len(), g.o * taps * g.c, "signs shape");
    let mut t = vec![0i32; taps * c * 256 * g.o];
    for tap in 0..taps {
        for ch in 0..c {
            let tb = if tables == 1 { 0 } else { ch };
            for v in 0..256 {
                for o in 0..g.o {
                    let mut s = 0i32;
                    for k in 0..d {
                        let code = codes[(tb * 256 + v) * d + k] as i32;
                        s += code * signs[(o * taps + tap) * g.c + ch * d + k];
                    }
                    t[((tap * c + ch) * 256 + v) * g.o + o] = s;
                }
            }
        }
    }
    t
}

/// Accumulators `[N, Ho, Wo, O]` of u8 pixels `[N, H, W, C]` under a folded table
/// `T [KH*KW, C, 256, O]` (`g.c` = C, the pixel channels).
pub fn folded_acc(g: &ConvGeom, pixels: &[u8], table: &[i32]) -> Vec<i32> {
    let (ho, wo) = (g.ho(), g.wo());
    let mut out = vec![0i32; g.n * ho * wo * g.o];
    for n in 0..g.n {
        for oy in 0..ho {
            for ox in 0..wo {
                let acc = &mut out[((n * ho + oy) * wo + ox) * g.o..][..g.o];
                for ky in 0..g.kh {
                    for kx in 0..g.kw {
                        let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                        let ix = (ox * g.stride + kx) as isize - g.pad as isize;
                        if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                            continue;
                        }
                        let px = ((n * g.h + iy as usize) * g.w + ix as usize) * g.c;
                        for ch in 0..g.c {
                            let v = pixels[px + ch] as usize;
                            let row = &table[(((ky * g.kw + kx) * g.c + ch) * 256 + v) * g.o..];
                            for (a, t) in acc.iter_mut().zip(row) {
                                *a += t;
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// Thresholded and packed output `[N, Ho, Wo, k_out, Ow]` of the folded first layer
/// (`g.c` = C, the pixel channels; `table` from [`fold_table`]).
pub fn folded_threshold(
    g: &ConvGeom,
    pixels: &[u8],
    table: &[i32],
    values: &[i32],
    flags: &[i32],
    out_bits: u32,
) -> Vec<u32> {
    threshold_packed(&folded_acc(g, pixels, table), g.o, values, flags, out_bits)
}
