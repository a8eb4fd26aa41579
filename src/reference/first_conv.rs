//! The fused float first layer: u8 pixels -> per-channel normalisation -> float convolution
//! -> per-channel float thresholds -> k-bit codes (packed as bit-planes).
//!
//! * `x[n,h,w,c] = (v / 255 - mean[c]) / std[c]` for the u8 value v;
//! * `y[n,oy,ox,o] = sum_{ky,kx,c} x[n, oy*s+ky-pad, ox*s+kx-pad, c] * w[o,ky,kx,c]`, zero
//!   outside the image (x = 0 there, i.e. padding is applied after normalisation);
//! * `code = #{ j : y >= t[o][j] }` (flag 1), `#{ j : y <= t[o][j] }` (flag -1), or
//!   `clamp(t[o][0], 0, 2^k - 1)` (flag 0): the counting rule of [`super::threshold`] on
//!   floats.
//!
//! Sums are accumulated in f64 (the GPU accumulates in f32, so codes of sums within
//! rounding distance of a threshold may differ; tests compare away from thresholds).

use super::geom::ConvGeom;
use super::pack::pack_bitplanes;
use super::threshold::levels;
use super::QuantSpec;

/// The code of one sum under one channel's float thresholds `t` (length `2^k - 1`).
pub fn float_threshold_code(y: f64, t: &[f32], flag: i32, bits: u32) -> u32 {
    let top = levels(bits) as f32;
    if flag == 0 {
        return t[0].clamp(0.0, top) as u32;
    }
    t.iter()
        .filter(|&&ti| {
            if flag > 0 {
                y >= ti as f64
            } else {
                y <= ti as f64
            }
        })
        .count() as u32
}

/// The sums `y` `[N, Ho, Wo, O]` (f64) of normalised pixels `[N, H, W, C]` and weights
/// `w` `[O, K, K, C]`.
pub fn first_conv_sums(
    g: &ConvGeom,
    pixels: &[u8],
    mean: &[f32],
    std: &[f32],
    w: &[f32],
) -> Vec<f64> {
    let (ho, wo) = (g.ho(), g.wo());
    let x: Vec<f64> = pixels
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = i % g.c;
            (v as f64 / 255.0 - mean[c] as f64) / std[c] as f64
        })
        .collect();
    let pos = |o: usize, k: usize, size: usize| {
        let p = (o * g.stride + k) as isize - g.pad as isize;
        (p >= 0 && (p as usize) < size).then_some(p as usize)
    };
    let mut y = vec![0.0f64; g.n * ho * wo * g.o];
    for n in 0..g.n {
        for oy in 0..ho {
            for ox in 0..wo {
                for o in 0..g.o {
                    let mut acc = 0.0f64;
                    for ky in 0..g.kh {
                        let Some(iy) = pos(oy, ky, g.h) else { continue };
                        for kx in 0..g.kw {
                            let Some(ix) = pos(ox, kx, g.w) else { continue };
                            for c in 0..g.c {
                                let xv = x[((n * g.h + iy) * g.w + ix) * g.c + c];
                                let wv = w[((o * g.kh + ky) * g.kw + kx) * g.c + c];
                                acc += xv * wv as f64;
                            }
                        }
                    }
                    y[((n * ho + oy) * wo + ox) * g.o + o] = acc;
                }
            }
        }
    }
    y
}

/// Codes `[M, O]` of sums `y` `[M, O]` under thresholds `values` `[O, 2^k - 1]`, `flags` `[O]`.
pub fn float_threshold_codes(
    y: &[f64],
    o: usize,
    values: &[f32],
    flags: &[i32],
    bits: u32,
) -> Vec<u32> {
    let n = levels(bits);
    y.iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = i % o;
            float_threshold_code(v, &values[ch * n..(ch + 1) * n], flags[ch], bits)
        })
        .collect()
}

/// The layer's packed output `[N, Ho, Wo, k, ceil(O / 32)]` words.
#[allow(clippy::too_many_arguments)]
pub fn first_conv_packed(
    g: &ConvGeom,
    pixels: &[u8],
    mean: &[f32],
    std: &[f32],
    w: &[f32],
    values: &[f32],
    flags: &[i32],
    bits: u32,
) -> Vec<u32> {
    let y = first_conv_sums(g, pixels, mean, std, w);
    pack_bitplanes(
        &float_threshold_codes(&y, g.o, values, flags, bits),
        g.o,
        bits,
    )
}

/// Inference batch-norm followed by the activation quantizer, folded into float thresholds
/// on the convolution sum y: `code = q(gamma (y - mean) / sqrt(var + eps) + beta)`.
///
/// With `a = gamma / sqrt(var + eps)` and the quantizer `round(clamp(z, 0, max) n / max)`,
/// `code >= j` (j = 1..n) exactly when `z >= (j - 1/2) max / n`, i.e. when
/// `a (y - mean) >= (j - 1/2) max / n - beta`:
/// * a > 0: `y >= mean + ((j - 1/2) max / n - beta) / a` (flag 1, ascending in j);
/// * a < 0: `y <= mean + ((j - 1/2) max / n - beta) / a` (flag -1, descending in j, stored
///   ascending);
/// * a = 0: the constant code `q(beta)` (flag 0).
///
/// Ties at exactly half a step round to even in the quantizer and up here; thresholds are
/// rounded to f32. Returns `values` `[O, n]` and `flags` `[O]`.
pub fn bn_float_thresholds(
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    var: &[f32],
    eps: f32,
    spec: QuantSpec,
) -> (Vec<f32>, Vec<i32>) {
    let n = spec.levels();
    let mut values = Vec::with_capacity(gamma.len() * n as usize);
    let mut flags = Vec::with_capacity(gamma.len());
    for o in 0..gamma.len() {
        let a = gamma[o] as f64 / (var[o] as f64 + eps as f64).sqrt();
        if a == 0.0 || !a.is_finite() {
            values.extend(std::iter::repeat_n(spec.code(beta[o]) as f32, n as usize));
            flags.push(0);
            continue;
        }
        let mut t: Vec<f32> = (1..=n)
            .map(|j| {
                let z = (j as f64 - 0.5) * spec.max as f64 / n as f64;
                (mean[o] as f64 + (z - beta[o] as f64) / a) as f32
            })
            .collect();
        t.sort_by(f32::total_cmp);
        values.extend(t);
        flags.push(if a > 0.0 { 1 } else { -1 });
    }
    (values, flags)
}
