//! Softmax cross-entropy and top-k counts: the spec of shaders/loss.wgsl.
//!
//! Per row i with logits x (K values) and label y:
//!   m = max_j x_j,  s = sum_j exp(x_j - m)            (subtracting m keeps exp <= 1)
//!   loss_i = log(s) - (x_y - m)                        (= logsumexp(x) - x_y)
//!   dlogits_ij = (exp(x_j - m) / s - [j == y]) / N     (gradient of the mean loss)
//! Top-k rule: the label is within the top k when fewer than k logits are strictly greater
//! than x_y, so ties count in the label's favour; with K < 5 every row is within the top 5.
//! A label outside 0..K gives a NaN loss and NaN gradients for its row and counts as a miss;
//! so does a row with a NaN or infinite logit (counted by [`non_finite_rows`]).
//! The mean loss is NaN or infinite whenever any row's loss is.

/// Per-row results of [`softmax_xent`].
#[derive(Clone, Debug, PartialEq)]
pub struct XentRef {
    /// Mean of `per_row`.
    pub loss: f32,
    /// [N, K] gradient of the mean loss.
    pub dlogits: Vec<f32>,
    /// Rows whose label is top-1 and top-5.
    pub correct: [i32; 2],
    pub per_row: Vec<f32>,
}

/// Number of logits of a row strictly greater than the label's logit; `usize::MAX` (never
/// within the top k) when a logit is NaN or infinite.
fn above(row: &[f32], label: usize) -> usize {
    if row.iter().any(|v| !v.is_finite()) {
        return usize::MAX;
    }
    row.iter().filter(|&&v| v > row[label]).count()
}

/// Rows of `logits [N, K]` holding a NaN or infinite value.
pub fn non_finite_rows(logits: &[f32], k: usize) -> usize {
    logits
        .chunks_exact(k)
        .filter(|r| r.iter().any(|v| !v.is_finite()))
        .count()
}

fn valid(label: i32, k: usize) -> Option<usize> {
    usize::try_from(label).ok().filter(|&l| l < k)
}

/// Softmax cross-entropy of `logits [N, K]` against `labels [N]`, computed in f64.
pub fn softmax_xent(logits: &[f32], labels: &[i32], k: usize) -> XentRef {
    let n = labels.len();
    let mut out = XentRef {
        loss: 0.0,
        dlogits: vec![0.0; n * k],
        correct: [0, 0],
        per_row: vec![0.0; n],
    };
    let mut total = 0.0f64;
    for i in 0..n {
        let row = &logits[i * k..(i + 1) * k];
        let grad = &mut out.dlogits[i * k..(i + 1) * k];
        let Some(y) = valid(labels[i], k) else {
            out.per_row[i] = f32::NAN;
            grad.fill(f32::NAN);
            total += f64::NAN;
            continue;
        };
        // m = max_j x_j (NaN logits make the row NaN below through s)
        let m = row.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v as f64));
        // s = sum_j exp(x_j - m)
        let s: f64 = row.iter().map(|&v| (v as f64 - m).exp()).sum();
        let s = if row.iter().any(|v| v.is_nan()) {
            f64::NAN
        } else {
            s
        };
        // loss_i = log(s) - (x_y - m)
        let li = s.ln() - (row[y] as f64 - m);
        out.per_row[i] = li as f32;
        total += li;
        for j in 0..k {
            // dlogits_ij = (exp(x_j - m) / s - [j == y]) / N
            let onehot = if j == y { 1.0 } else { 0.0 };
            grad[j] = (((row[j] as f64 - m).exp() / s - onehot) / n as f64) as f32;
        }
        let a = above(row, y);
        out.correct[0] += (a < 1) as i32;
        out.correct[1] += (a < 5) as i32;
    }
    out.loss = (total / n as f64) as f32;
    out
}

/// Top-1 and top-5 counts (same rule as [`softmax_xent`]; invalid labels are misses).
pub fn accuracy_counts(logits: &[f32], labels: &[i32], k: usize) -> [i32; 2] {
    let mut c = [0, 0];
    for (i, &l) in labels.iter().enumerate() {
        if let Some(y) = valid(l, k) {
            let a = above(&logits[i * k..(i + 1) * k], y);
            c[0] += (a < 1) as i32;
            c[1] += (a < 5) as i32;
        }
    }
    c
}
