//! Float 2-D convolution (NHWC activations, OHWI weights, no bias) and its two backward
//! passes. Sums are accumulated in f64 and rounded once, so integer-valued inputs give exact
//! integer sums. Geometry: [`super::geom::ConvGeom`] (a plain struct).

use super::geom::ConvGeom;

/// Input row/column read by output position `o` at tap `k`: `o * stride + k - pad`, or
/// `None` when that falls in the zero padding.
fn input_pos(o: usize, k: usize, stride: usize, pad: usize, size: usize) -> Option<usize> {
    let p = (o * stride + k) as isize - pad as isize;
    (p >= 0 && (p as usize) < size).then_some(p as usize)
}

/// y\[n,oy,ox,o\] = sum_{ky,kx,c} x[n, oy*s+ky-pad, ox*s+kx-pad, c] * w\[o,ky,kx,c\]
/// (zero outside the image). x: \[N,H,W,C\], w: \[O,KH,KW,C\], y: \[N,Ho,Wo,O\].
pub fn conv_forward(g: &ConvGeom, x: &[f32], w: &[f32]) -> Vec<f32> {
    let (ho, wo) = (g.ho(), g.wo());
    let mut y = vec![0.0f32; g.n * ho * wo * g.o];
    for n in 0..g.n {
        for oy in 0..ho {
            for ox in 0..wo {
                for o in 0..g.o {
                    let mut acc = 0.0f64;
                    for ky in 0..g.kh {
                        let Some(iy) = input_pos(oy, ky, g.stride, g.pad, g.h) else {
                            continue;
                        };
                        for kx in 0..g.kw {
                            let Some(ix) = input_pos(ox, kx, g.stride, g.pad, g.w) else {
                                continue;
                            };
                            for c in 0..g.c {
                                let xv = x[((n * g.h + iy) * g.w + ix) * g.c + c];
                                let wv = w[((o * g.kh + ky) * g.kw + kx) * g.c + c];
                                acc += xv as f64 * wv as f64;
                            }
                        }
                    }
                    y[((n * ho + oy) * wo + ox) * g.o + o] = acc as f32;
                }
            }
        }
    }
    y
}

/// dx\[n,iy,ix,c\] = sum over (ky,kx,o) and output positions with iy = oy*s+ky-pad,
/// ix = ox*s+kx-pad of dy\[n,oy,ox,o\] * w\[o,ky,kx,c\]. dy: \[N,Ho,Wo,O\], dx: \[N,H,W,C\].
pub fn conv_backward_data(g: &ConvGeom, dy: &[f32], w: &[f32]) -> Vec<f32> {
    let (ho, wo) = (g.ho(), g.wo());
    let mut acc = vec![0.0f64; g.n * g.h * g.w * g.c];
    for n in 0..g.n {
        for oy in 0..ho {
            for ox in 0..wo {
                for ky in 0..g.kh {
                    let Some(iy) = input_pos(oy, ky, g.stride, g.pad, g.h) else {
                        continue;
                    };
                    for kx in 0..g.kw {
                        let Some(ix) = input_pos(ox, kx, g.stride, g.pad, g.w) else {
                            continue;
                        };
                        for o in 0..g.o {
                            let d = dy[((n * ho + oy) * wo + ox) * g.o + o] as f64;
                            for c in 0..g.c {
                                let wv = w[((o * g.kh + ky) * g.kw + kx) * g.c + c] as f64;
                                acc[((n * g.h + iy) * g.w + ix) * g.c + c] += d * wv;
                            }
                        }
                    }
                }
            }
        }
    }
    acc.into_iter().map(|v| v as f32).collect()
}

/// dw\[o,ky,kx,c\] = sum_{n,oy,ox} dy\[n,oy,ox,o\] * x[n, oy*s+ky-pad, ox*s+kx-pad, c]
/// (zero outside the image). x: \[N,H,W,C\], dy: \[N,Ho,Wo,O\], dw: \[O,KH,KW,C\].
pub fn conv_backward_weight(g: &ConvGeom, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let (ho, wo) = (g.ho(), g.wo());
    let mut acc = vec![0.0f64; g.o * g.kh * g.kw * g.c];
    for n in 0..g.n {
        for oy in 0..ho {
            for ox in 0..wo {
                for ky in 0..g.kh {
                    let Some(iy) = input_pos(oy, ky, g.stride, g.pad, g.h) else {
                        continue;
                    };
                    for kx in 0..g.kw {
                        let Some(ix) = input_pos(ox, kx, g.stride, g.pad, g.w) else {
                            continue;
                        };
                        for o in 0..g.o {
                            let d = dy[((n * ho + oy) * wo + ox) * g.o + o] as f64;
                            for c in 0..g.c {
                                let xv = x[((n * g.h + iy) * g.w + ix) * g.c + c] as f64;
                                acc[((o * g.kh + ky) * g.kw + kx) * g.c + c] += d * xv;
                            }
                        }
                    }
                }
            }
        }
    }
    acc.into_iter().map(|v| v as f32).collect()
}
