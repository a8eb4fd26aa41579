//! Weight binarizer: w_b = sign(w) * alpha, sign(w) = +1 for w >= 0 and -1 otherwise,
//! alpha = mean |w| per output channel (row) or over the whole tensor; straight-through
//! gradient with the |w| <= 1 mask; latent weights clipped to [-1, 1] after each update
//! (which keeps that mask at 1 in training).

/// The signs alone: +1 for w >= 0 (-0.0 included), -1 otherwise.
pub fn signs(w: &[f32]) -> Vec<f32> {
    w.iter()
        .map(|&x| if x >= 0.0 { 1.0 } else { -1.0 })
        .collect()
}

/// Signs (+1 / -1, same layout as `w`) and alpha `[O]` of weights `[O, R]` (R = the rest of
/// the shape). Per channel: alpha\[o\] = sum_r |w\[o\]\[r\]| / R; per tensor: alpha\[o\] =
/// sum |w| / (O R) for every o.
pub fn binarize_forward(w: &[f32], outputs: usize, per_channel: bool) -> (Vec<f32>, Vec<f32>) {
    let signs = signs(w);
    let row = w.len() / outputs;
    let row_sums: Vec<f32> = (0..outputs)
        .map(|o| w[o * row..(o + 1) * row].iter().map(|x| x.abs()).sum())
        .collect();
    let alpha = if per_channel {
        row_sums.iter().map(|&s| s / row as f32).collect()
    } else {
        let total: f32 = row_sums.iter().sum();
        vec![total / w.len() as f32; outputs]
    };
    (signs, alpha)
}

/// Straight-through backward: dw = dwb * 1[|w| <= 1].
pub fn binarize_backward(w: &[f32], dwb: &[f32]) -> Vec<f32> {
    w.iter()
        .zip(dwb)
        .map(|(&x, &g)| if x.abs() <= 1.0 { g } else { 0.0 })
        .collect()
}

/// Latent weights clamped to [-1, 1].
pub fn clip(w: &[f32]) -> Vec<f32> {
    w.iter().map(|x| x.clamp(-1.0, 1.0)).collect()
}
