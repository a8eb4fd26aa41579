//! Input encodings of the first-layer variants other than pixel embedding, from u8 pixels
//! `[P, C]` (P = N * H * W, channels last) to f32 `[P, C']`.

/// The threshold of thermometer level `l` of `levels`: thr(l) = ((l + 1) * 256) / (L + 1),
/// integer division, so the L thresholds split 0..=255 into L + 1 near-equal bins.
pub fn thermometer_threshold(l: u32, levels: u32) -> u32 {
    ((l + 1) * 256) / (levels + 1)
}

/// Naive k-bit quantization of the pixel: code = v >> (8 - bits), C' = C.
pub fn naive(pixels: &[u8], bits: u32) -> Vec<f32> {
    pixels.iter().map(|&v| (v >> (8 - bits)) as f32).collect()
}

/// Bit-plane encoding, C' = 8 C: channel c * 8 + b holds bit b of v times 2^b, so that the
/// eight planes sum to v and a convolution over them equals the convolution over v.
pub fn bitplane(pixels: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(pixels.len() * 8);
    for &v in pixels {
        for b in 0..8 {
            out.push(((v >> b) & 1) as f32 * (1u32 << b) as f32);
        }
    }
    out
}

/// Thermometer encoding, C' = C * L: channel c * L + l = 1 if v >= thr(l) else 0.
pub fn thermometer(pixels: &[u8], levels: u32) -> Vec<f32> {
    let mut out = Vec::with_capacity(pixels.len() * levels as usize);
    for &v in pixels {
        for l in 0..levels {
            let on = v as u32 >= thermometer_threshold(l, levels);
            out.push(if on { 1.0 } else { 0.0 });
        }
    }
    out
}

/// The pixel value as f32 (the int8 variant's input).
pub fn to_f32(pixels: &[u8]) -> Vec<f32> {
    pixels.iter().map(|&v| v as f32).collect()
}

/// Normalized float input: (v / 255 - mean\[c\]) / std\[c\], c = channel (index mod C).
pub fn normalize(pixels: &[u8], mean: &[f32], std: &[f32]) -> Vec<f32> {
    let c = mean.len();
    pixels
        .iter()
        .enumerate()
        .map(|(i, &v)| (v as f32 / 255.0 - mean[i % c]) / std[i % c])
        .collect()
}
