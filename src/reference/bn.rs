//! Batch normalization over rows of C channels (NHWC activations viewed as `rows x C`,
//! channel fastest). Statistics are accumulated in f64 so that this is the accurate spec the
//! GPU's f32 chunked reductions are measured against.

/// Batch statistics saved by the training forward pass for the backward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct BnBatchStats {
    /// Per-channel batch mean.
    pub mean: Vec<f32>,
    /// Per-channel 1 / sqrt(biased batch variance + eps).
    pub invstd: Vec<f32>,
}

/// Per-channel mean and biased variance over the rows of `x` (f64).
fn mean_var(x: &[f32], c: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = x.len() / c;
    let mut mean = vec![0f64; c];
    for r in 0..rows {
        for ch in 0..c {
            mean[ch] += x[r * c + ch] as f64;
        }
    }
    for m in &mut mean {
        *m /= rows as f64;
    }
    // var = sum (x - mean)^2 / rows   (two passes: mean first, then squared deviations)
    let mut var = vec![0f64; c];
    for r in 0..rows {
        for ch in 0..c {
            let d = x[r * c + ch] as f64 - mean[ch];
            var[ch] += d * d;
        }
    }
    for v in &mut var {
        *v /= rows as f64;
    }
    (mean, var)
}

/// Training forward: y = gamma * (x - mean) * invstd + beta with batch statistics,
/// invstd = 1 / sqrt(var + eps) (biased var). Updates the running statistics in place:
/// running = (1 - momentum) * running + momentum * batch, where running_var receives the
/// unbiased batch variance var * rows / (rows - 1).
#[allow(clippy::too_many_arguments)]
pub fn forward_train(
    x: &[f32],
    c: usize,
    gamma: &[f32],
    beta: &[f32],
    running_mean: &mut [f32],
    running_var: &mut [f32],
    momentum: f32,
    eps: f32,
) -> (Vec<f32>, BnBatchStats) {
    let rows = x.len() / c;
    let (mean, var) = mean_var(x, c);
    let invstd: Vec<f64> = var.iter().map(|&v| 1.0 / (v + eps as f64).sqrt()).collect();
    let mut y = vec![0f32; x.len()];
    for r in 0..rows {
        for ch in 0..c {
            let i = r * c + ch;
            let xhat = (x[i] as f64 - mean[ch]) * invstd[ch];
            y[i] = (gamma[ch] as f64 * xhat + beta[ch] as f64) as f32;
        }
    }
    let m = momentum as f64;
    for ch in 0..c {
        let unbiased = var[ch] * rows as f64 / (rows as f64 - 1.0);
        running_mean[ch] = ((1.0 - m) * running_mean[ch] as f64 + m * mean[ch]) as f32;
        running_var[ch] = ((1.0 - m) * running_var[ch] as f64 + m * unbiased) as f32;
    }
    let stats = BnBatchStats {
        mean: mean.iter().map(|&v| v as f32).collect(),
        invstd: invstd.iter().map(|&v| v as f32).collect(),
    };
    (y, stats)
}

/// Backward with batch statistics. With xhat = (x - mean) * invstd and R rows:
///   dbeta  = sum_r dy
///   dgamma = sum_r dy * xhat
///   dx     = gamma * invstd * (dy - dbeta / R - xhat * dgamma / R)
/// Returns (dx, dgamma, dbeta).
pub fn backward(
    x: &[f32],
    dy: &[f32],
    c: usize,
    gamma: &[f32],
    stats: &BnBatchStats,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let rows = x.len() / c;
    let xhat =
        |i: usize, ch: usize| (x[i] as f64 - stats.mean[ch] as f64) * stats.invstd[ch] as f64;
    let mut dgamma = vec![0f64; c];
    let mut dbeta = vec![0f64; c];
    for r in 0..rows {
        for ch in 0..c {
            let i = r * c + ch;
            dbeta[ch] += dy[i] as f64;
            dgamma[ch] += dy[i] as f64 * xhat(i, ch);
        }
    }
    let n = rows as f64;
    let mut dx = vec![0f32; x.len()];
    for r in 0..rows {
        for ch in 0..c {
            let i = r * c + ch;
            let k = gamma[ch] as f64 * stats.invstd[ch] as f64;
            dx[i] = (k * (dy[i] as f64 - dbeta[ch] / n - xhat(i, ch) * dgamma[ch] / n)) as f32;
        }
    }
    let to32 = |v: Vec<f64>| v.into_iter().map(|a| a as f32).collect();
    (dx, to32(dgamma), to32(dbeta))
}

/// Inference forward with running statistics:
/// y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta.
pub fn forward_infer(
    x: &[f32],
    c: usize,
    gamma: &[f32],
    beta: &[f32],
    running_mean: &[f32],
    running_var: &[f32],
    eps: f32,
) -> Vec<f32> {
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = i % c;
            let invstd = 1.0 / (running_var[ch] as f64 + eps as f64).sqrt();
            (gamma[ch] as f64 * (v as f64 - running_mean[ch] as f64) * invstd + beta[ch] as f64)
                as f32
        })
        .collect()
}
