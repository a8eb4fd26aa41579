//! Expected values computed by hand (written out in the comments), not by the code under
//! test or its reference: Adam's bias correction, SGD with decoupled decay, the activation
//! quantizer's codes, rounding ties and straight-through mask, the learning-rate schedules
//! with warm-up. Each GPU op and its reference twin are held to the same numbers.

mod common;

use pixembed::gpu::{Recorder, Tensor};
use pixembed::ops::{optim, quant};
use pixembed::reference::optim::{adam_step, sgd_step, Clip};
use pixembed::reference::quant::{quant_backward_codes, quant_forward};
use pixembed::reference::QuantSpec;
use pixembed::train::{Schedule, TrainConfig};

fn close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol,
            "{what}[{i}]: {g} vs hand-computed {w}"
        );
    }
}

/// Adam, lr 0.01, beta1 0.9, beta2 0.999, eps 1e-8, two steps.
/// Element 0: p = 0.5, g = 0.2 both steps, no decay.
///   step 1: m = 0.1 * 0.2 = 0.02, v = 0.001 * 0.04 = 4e-5; bias corrections 1 - 0.9 = 0.1
///           and 1 - 0.999 = 0.001, so m^ = 0.2, v^ = 0.04, sqrt = 0.2: p -= 0.01 * 0.2 / 0.2
///           -> 0.49. (Without the correction: 0.01 * 0.02 / sqrt(4e-5) = 0.0316.)
///   step 2: m = 0.9 * 0.02 + 0.02 = 0.038, v = 0.999 * 4e-5 + 4e-5 = 7.996e-5; corrections
///           1 - 0.81 = 0.19 and 1 - 0.998001 = 0.001999: m^ = 0.2, v^ = 0.04 -> p = 0.48.
/// Element 1: g = -0.2: the mirror image, p = 0.5 -> 0.51 -> 0.52.
/// Element 2: g = 0: m = v = 0, no step: p stays 0.5.
/// Element 3: g = 0.2 and weight decay 0.1 (decoupled, before the gradient step):
///   step 1: p = 0.5 - 0.01 * 0.1 * 0.5 = 0.4995, then - 0.01 -> 0.4895;
///   step 2: p = 0.4895 - 0.001 * 0.4895 = 0.4890105, then - 0.01 -> 0.4790105.
#[test]
fn adam_bias_correction_worked_example() {
    let lr = 0.01;
    let grads = [0.2f32, -0.2, 0.0, 0.2];
    let want = [[0.49f32, 0.51, 0.5, 0.4895], [0.48, 0.52, 0.5, 0.4790105]];
    // Reference, per element (weight decay differs for element 3).
    let mut p = [0.5f32; 4];
    let (mut m, mut v) = ([0.0f32; 4], [0.0f32; 4]);
    for (s, want) in want.iter().enumerate() {
        for i in 0..4 {
            let wd = if i == 3 { 0.1 } else { 0.0 };
            let (pi, mi, vi) = (&mut p[i..=i], &mut m[i..=i], &mut v[i..=i]);
            adam_step(
                pi,
                &grads[i..=i],
                mi,
                vi,
                s as u32 + 1,
                lr,
                0.9,
                0.999,
                1e-8,
                wd,
                None,
            );
        }
        close(&format!("reference adam step {}", s + 1), &p, want, 2e-6);
    }
    let gpu = gpu_or_skip!();
    for (wd, idx) in [(0.0, [0usize, 1, 2]), (0.1, [3, 3, 3])] {
        let g: Vec<f32> = idx.iter().map(|&i| grads[i]).collect();
        let t = |d: &[f32]| Tensor::from_slice(gpu, &[3], d).unwrap();
        let (p, gt, m, v) = (t(&[0.5; 3]), t(&g), t(&[0.0; 3]), t(&[0.0; 3]));
        for (s, want) in want.iter().enumerate() {
            let mut rec = Recorder::new(gpu);
            optim::adam(
                &mut rec,
                &p,
                &gt,
                &m,
                &v,
                s as u32 + 1,
                lr,
                0.9,
                0.999,
                1e-8,
                wd,
                None,
            )
            .unwrap();
            rec.submit();
            let w: Vec<f32> = idx.iter().map(|&i| want[i]).collect();
            let got = p.to_vec::<f32>(gpu).unwrap();
            close(
                &format!("gpu adam step {} (wd {wd})", s + 1),
                &got,
                &w,
                2e-6,
            );
        }
    }
}

/// SGD, lr 0.1, momentum 0.9, weight decay 0.1 (decoupled), g = 0.2 both steps, p = 0.5:
///   step 1: p = 0.5 - 0.1 * 0.1 * 0.5 = 0.495; v = 0.2; p = 0.495 - 0.02 = 0.475.
///   step 2: p = 0.475 - 0.01 * 0.475 = 0.47025; v = 0.9 * 0.2 + 0.2 = 0.38;
///           p = 0.47025 - 0.038 = 0.43225.
/// With clip [0.44, 1] the second step ends at 0.44.
#[test]
fn sgd_momentum_decay_worked_example() {
    let want = [0.475f32, 0.43225];
    let (mut p, mut v) = ([0.5f32], [0.0f32]);
    for w in want {
        sgd_step(&mut p, &[0.2], &mut v, 0.1, 0.9, 0.1, None);
        close("reference sgd", &p, &[w], 1e-6);
    }
    let gpu = gpu_or_skip!();
    let clip = Clip { lo: 0.44, hi: 1.0 };
    let t = |d: &[f32]| Tensor::from_slice(gpu, &[2], d).unwrap();
    let (p, g, vel) = (t(&[0.5, 0.5]), t(&[0.2, 0.2]), t(&[0.0, 0.0]));
    let (p2, vel2) = (t(&[0.5, 0.5]), t(&[0.0, 0.0]));
    for (s, w) in want.iter().enumerate() {
        let mut rec = Recorder::new(gpu);
        optim::sgd(&mut rec, &p, &g, &vel, 0.1, 0.9, 0.1, None).unwrap();
        optim::sgd(&mut rec, &p2, &g, &vel2, 0.1, 0.9, 0.1, Some(clip)).unwrap();
        rec.submit();
        close("gpu sgd", &p.to_vec::<f32>(gpu).unwrap(), &[*w; 2], 1e-6);
        let clipped = if s == 0 { 0.475 } else { 0.44 };
        close(
            "gpu sgd clipped",
            &p2.to_vec::<f32>(gpu).unwrap(),
            &[clipped; 2],
            1e-6,
        );
    }
}

/// The quantizer q: code = round_half_even(clamp(x, 0, max) * n / max), n = 2^k - 1.
/// 2 bits on [0, 2] (n = 3, scale 1.5):
///   -1 -> 0;  0 -> 0;  0.25 -> 0.375 -> 0;  0.5 -> 0.75 -> 1;  1.0 -> 1.5 -> 2 (tie, even);
///   1.5 -> 2.25 -> 2;  1.75 -> 2.625 -> 3;  2 -> 3;  5 -> 3.
/// 1 bit on [0, 1] (n = 1): 0.5 -> 0 (tie, even); 0.75 -> 1.
/// 3 bits on [0, 2] (n = 7, scale 3.5): 1.0 -> 3.5 -> 4 (tie, even); 0.5 -> 1.75 -> 2.
/// The straight-through backward from code gradients: dx = dcode * scale * 1[0 < x < max],
/// so with dcode = 1 and 2 bits on [0, 2]: 1.5 inside, 0 at x <= 0 or x >= 2.
#[test]
fn quantizer_worked_examples() {
    let cases: [(u32, f32, Vec<f32>, Vec<f32>); 3] = [
        (
            2,
            2.0,
            vec![-1.0, 0.0, 0.25, 0.5, 1.0, 1.5, 1.75, 2.0, 5.0],
            vec![0.0, 0.0, 0.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0],
        ),
        (1, 1.0, vec![0.5, 0.75], vec![0.0, 1.0]),
        (3, 2.0, vec![1.0, 0.5], vec![4.0, 2.0]),
    ];
    let grad_x = [-1.0f32, 0.0, 1e-6, 1.0, 1.999, 2.0, 3.0];
    let grad_want = [0.0f32, 0.0, 1.5, 1.5, 1.5, 0.0, 0.0];
    let spec2 = QuantSpec { bits: 2, max: 2.0 };
    for (bits, max, x, want) in &cases {
        let spec = QuantSpec {
            bits: *bits,
            max: *max,
        };
        assert_eq!(&quant_forward(spec, x), want, "reference {bits} bits");
    }
    assert_eq!(
        quant_backward_codes(spec2, &grad_x, &[1.0; 7]),
        grad_want.to_vec()
    );
    let gpu = gpu_or_skip!();
    for (bits, max, x, want) in &cases {
        let spec = QuantSpec {
            bits: *bits,
            max: *max,
        };
        let xt = Tensor::from_slice(gpu, &[x.len()], x).unwrap();
        let mut rec = Recorder::new(gpu);
        let y = quant::forward(&mut rec, spec, &xt).unwrap();
        rec.submit();
        assert_eq!(&y.to_vec::<f32>(gpu).unwrap(), want, "gpu {bits} bits");
    }
    let xt = Tensor::from_slice(gpu, &[7], &grad_x).unwrap();
    let d = Tensor::from_slice(gpu, &[7], &[1.0f32; 7]).unwrap();
    let mut rec = Recorder::new(gpu);
    let dx = quant::backward_codes(&mut rec, spec2, &xt, &d).unwrap();
    rec.submit();
    assert_eq!(dx.to_vec::<f32>(gpu).unwrap(), grad_want.to_vec());
}

fn recipe(schedule: Schedule, epochs: usize, warmup: f32) -> TrainConfig {
    TrainConfig {
        lr: 0.1,
        schedule,
        warmup_epochs: warmup,
        ..common::small_training(epochs, 1, false)
    }
}

/// Learning rates at fractional epochs t, lr 0.1:
/// - constant: 0.1 everywhere;
/// - step over 4 epochs: x1 before 2 (50%), x0.1 from 2, x0.01 from 3 (75%);
/// - cosine over 4 epochs: 0.1 * (1 + cos(pi t / 4)) / 2: t = 2 -> 0.05, t = 4 -> 0;
/// - warm-up of 1 epoch (then cosine over the 4 remaining of 5): linear from ~0 to 0.1,
///   lr(t) = 0.1 * (t + 0.001) for t < 1; t = 0.5 -> 0.0501; t = 1 -> 0.1; t = 3 (halfway
///   through the rest) -> 0.05;
/// - warm-up of 1 epoch then step over the remaining 4: t = 2.9 -> 0.1, 3 -> 0.01, 4 -> 0.001.
#[test]
fn schedules_and_warm_up_worked_examples() {
    let c = recipe(Schedule::Constant, 4, 0.0);
    for t in [0.0, 1.3, 3.99] {
        assert_eq!(c.lr_at(t), 0.1, "constant at {t}");
    }
    let s = recipe(Schedule::Step, 4, 0.0);
    for (t, want) in [
        (0.0, 0.1),
        (1.99, 0.1),
        (2.0, 0.01),
        (2.9, 0.01),
        (3.0, 0.001),
    ] {
        assert!(
            (s.lr_at(t) - want).abs() < 1e-7,
            "step at {t}: {}",
            s.lr_at(t)
        );
    }
    let cos = recipe(Schedule::Cosine, 4, 0.0);
    for (t, want) in [(0.0, 0.1), (2.0, 0.05), (4.0, 0.0)] {
        assert!((cos.lr_at(t) - want).abs() < 1e-7, "cosine at {t}");
    }
    let warm = recipe(Schedule::Cosine, 5, 1.0);
    for (t, want) in [(0.0, 0.0001), (0.5, 0.0501), (1.0, 0.1), (3.0, 0.05)] {
        assert!(
            (warm.lr_at(t) - want).abs() < 1e-6,
            "warm-up cosine at {t}: {}",
            warm.lr_at(t)
        );
    }
    let warm_step = recipe(Schedule::Step, 5, 1.0);
    for (t, want) in [(0.5, 0.0501), (2.9, 0.1), (3.0, 0.01), (4.0, 0.001)] {
        assert!(
            (warm_step.lr_at(t) - want).abs() < 1e-6,
            "warm-up step at {t}: {}",
            warm_step.lr_at(t)
        );
    }
}
