//! Pixel embedding (docs/method.md): a trainable table maps each 8-bit pixel value to D values,
//! which the activation quantizer turns into k-bit codes.
//!
//! Shapes: table `[T, 256, D]` f32 with T = 1 (one table shared by every input channel) or
//! T = C (one table per channel); pixels `[N, H, W, C]` u8; codes `[N, H, W, C * D]`, channel
//! `c * D + d` of a pixel holding the code of `table[t][v][d]`, v the pixel's value in channel
//! c and t = 0 (shared) or c (per channel).

use super::QuantSpec;

/// The table channel `c` reads: 0 when one table is shared, `c` when there is one per channel.
pub fn table_of(tables: usize, c: usize) -> usize {
    if tables == 1 {
        0
    } else {
        c
    }
}

/// Forward: codes `[P, C * D]` (as f32) of pixels `[P, C]` (P = N * H * W).
/// code[p][c * D + d] = spec.code(table\[t\]\[v\]\[d\]), v = pixels\[p\]\[c\], t = table_of(T, c).
pub fn embed_forward(
    spec: QuantSpec,
    table: &[f32],
    tables: usize,
    dim: usize,
    pixels: &[u8],
    channels: usize,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(pixels.len() * dim);
    for (i, &v) in pixels.iter().enumerate() {
        let t = table_of(tables, i % channels);
        for d in 0..dim {
            out.push(spec.code(table[(t * 256 + v as usize) * dim + d]) as f32);
        }
    }
    out
}

/// Backward (straight-through): dtable `[T, 256, D]`,
/// dtable\[t\]\[v\]\[d\] = sum over pixels p and channels c with table_of(T, c) = t and
/// pixels\[p\]\[c\] = v of dvalue[p][c * D + d], times 1\[0 < table\[t\]\[v\]\[d\] < max\].
/// `dvalue` is the gradient w.r.t. the quantized value, `[P, C * D]`.
pub fn embed_backward(
    spec: QuantSpec,
    table: &[f32],
    tables: usize,
    dim: usize,
    pixels: &[u8],
    channels: usize,
    dvalue: &[f32],
) -> Vec<f32> {
    let mut sums = vec![0.0f32; tables * 256 * dim];
    for (i, &v) in pixels.iter().enumerate() {
        let t = table_of(tables, i % channels);
        for d in 0..dim {
            sums[(t * 256 + v as usize) * dim + d] += dvalue[i * dim + d];
        }
    }
    sums.iter()
        .zip(table)
        .map(|(&g, &e)| g * spec.ste_mask(e))
        .collect()
}
