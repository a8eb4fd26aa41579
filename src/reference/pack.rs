//! Bit-plane packing of k-bit codes and sign packing of binary weights (layouts in
//! `ops::layout`): 32 channels per u32 word, channel 32 j + i at bit i of word j.

/// Pack codes `[P, C]` (P pixels, integer codes 0..2^k-1 as u32) into `[P, k, Cw]` words:
/// word (p, b, j) bit i = bit b of code[p][32 j + i].
pub fn pack_bitplanes(codes: &[u32], c: usize, bits: u32) -> Vec<u32> {
    let cw = c.div_ceil(32);
    let pixels = codes.len() / c;
    let k = bits as usize;
    let mut out = vec![0u32; pixels * k * cw];
    for p in 0..pixels {
        for ch in 0..c {
            let code = codes[p * c + ch];
            for b in 0..k {
                if (code >> b) & 1 == 1 {
                    out[(p * k + b) * cw + ch / 32] |= 1 << (ch % 32);
                }
            }
        }
    }
    out
}

/// Inverse of [`pack_bitplanes`].
pub fn unpack_bitplanes(words: &[u32], c: usize, bits: u32) -> Vec<u32> {
    let cw = c.div_ceil(32);
    let k = bits as usize;
    let pixels = words.len() / (k * cw);
    let mut out = vec![0u32; pixels * c];
    for p in 0..pixels {
        for ch in 0..c {
            let mut code = 0;
            for b in 0..k {
                code |= ((words[(p * k + b) * cw + ch / 32] >> (ch % 32)) & 1) << b;
            }
            out[p * c + ch] = code;
        }
    }
    out
}

/// Pack the signs of weights `[R, C]` (R rows = O * KH * KW) into `[R, Cw]` words:
/// bit = 1 for w >= 0 (+1), 0 for w < 0 (-1); bits past C are 0.
pub fn pack_signs(w: &[f32], c: usize) -> Vec<u32> {
    let cw = c.div_ceil(32);
    let rows = w.len() / c;
    let mut out = vec![0u32; rows * cw];
    for r in 0..rows {
        for ch in 0..c {
            if w[r * c + ch] >= 0.0 {
                out[r * cw + ch / 32] |= 1 << (ch % 32);
            }
        }
    }
    out
}
