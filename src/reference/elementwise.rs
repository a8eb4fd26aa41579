//! Elementwise ops and per-channel scaling over rows of C channels (channel fastest).

/// c = a + b.
pub fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// y = alpha * x.
pub fn scale(x: &[f32], alpha: f32) -> Vec<f32> {
    x.iter().map(|v| v * alpha).collect()
}

/// y[r, c] = x[r, c] * s\[c\].
pub fn scale_channels(x: &[f32], s: &[f32]) -> Vec<f32> {
    x.iter()
        .enumerate()
        .map(|(i, v)| v * s[i % s.len()])
        .collect()
}

/// Backward of y = x * s\[c\]: dx = dy * s\[c\], ds\[c\] = sum_r x[r, c] * dy[r, c].
pub fn scale_channels_backward(x: &[f32], dy: &[f32], s: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let c = s.len();
    let dx = scale_channels(dy, s);
    let mut ds = vec![0f64; c];
    for (i, (v, g)) in x.iter().zip(dy).enumerate() {
        ds[i % c] += *v as f64 * *g as f64;
    }
    (dx, ds.into_iter().map(|v| v as f32).collect())
}

/// Per-channel column sums: out\[c\] = sum_r x[r, c].
pub fn column_sums(x: &[f32], c: usize) -> Vec<f32> {
    let mut out = vec![0f64; c];
    for (i, v) in x.iter().enumerate() {
        out[i % c] += *v as f64;
    }
    out.into_iter().map(|v| v as f32).collect()
}
