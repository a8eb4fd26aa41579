//! Per-channel thresholds: GPU codes and packed bit-planes against the reference, every code
//! width, all three flags, duplicated thresholds, channel counts around word boundaries.

mod common;

use pixembed::gpu::{Recorder, Tensor};
use pixembed::ops::layout::words_for;
use pixembed::ops::threshold::{self, Thresholds};
use pixembed::reference::threshold as rt;
use rand::Rng;

/// Ascending thresholds in [-40, 40] for `o` channels with flags 1, -1, 0, some duplicated,
/// and constant codes that are in range, negative or too large.
fn random_thresholds(o: usize, bits: u32, seed: u64) -> (Vec<i32>, Vec<i32>) {
    let mut rng = common::rng(seed);
    let n = rt::levels(bits);
    let mut values = Vec::new();
    let mut flags = Vec::new();
    for ch in 0..o {
        let flag = [1, -1, 0][ch % 3];
        let mut t: Vec<i32> = (0..n).map(|_| rng.random_range(-40..=40)).collect();
        if ch % 4 == 1 && n > 2 {
            t[1] = t[2];
        }
        t.sort();
        if flag == 0 {
            t[0] = rng.random_range(-2..=(1 << bits) + 1);
        }
        values.extend(t);
        flags.push(flag);
    }
    (values, flags)
}

fn random_acc(len: usize, seed: u64) -> Vec<i32> {
    let mut rng = common::rng(seed);
    (0..len).map(|_| rng.random_range(-45..=45)).collect()
}

#[test]
fn codes_match_reference() {
    let gpu = gpu_or_skip!();
    for (i, (rows, o, bits)) in [(7, 1, 1), (5, 5, 2), (3, 33, 3), (4, 64, 4), (2, 100, 8)]
        .into_iter()
        .enumerate()
    {
        let seed = 10 * i as u64;
        let acc = random_acc(rows * o, seed);
        let (values, flags) = random_thresholds(o, bits, seed + 1);
        let th = Thresholds::from_host(gpu, bits, &values, &flags).unwrap();
        let at = Tensor::from_slice(gpu, &[rows, o], &acc).unwrap();
        let mut rec = Recorder::new(gpu);
        let codes = threshold::apply(&mut rec, &at, &th).unwrap();
        rec.submit();
        let want: Vec<i32> = rt::threshold_codes(&acc, o, &values, &flags, bits)
            .into_iter()
            .map(|c| c as i32)
            .collect();
        common::assert_exact(
            &format!("threshold codes o={o} k={bits}"),
            &codes.to_vec::<i32>(gpu).unwrap(),
            &want,
        );
    }
}

#[test]
fn packed_codes_match_reference() {
    let gpu = gpu_or_skip!();
    for (i, (shape, bits)) in [
        (vec![3, 1], 1),
        (vec![2, 3, 5], 2),
        (vec![1, 3, 2, 33], 2),
        (vec![2, 2, 2, 64], 3),
        (vec![5, 100], 4),
        (vec![3, 31], 8),
    ]
    .into_iter()
    .enumerate()
    {
        let o = *shape.last().unwrap();
        let len: usize = shape.iter().product();
        let seed = 100 + 10 * i as u64;
        let acc = random_acc(len, seed);
        let (values, flags) = random_thresholds(o, bits, seed + 1);
        let th = Thresholds::from_host(gpu, bits, &values, &flags).unwrap();
        let at = Tensor::from_slice(gpu, &shape, &acc).unwrap();
        let mut rec = Recorder::new(gpu);
        let packed = threshold::apply_packed(&mut rec, &at, &th).unwrap();
        rec.submit();
        let mut want_shape = shape[..shape.len() - 1].to_vec();
        want_shape.extend([bits as usize, words_for(o)]);
        assert_eq!(packed.shape(), want_shape.as_slice());
        common::assert_exact(
            &format!("packed thresholds {shape:?} k={bits}"),
            &packed.to_vec::<u32>(gpu).unwrap(),
            &rt::threshold_packed(&acc, o, &values, &flags, bits),
        );
    }
}

#[test]
fn reference_semantics_by_example() {
    // Increasing: count of t <= acc; decreasing: count of t >= acc; constant: clamped slot 0.
    let t = [-2, 0, 0];
    assert_eq!(rt::threshold_code(-3, &t, 1, 2), 0);
    assert_eq!(rt::threshold_code(-2, &t, 1, 2), 1);
    assert_eq!(rt::threshold_code(0, &t, 1, 2), 3);
    assert_eq!(rt::threshold_code(-3, &t, -1, 2), 3);
    assert_eq!(rt::threshold_code(-1, &t, -1, 2), 2);
    assert_eq!(rt::threshold_code(1, &t, -1, 2), 0);
    assert_eq!(rt::threshold_code(7, &[2, 9, 9], 0, 2), 2);
    assert_eq!(rt::threshold_code(7, &[5, 9, 9], 0, 2), 3);
    assert_eq!(rt::threshold_code(7, &[-1, 9, 9], 0, 2), 0);
}

#[test]
fn invalid_thresholds_are_errors() {
    let gpu = gpu_or_skip!();
    assert!(Thresholds::from_host(gpu, 2, &[0; 5], &[1, 1]).is_err());
    assert!(Thresholds::from_host(gpu, 0, &[], &[1]).is_err());
    assert!(Thresholds::from_host(gpu, 9, &[0; 511], &[1]).is_err());
    let th = Thresholds::from_host(gpu, 2, &[0; 6], &[1, -1]).unwrap();
    let acc = Tensor::from_slice(gpu, &[2, 3], &[0i32; 6]).unwrap();
    let accf = Tensor::from_slice(gpu, &[3, 2], &[0f32; 6]).unwrap();
    let mut rec = Recorder::new(gpu);
    assert!(threshold::apply(&mut rec, &acc, &th).is_err());
    assert!(threshold::apply_packed(&mut rec, &accf, &th).is_err());
    assert_eq!(rec.dispatch_count(), 0);
}
