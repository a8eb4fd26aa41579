//! Input encodings of the first-layer variants (naive k-bit, bit-plane, thermometer, f32,
//! normalized) against the reference, on random pixels with 0 and 255, batch 1, odd sizes.

mod common;

use pixembed::gpu::{Gpu, Recorder, Tensor};
use pixembed::ops;
use pixembed::reference::encode as r;

/// Pixel shapes [N, H, W, C]: CIFAR-like, batch 1 grey, odd sizes, one pixel.
const SHAPES: [[usize; 4]; 4] = [[2, 5, 7, 3], [1, 3, 3, 1], [3, 1, 5, 4], [1, 1, 1, 3]];

/// Random pixels with every value 0..=255 at the front where they fit, 0 and 255 always.
fn pixels(shape: [usize; 4], seed: u64) -> Vec<u8> {
    let n: usize = shape.iter().product();
    let mut p = common::rand_u8(seed, n);
    for (i, v) in p.iter_mut().enumerate().take(256) {
        *v = i as u8;
    }
    p[n - 1] = 255;
    p
}

fn check(
    gpu: &Gpu,
    what: &str,
    channels_per_value: usize,
    run: impl Fn(&mut Recorder, &Tensor) -> pixembed::Result<Tensor>,
    want: impl Fn(&[u8]) -> Vec<f32>,
) {
    for (i, shape) in SHAPES.iter().enumerate() {
        let px = pixels(*shape, i as u64);
        let pt = Tensor::from_slice(gpu, shape, &px).unwrap();
        let mut rec = Recorder::new(gpu);
        let out = run(&mut rec, &pt).unwrap();
        rec.submit();
        let [n, h, w, c] = *shape;
        assert_eq!(out.shape(), &[n, h, w, c * channels_per_value], "{what}");
        common::assert_exact(
            &format!("{what} {shape:?}"),
            &out.to_vec::<f32>(gpu).unwrap(),
            &want(&px),
        );
    }
}

#[test]
fn naive_matches_reference_all_bits() {
    let gpu = gpu_or_skip!();
    for bits in 1..=8 {
        check(
            gpu,
            &format!("naive {bits} bits"),
            1,
            |rec, p| ops::encode::naive(rec, p, bits),
            |p| r::naive(p, bits),
        );
    }
}

#[test]
fn bitplane_matches_reference() {
    let gpu = gpu_or_skip!();
    check(gpu, "bitplane", 8, ops::encode::bitplane, r::bitplane);
}

#[test]
fn bitplanes_sum_to_the_value_and_are_binary() {
    let planes = r::bitplane(&[0, 1, 128, 173, 255]);
    for (k, v) in [0u8, 1, 128, 173, 255].iter().enumerate() {
        let p = &planes[k * 8..k * 8 + 8];
        assert_eq!(p.iter().sum::<f32>(), *v as f32);
        for (b, &x) in p.iter().enumerate() {
            assert!(x == 0.0 || x == (1u32 << b) as f32);
        }
    }
}

#[test]
fn thermometer_matches_reference() {
    let gpu = gpu_or_skip!();
    for levels in [1, 3, 8, 15, 255] {
        check(
            gpu,
            &format!("thermometer L={levels}"),
            levels as usize,
            |rec, p| ops::encode::thermometer(rec, p, levels),
            |p| r::thermometer(p, levels),
        );
    }
}

#[test]
fn thermometer_thresholds_ascend_inside_the_byte_range() {
    for levels in 1..=255 {
        let thr: Vec<u32> = (0..levels)
            .map(|l| r::thermometer_threshold(l, levels))
            .collect();
        assert!(thr[0] >= 1 && thr[levels as usize - 1] <= 255, "L={levels}");
        assert!(thr.windows(2).all(|w| w[0] < w[1]), "L={levels}: {thr:?}");
    }
    // L = 3 splits 0..=255 into four bins of 64.
    assert_eq!(
        (0..3)
            .map(|l| r::thermometer_threshold(l, 3))
            .collect::<Vec<_>>(),
        [64, 128, 192]
    );
}

#[test]
fn to_f32_matches_reference() {
    let gpu = gpu_or_skip!();
    check(gpu, "to_f32", 1, ops::encode::to_f32, r::to_f32);
}

#[test]
fn normalize_matches_reference() {
    let gpu = gpu_or_skip!();
    for (i, shape) in SHAPES.iter().enumerate() {
        let c = shape[3];
        let mean: Vec<f32> = [0.4914, 0.4822, 0.4465, 0.5][..c].to_vec();
        let std: Vec<f32> = [0.247, 0.2435, 0.2616, 0.25][..c].to_vec();
        let px = pixels(*shape, 100 + i as u64);
        let pt = Tensor::from_slice(gpu, shape, &px).unwrap();
        let mut rec = Recorder::new(gpu);
        let out = ops::encode::normalize(&mut rec, &pt, &mean, &std).unwrap();
        rec.submit();
        common::assert_close(
            &format!("normalize {shape:?}"),
            &out.to_vec::<f32>(gpu).unwrap(),
            &r::normalize(&px, &mean, &std),
            1e-6,
            1e-6,
        );
    }
}

#[test]
fn bad_arguments_are_errors() {
    let gpu = gpu_or_skip!();
    let px = Tensor::from_slice(gpu, &[1, 2, 2, 3], &[9u8; 12]).unwrap();
    let flat = Tensor::from_slice(gpu, &[12], &[9u8; 12]).unwrap();
    let floats = Tensor::from_slice(gpu, &[1, 2, 2, 3], &[9.0f32; 12]).unwrap();
    let mut rec = Recorder::new(gpu);
    assert!(ops::encode::naive(&mut rec, &px, 0).is_err());
    assert!(ops::encode::naive(&mut rec, &px, 9).is_err());
    assert!(ops::encode::thermometer(&mut rec, &px, 0).is_err());
    assert!(ops::encode::thermometer(&mut rec, &px, 256).is_err());
    assert!(ops::encode::to_f32(&mut rec, &flat).is_err());
    assert!(ops::encode::bitplane(&mut rec, &floats).is_err());
    assert!(ops::encode::normalize(&mut rec, &px, &[0.5; 2], &[0.25; 3]).is_err());
    assert!(ops::encode::normalize(&mut rec, &px, &[0.5; 3], &[0.25, 0.0, 0.25]).is_err());
    assert_eq!(rec.dispatch_count(), 0);
}
