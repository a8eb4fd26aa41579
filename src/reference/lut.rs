//! References of the integer engine's own kernels: code-table gather and residual thresholds.

/// pixels [P, C] (u8), table [T, 256, D] codes -> codes [P, C*D], channel c*D + d.
pub fn lut_gather(pixels: &[u8], c: usize, table: &[u32], tables: usize, d: usize) -> Vec<u32> {
    let p = pixels.len() / c;
    let mut out = vec![0u32; p * c * d];
    for i in 0..p {
        for ch in 0..c {
            let t = if tables == 1 { 0 } else { ch };
            let v = pixels[i * c + ch] as usize;
            for k in 0..d {
                out[(i * c + ch) * d + k] = table[(t * 256 + v) * d + k];
            }
        }
    }
    out
}

/// Code of one accumulator under a threshold row (see shaders/residual_threshold.wgsl):
/// flag 1: #{t : acc >= t}; flag -1: #{t : acc <= t}; flag 0: th\[0\].
pub fn threshold_code(acc: i32, th: &[i32], flag: i32) -> u32 {
    match flag {
        0 => th[0] as u32,
        f if f > 0 => th.iter().filter(|&&t| acc >= t).count() as u32,
        _ => th.iter().filter(|&&t| acc <= t).count() as u32,
    }
}

/// Residual thresholds: acc \[N,Ho,Wo,O\], input codes \[N,H,W,Cin\] (unpacked), th [O, n+1, n],
/// flags [O, n+1] -> codes \[N,Ho,Wo,O\].
#[allow(clippy::too_many_arguments)]
pub fn residual_threshold(
    acc: &[i32],
    acc_shape: [usize; 4],
    codes_in: &[u32],
    in_shape: [usize; 4],
    stride: usize,
    bits: u32,
    th: &[i32],
    flags: &[i32],
) -> Vec<u32> {
    let [n, ho, wo, o] = acc_shape;
    let [_, h, w, cin] = in_shape;
    let levels = (1usize << bits) - 1;
    let mut out = vec![0u32; n * ho * wo * o];
    for b in 0..n {
        for y in 0..ho {
            for x in 0..wo {
                for ch in 0..o {
                    let s = if ch < cin {
                        codes_in[((b * h + y * stride) * w + x * stride) * cin + ch] as usize
                    } else {
                        0
                    };
                    let row = ch * (levels + 1) + s;
                    let i = ((b * ho + y) * wo + x) * o + ch;
                    out[i] =
                        threshold_code(acc[i], &th[row * levels..(row + 1) * levels], flags[row]);
                }
            }
        }
    }
    out
}

/// 2x2 max pool, stride 2 (floor), on codes \[N,H,W,C\].
pub fn max_pool_codes(codes: &[u32], shape: [usize; 4]) -> Vec<u32> {
    let [n, h, w, c] = shape;
    let (ho, wo) = (h / 2, w / 2);
    let mut out = vec![0u32; n * ho * wo * c];
    for b in 0..n {
        for y in 0..ho {
            for x in 0..wo {
                for ch in 0..c {
                    let mut m = 0;
                    for d in 0..4 {
                        m = m.max(codes[((b * h + 2 * y + d / 2) * w + 2 * x + d % 2) * c + ch]);
                    }
                    out[((b * ho + y) * wo + x) * c + ch] = m;
                }
            }
        }
    }
    out
}
