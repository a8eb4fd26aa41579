//! Fully connected layer: x [n, i] (row per sample), w [o, i] (row per output), bias \[o\].

/// y[b, j] = sum_k x[b, k] * w[j, k] + bias\[j\]   (y = x w^T + b)
pub fn forward(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    n: usize,
    i: usize,
    o: usize,
) -> Vec<f32> {
    let mut y = vec![0f32; n * o];
    for b in 0..n {
        for j in 0..o {
            let mut s = 0f64;
            for k in 0..i {
                s += x[b * i + k] as f64 * w[j * i + k] as f64;
            }
            if let Some(bias) = bias {
                s += bias[j] as f64;
            }
            y[b * o + j] = s as f32;
        }
    }
    y
}

/// Gradients of y = x w^T + b given dy [n, o]:
///   dx[b, k] = sum_j dy[b, j] * w[j, k]
///   dw[j, k] = sum_b dy[b, j] * x[b, k]
///   dbias\[j\] = sum_b dy[b, j]
/// Returns (dx, dw, dbias).
pub fn backward(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    n: usize,
    i: usize,
    o: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut dx = vec![0f64; n * i];
    let mut dw = vec![0f64; o * i];
    let mut db = vec![0f64; o];
    for b in 0..n {
        for j in 0..o {
            let g = dy[b * o + j] as f64;
            db[j] += g;
            for k in 0..i {
                dx[b * i + k] += g * w[j * i + k] as f64;
                dw[j * i + k] += g * x[b * i + k] as f64;
            }
        }
    }
    let to32 = |v: Vec<f64>| v.into_iter().map(|a| a as f32).collect();
    (to32(dx), to32(dw), to32(db))
}
