//! Softmax cross-entropy: GPU vs reference on random and edge inputs (K = 1 .. 1000, N = 1,
//! logits of 1e4, ties for the top-k rule, labels at both ends, bad labels, non-finite
//! logits), the gradient vs finite differences of the mean loss, and determinism.

mod common;

use pixembed::gpu::{Gpu, Recorder, Tensor};
use pixembed::ops;
use pixembed::reference::loss as r;
use rand::Rng;

struct GpuXent {
    loss: f32,
    dlogits: Vec<f32>,
    correct: Vec<i32>,
    per_row: Vec<f32>,
}

fn run_xent(gpu: &Gpu, logits: &[f32], labels: &[i32], k: usize) -> GpuXent {
    let n = labels.len();
    let lt = Tensor::from_slice(gpu, &[n, k], logits).unwrap();
    let yt = Tensor::from_slice(gpu, &[n], labels).unwrap();
    let mut rec = Recorder::new(gpu);
    let out = ops::loss::softmax_xent(&mut rec, &lt, &yt).unwrap();
    rec.submit();
    assert_eq!(out.loss.shape(), &[1]);
    assert_eq!(out.correct.shape(), &[2]);
    GpuXent {
        loss: out.loss.to_vec::<f32>(gpu).unwrap()[0],
        dlogits: out.dlogits.to_vec(gpu).unwrap(),
        correct: out.correct.to_vec(gpu).unwrap(),
        per_row: out.per_row.to_vec(gpu).unwrap(),
    }
}

fn run_counts(gpu: &Gpu, logits: &[f32], labels: &[i32], k: usize) -> Vec<i32> {
    let n = labels.len();
    let lt = Tensor::from_slice(gpu, &[n, k], logits).unwrap();
    let yt = Tensor::from_slice(gpu, &[n], labels).unwrap();
    let mut rec = Recorder::new(gpu);
    let c = ops::loss::accuracy_counts(&mut rec, &lt, &yt).unwrap();
    rec.submit();
    c.to_vec(gpu).unwrap()
}

/// GPU vs reference for one input; losses within rtol `rtol` (scaled by the logit range).
fn check(gpu: &Gpu, what: &str, logits: &[f32], labels: &[i32], k: usize, scale: f32) {
    let got = run_xent(gpu, logits, labels, k);
    let want = r::softmax_xent(logits, labels, k);
    let n = labels.len() as f32;
    common::assert_close(
        &format!("{what}: per-row loss"),
        &got.per_row,
        &want.per_row,
        1e-5 * scale,
        1e-5,
    );
    common::assert_close(
        &format!("{what}: mean loss"),
        &[got.loss],
        &[want.loss],
        1e-5 * scale,
        1e-5,
    );
    common::assert_close(
        &format!("{what}: dlogits"),
        &got.dlogits,
        &want.dlogits,
        1e-6 / n,
        1e-4,
    );
    common::assert_exact(&format!("{what}: correct"), &got.correct, &want.correct);
    let counts = run_counts(gpu, logits, labels, k);
    common::assert_exact(
        &format!("{what}: accuracy_counts"),
        &counts[..2],
        &want.correct,
    );
    assert_eq!(
        counts[2] as usize,
        r::non_finite_rows(logits, k),
        "{what}: rows with non-finite logits"
    );
}

fn rand_labels(seed: u64, n: usize, k: usize) -> Vec<i32> {
    let mut g = common::rng(seed);
    (0..n).map(|_| g.random_range(0..k as i32)).collect()
}

#[test]
fn matches_reference_on_random_inputs() {
    let gpu = gpu_or_skip!();
    for (i, &(n, k)) in [
        (1, 1),
        (1, 2),
        (3, 1),
        (5, 2),
        (64, 10),
        (33, 100),
        (7, 1000),
        (300, 13),
    ]
    .iter()
    .enumerate()
    {
        let seed = 10 + i as u64;
        let logits = common::rand_f32(seed, n * k, -6.0, 6.0);
        let labels = rand_labels(seed, n, k);
        check(gpu, &format!("N={n} K={k}"), &logits, &labels, k, 6.0);
    }
}

#[test]
fn labels_at_both_ends() {
    let gpu = gpu_or_skip!();
    let (n, k) = (6, 10);
    let logits = common::rand_f32(3, n * k, -3.0, 3.0);
    let labels = vec![0, 9, 0, 9, 9, 0];
    check(gpu, "labels 0 and K-1", &logits, &labels, k, 3.0);
}

#[test]
fn stable_for_large_logits() {
    let gpu = gpu_or_skip!();
    let (n, k) = (9, 100);
    let mut logits = common::rand_f32(4, n * k, -1e4, 1e4);
    // A row of equal huge logits (loss = ln K) and a row with one dominant logit.
    logits[..k].fill(1e4);
    logits[k..2 * k].fill(-1e4);
    logits[k + 17] = 1e4;
    let labels = rand_labels(4, n, k);
    let mut labels = labels;
    labels[1] = 17;
    let got = run_xent(gpu, &logits, &labels, k);
    assert!(
        got.per_row.iter().all(|v| v.is_finite()),
        "{:?}",
        got.per_row
    );
    assert!((got.per_row[0] - (k as f32).ln()).abs() < 1e-5);
    assert_eq!(got.per_row[1], 0.0);
    check(gpu, "logits of 1e4", &logits, &labels, k, 1e4);
}

#[test]
fn top_k_ties_count_for_the_label() {
    let gpu = gpu_or_skip!();
    let k = 10;
    let mut logits = Vec::new();
    let mut labels = Vec::new();
    // All equal: top-1 and top-5.
    logits.extend([1.0f32; 10]);
    labels.push(4);
    // Four logits strictly greater, the rest tied with the label: top-5 only.
    logits.extend([5.0, 5.0, 5.0, 5.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]);
    labels.push(9);
    // Five strictly greater: neither.
    logits.extend([5.0, 5.0, 5.0, 5.0, 5.0, 2.0, 2.0, 2.0, 2.0, 2.0]);
    labels.push(5);
    // Tied for the maximum with another class: top-1.
    logits.extend([0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0]);
    labels.push(1);
    // Just below the maximum: top-5, not top-1.
    logits.extend([0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.999]);
    labels.push(9);
    let got = run_xent(gpu, &logits, &labels, k);
    assert_eq!(got.correct, vec![2, 4]);
    check(gpu, "ties", &logits, &labels, k, 5.0);
    // K < 5: every row is within the top 5.
    let logits = common::rand_f32(5, 8 * 3, -1.0, 1.0);
    let labels = rand_labels(5, 8, 3);
    assert_eq!(run_xent(gpu, &logits, &labels, 3).correct[1], 8);
    assert_eq!(run_counts(gpu, &logits, &labels, 3)[1], 8);
}

#[test]
fn dlogits_match_finite_differences_of_the_mean_loss() {
    let gpu = gpu_or_skip!();
    let (n, k) = (4, 7);
    let logits = common::rand_f32(6, n * k, -2.0, 2.0);
    let labels = rand_labels(6, n, k);
    let got = run_xent(gpu, &logits, &labels, k);
    let loss = |x: &[f32]| r::softmax_xent(x, &labels, k).loss as f64;
    let coords: Vec<usize> = (0..n * k).collect();
    let fd = common::finite_diff(loss, &logits, 1e-2, &coords);
    let fd: Vec<f32> = fd.iter().map(|&v| v as f32).collect();
    common::assert_close(
        "dlogits vs finite differences",
        &got.dlogits,
        &fd,
        1e-4,
        1e-3,
    );
}

#[test]
fn bad_labels_give_nan_and_a_clear_error() {
    let gpu = gpu_or_skip!();
    let (n, k) = (4, 5);
    let logits = common::rand_f32(8, n * k, -1.0, 1.0);
    let labels = vec![2, -1, 5, 0];
    let got = run_xent(gpu, &logits, &labels, k);
    assert!(got.loss.is_nan());
    assert!(got.per_row[1].is_nan() && got.per_row[2].is_nan());
    assert!(got.per_row[0].is_finite() && got.per_row[3].is_finite());
    assert!(got.dlogits[k..3 * k].iter().all(|v| v.is_nan()));
    check(gpu, "bad labels", &logits, &labels, k, 1.0);

    assert!(ops::loss::check_labels(&[0, 4, 2], 5).is_ok());
    let e = ops::loss::check_labels(&[0, 4, 5], 5)
        .unwrap_err()
        .to_string();
    assert!(e.contains("label 5") && e.contains("example 2"), "{e}");
    assert!(ops::loss::check_labels(&[-3], 5).is_err());
    assert!(ops::loss::check_labels(&[0], 0).is_err());
}

#[test]
fn non_finite_logits_show_in_the_loss() {
    let gpu = gpu_or_skip!();
    let k = 4;
    for bad in [f32::NAN, f32::INFINITY] {
        let mut logits = common::rand_f32(9, 3 * k, -1.0, 1.0);
        logits[k + 2] = bad;
        let got = run_xent(gpu, &logits, &[0, 1, 2], k);
        assert!(!got.loss.is_finite(), "logit {bad} gave loss {}", got.loss);
        assert!(got.per_row[0].is_finite() && got.per_row[2].is_finite());
    }
    // A label whose logit is -inf: infinite loss.
    let logits = [0.0, f32::NEG_INFINITY, 1.0];
    let got = run_xent(gpu, &logits, &[1], 3);
    assert_eq!(got.loss, f32::INFINITY);
}

#[test]
fn mean_loss_is_bit_identical_across_runs() {
    let gpu = gpu_or_skip!();
    let (n, k) = (1000, 10);
    let logits = common::rand_f32(12, n * k, -8.0, 8.0);
    let labels = rand_labels(12, n, k);
    let a = run_xent(gpu, &logits, &labels, k);
    let b = run_xent(gpu, &logits, &labels, k);
    assert_eq!(a.loss.to_bits(), b.loss.to_bits());
    assert_eq!(a.correct, b.correct);
    check(gpu, "N=1000", &logits, &labels, k, 8.0);
}

#[test]
fn rejects_bad_shapes() {
    let gpu = gpu_or_skip!();
    let mut rec = Recorder::new(gpu);
    let logits = Tensor::from_slice(gpu, &[2, 3], &[0.0f32; 6]).unwrap();
    let short = Tensor::from_slice(gpu, &[3], &[0i32; 3]).unwrap();
    let float_labels = Tensor::from_slice(gpu, &[2], &[0.0f32; 2]).unwrap();
    let flat = Tensor::from_slice(gpu, &[6], &[0.0f32; 6]).unwrap();
    assert!(ops::loss::softmax_xent(&mut rec, &logits, &short).is_err());
    assert!(ops::loss::softmax_xent(&mut rec, &logits, &float_labels).is_err());
    assert!(ops::loss::softmax_xent(&mut rec, &flat, &short).is_err());
    assert!(ops::loss::accuracy_counts(&mut rec, &logits, &short).is_err());
}

/// A diverged model must not score: rows with a NaN or infinite logit are misses in the
/// training loss's counts and in the evaluation counts, and evaluation counts them.
#[test]
fn non_finite_logits_are_misses() {
    let gpu = gpu_or_skip!();
    let nan = f32::NAN;
    let inf = f32::INFINITY;
    // Row 0: all NaN; row 1: one NaN; row 2: +inf at the label; row 3: finite, a hit.
    let k = 3;
    let logits = [
        nan, nan, nan, //
        0.5, nan, 0.1, //
        inf, 0.0, 0.0, //
        2.0, 1.0, 0.0,
    ];
    let labels = [0, 0, 0, 0];
    let want = r::softmax_xent(&logits, &labels, k);
    assert_eq!(want.correct, [1, 1], "reference");
    assert_eq!(run_xent(gpu, &logits, &labels, k).correct, vec![1, 1]);
    assert_eq!(run_counts(gpu, &logits, &labels, k), vec![1, 1, 3]);
}
