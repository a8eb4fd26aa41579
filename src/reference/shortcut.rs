//! Residual shortcut reference (see shaders/shortcut.wgsl for the formulas).

/// out = a + step * subsample(codes) with zero-padded channels. Shapes NHWC:
/// codes \[n,h,w,cin\], a \[n,ho,wo,cout\], ho = ceil(h / stride).
pub fn shortcut_forward(
    a: &[f32],
    codes: &[f32],
    cs: [usize; 4],
    cout: usize,
    stride: usize,
    step: f32,
) -> Vec<f32> {
    let [n, h, w, cin] = cs;
    let (ho, wo) = (h.div_ceil(stride), w.div_ceil(stride));
    let mut out = a.to_vec();
    for b in 0..n {
        for y in 0..ho {
            for x in 0..wo {
                for c in 0..cin {
                    out[((b * ho + y) * wo + x) * cout + c] +=
                        step * codes[((b * h + y * stride) * w + x * stride) * cin + c];
                }
            }
        }
    }
    out
}

/// dcodes = step * dout at subsampled positions, 0 elsewhere.
pub fn shortcut_backward(
    dout: &[f32],
    cs: [usize; 4],
    cout: usize,
    stride: usize,
    step: f32,
) -> Vec<f32> {
    let [n, h, w, cin] = cs;
    let (ho, wo) = (h.div_ceil(stride), w.div_ceil(stride));
    let mut d = vec![0.0; n * h * w * cin];
    for b in 0..n {
        for y in 0..ho {
            for x in 0..wo {
                for c in 0..cin {
                    d[((b * h + y * stride) * w + x * stride) * cin + c] =
                        step * dout[((b * ho + y) * wo + x) * cout + c];
                }
            }
        }
    }
    d
}
