//! Optimizers: several in-place steps on the GPU vs the reference (with and without momentum,
//! weight decay and clipping), one pipeline across learning rates, argument checks, and the
//! squared gradient norm (vs reference, deterministic).

mod common;

use pixembed::gpu::{Gpu, Recorder, Tensor};
use pixembed::ops;
use pixembed::reference::optim as r;
use pixembed::reference::optim::Clip;

fn upload(gpu: &Gpu, v: &[f32]) -> Tensor {
    Tensor::from_slice(gpu, &[v.len()], v).unwrap()
}

fn read(gpu: &Gpu, t: &Tensor) -> Vec<f32> {
    t.to_vec(gpu).unwrap()
}

/// Learning rate of step s (changes every step, as a schedule does).
fn lr_at(base: f32, s: u32) -> f32 {
    base / (1.0 + 0.3 * s as f32)
}

#[test]
fn sgd_matches_reference_over_several_steps() {
    let gpu = gpu_or_skip!();
    let n = 1000;
    // (momentum, weight decay, clip)
    let cases = [
        (0.0, 0.0, None),
        (0.9, 0.0, None),
        (0.9, 5e-4, None),
        (0.9, 1e-2, Some(Clip::symmetric(1.0))),
        (0.0, 0.0, Some(Clip::symmetric(0.05))),
        // An embedding table's range: [margin, max - margin].
        (0.9, 0.0, Some(Clip { lo: 0.1, hi: 0.9 })),
    ];
    for (ci, &(momentum, wd, clip)) in cases.iter().enumerate() {
        let seed = 20 + ci as u64 * 10;
        let mut p = common::rand_f32(seed, n, -1.2, 1.2);
        let mut vel = vec![0.0f32; n];
        let (pt, vt) = (upload(gpu, &p), upload(gpu, &vel));
        for s in 0..5u32 {
            let g = common::rand_f32(seed + 1 + s as u64, n, -2.0, 2.0);
            let gt = upload(gpu, &g);
            let lr = lr_at(0.1, s);
            let mut rec = Recorder::new(gpu);
            ops::optim::sgd(&mut rec, &pt, &gt, &vt, lr, momentum, wd, clip).unwrap();
            assert_eq!(rec.dispatch_count(), 1);
            rec.submit();
            r::sgd_step(&mut p, &g, &mut vel, lr, momentum, wd, clip);
        }
        let what = format!("sgd momentum={momentum} wd={wd} clip={clip:?}");
        common::assert_close(&format!("{what}: param"), &read(gpu, &pt), &p, 1e-6, 1e-5);
        common::assert_close(
            &format!("{what}: velocity"),
            &read(gpu, &vt),
            &vel,
            1e-6,
            1e-5,
        );
        if let Some(c) = clip {
            let got = read(gpu, &pt);
            assert!(
                got.iter().all(|v| (c.lo..=c.hi).contains(v)),
                "{what}: clip"
            );
            assert!(
                got.contains(&c.lo) && got.contains(&c.hi),
                "{what}: the clip bounds are never reached, so the case checks nothing"
            );
        }
    }
}

#[test]
fn adam_matches_reference_over_several_steps() {
    let gpu = gpu_or_skip!();
    let n = 777;
    // (weight decay, clip)
    let cases = [
        (0.0, None),
        (1e-2, None),
        (0.0, Some(Clip::symmetric(1.0))),
        (0.1, Some(Clip::symmetric(0.5))),
        (0.0, Some(Clip { lo: 0.2, hi: 1.1 })),
    ];
    for (ci, &(wd, clip)) in cases.iter().enumerate() {
        let seed = 70 + ci as u64 * 10;
        let mut p = common::rand_f32(seed, n, -1.2, 1.2);
        let (mut m, mut v) = (vec![0.0f32; n], vec![0.0f32; n]);
        let (pt, mt, vt) = (upload(gpu, &p), upload(gpu, &m), upload(gpu, &v));
        for step in 1..=6u32 {
            // Small gradients on some elements so eps matters there.
            let g: Vec<f32> = common::rand_f32(seed + step as u64, n, -1.0, 1.0)
                .iter()
                .enumerate()
                .map(|(i, x)| if i % 7 == 0 { x * 1e-6 } else { *x })
                .collect();
            let gt = upload(gpu, &g);
            let lr = lr_at(1e-2, step);
            let mut rec = Recorder::new(gpu);
            ops::optim::adam(
                &mut rec, &pt, &gt, &mt, &vt, step, lr, 0.9, 0.999, 1e-8, wd, clip,
            )
            .unwrap();
            assert_eq!(rec.dispatch_count(), 1);
            rec.submit();
            r::adam_step(
                &mut p, &g, &mut m, &mut v, step, lr, 0.9, 0.999, 1e-8, wd, clip,
            );
        }
        let what = format!("adam wd={wd} clip={clip:?}");
        common::assert_close(&format!("{what}: param"), &read(gpu, &pt), &p, 1e-6, 1e-5);
        common::assert_close(&format!("{what}: m"), &read(gpu, &mt), &m, 1e-9, 1e-5);
        common::assert_close(&format!("{what}: v"), &read(gpu, &vt), &v, 1e-12, 1e-5);
    }
}

#[test]
fn a_new_learning_rate_reuses_the_pipeline() {
    let gpu = gpu_or_skip!();
    let p = upload(gpu, &[0.5f32; 300]);
    let g = upload(gpu, &[0.25f32; 300]);
    let (a, b) = (upload(gpu, &[0.0f32; 300]), upload(gpu, &[0.0f32; 300]));
    // Every kernel this test binary uses is created first, so that tests running in
    // parallel cannot add pipelines while the count is compared.
    let mut rec = Recorder::new(gpu);
    ops::optim::sgd(&mut rec, &p, &g, &a, 0.1, 0.9, 0.0, None).unwrap();
    ops::optim::adam(&mut rec, &p, &g, &a, &b, 1, 0.1, 0.9, 0.99, 1e-8, 0.0, None).unwrap();
    ops::optim::grad_norm_sq(&mut rec, &[&g]).unwrap();
    rec.submit();
    let count = gpu.registry_pipeline_count();
    let mut rec = Recorder::new(gpu);
    ops::optim::sgd(
        &mut rec,
        &p,
        &g,
        &a,
        0.05,
        0.5,
        1e-4,
        Some(Clip::symmetric(1.0)),
    )
    .unwrap();
    ops::optim::adam(
        &mut rec,
        &p,
        &g,
        &a,
        &b,
        2,
        0.03,
        0.8,
        0.9,
        1e-6,
        1e-3,
        Some(Clip::symmetric(1.0)),
    )
    .unwrap();
    rec.submit();
    assert_eq!(gpu.registry_pipeline_count(), count);
}

#[test]
fn optimizers_reject_bad_arguments() {
    let gpu = gpu_or_skip!();
    let p = upload(gpu, &[0.0f32; 8]);
    let g = upload(gpu, &[0.0f32; 8]);
    let s = upload(gpu, &[0.0f32; 8]);
    let t = upload(gpu, &[0.0f32; 8]);
    let short = upload(gpu, &[0.0f32; 7]);
    let mut rec = Recorder::new(gpu);
    let sgd = |rec: &mut Recorder, grad: &Tensor, vel: &Tensor, lr: f32, clip: Option<Clip>| {
        ops::optim::sgd(rec, &p, grad, vel, lr, 0.9, 0.0, clip)
    };
    assert!(sgd(&mut rec, &g, &s, 0.1, None).is_ok());
    assert!(sgd(&mut rec, &short, &s, 0.1, None).is_err());
    assert!(sgd(&mut rec, &g, &g, 0.1, None).is_err(), "shared buffers");
    assert!(sgd(&mut rec, &g, &p, 0.1, None).is_err(), "shared buffers");
    assert!(sgd(&mut rec, &g, &s, f32::NAN, None).is_err());
    assert!(sgd(&mut rec, &g, &s, 0.1, Some(Clip { lo: 0.5, hi: 0.5 })).is_err());
    let adam = |rec: &mut Recorder, step: u32, b1: f32, eps: f32| {
        ops::optim::adam(rec, &p, &g, &s, &t, step, 0.1, b1, 0.999, eps, 0.0, None)
    };
    assert!(adam(&mut rec, 1, 0.9, 1e-8).is_ok());
    assert!(adam(&mut rec, 0, 0.9, 1e-8).is_err(), "step 0");
    assert!(adam(&mut rec, 1, 1.0, 1e-8).is_err(), "beta1 = 1");
    assert!(adam(&mut rec, 1, 0.9, 0.0).is_err(), "eps = 0");
}

#[test]
fn grad_norm_sq_matches_reference_and_is_deterministic() {
    let gpu = gpu_or_skip!();
    let sizes = [1usize, 31, 4096, 4097, 70_000, 0, 300];
    let host: Vec<Vec<f32>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| common::rand_f32(90 + i as u64, n, -3.0, 3.0))
        .collect();
    let tensors: Vec<Tensor> = host
        .iter()
        .map(|v| {
            if v.is_empty() {
                Tensor::empty(gpu, pixembed::gpu::DType::F32, &[0]).unwrap()
            } else {
                upload(gpu, v)
            }
        })
        .collect();
    let refs: Vec<&Tensor> = tensors.iter().collect();
    let run = || {
        let mut rec = Recorder::new(gpu);
        let out = ops::optim::grad_norm_sq(&mut rec, &refs).unwrap();
        rec.submit();
        assert_eq!(out.shape(), &[1]);
        read(gpu, &out)[0]
    };
    let (a, b) = (run(), run());
    assert_eq!(a.to_bits(), b.to_bits(), "two runs differ");
    let slices: Vec<&[f32]> = host.iter().map(|v| v.as_slice()).collect();
    common::assert_close("grad_norm_sq", &[a], &[r::grad_norm_sq(&slices)], 0.0, 1e-5);

    let mut rec = Recorder::new(gpu);
    let none = ops::optim::grad_norm_sq(&mut rec, &[]).unwrap();
    rec.submit();
    assert_eq!(read(gpu, &none), vec![0.0]);
}
