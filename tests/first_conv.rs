//! Fused float first layer: GPU packed codes against the reference, for both plans, on
//! random and edge shapes (batch 1, odd H/W, O not a multiple of 32, O > 64 (several
//! groups), 1-channel input, stride 2, 7x7, every flag, several code widths).
//!
//! The GPU sums in f32 and the reference in f64, so a sum within rounding distance of a
//! threshold may legitimately get a different code. The rule: every code whose reference sum
//! lies farther than `EPS` (relative to the sum's magnitude bound) from all of its channel's
//! thresholds must match exactly; the near-threshold outputs (under 2% for 2-bit codes, more
//! for 255 thresholds a channel) are counted and bounded so that the comparison is never vacuous.

mod common;

use pixembed::gpu::{Recorder, Tensor};
use pixembed::ops::first_conv::{FirstConv, FirstConvPlan, FirstConvSpec, FloatThresholds};
use pixembed::ops::layout::ConvGeom;
use pixembed::reference::first_conv as rf;
use pixembed::reference::pack::unpack_bitplanes;
use pixembed::reference::threshold::levels;
use pixembed::reference::QuantSpec;
use rand::Rng;

const EPS: f64 = 2e-5;

struct Case {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    o: usize,
    k: usize,
    stride: usize,
    bits: u32,
}

/// Random thresholds around the spread of the sums: flags cycle 1, -1, 0; constant codes
/// include out-of-range values (clamped).
fn thresholds(o: usize, bits: u32, spread: f32, seed: u64) -> FloatThresholds {
    let mut rng = common::rng(seed);
    let n = levels(bits);
    let mut values = Vec::new();
    let mut flags = Vec::new();
    for ch in 0..o {
        let flag = [1, -1, 1, 0, -1][ch % 5];
        let mut t: Vec<f32> = (0..n).map(|_| rng.random_range(-spread..spread)).collect();
        t.sort_by(f32::total_cmp);
        if flag == 0 {
            t[0] = rng.random_range(-1..=(1 << bits) + 1) as f32;
        }
        values.extend(t);
        flags.push(flag);
    }
    FloatThresholds::new(bits, values, flags).unwrap()
}

fn check(case: &Case, plan: Option<FirstConvPlan>, seed: u64) {
    let gpu = match common::gpu() {
        Some(g) => g,
        None => return,
    };
    let g = ConvGeom {
        n: case.n,
        h: case.h,
        w: case.w,
        c: case.c,
        o: case.o,
        kh: case.k,
        kw: case.k,
        stride: case.stride,
        pad: case.k / 2,
    };
    let mut px = common::rand_u8(seed, g.n * g.h * g.w * g.c);
    // Edge values: saturated pixels.
    for (i, v) in px.iter_mut().enumerate().step_by(7) {
        *v = if i % 2 == 0 { 0 } else { 255 };
    }
    let mean: Vec<f32> = (0..g.c).map(|c| 0.4 + 0.05 * c as f32).collect();
    let std: Vec<f32> = (0..g.c).map(|c| 0.25 + 0.03 * c as f32).collect();
    let w = common::rand_f32(seed + 1, g.o * g.kh * g.kw * g.c, -0.5, 0.5);
    let spread = 0.6 * ((g.kh * g.kw * g.c) as f32).sqrt();
    let th = thresholds(g.o, case.bits, spread, seed + 2);
    let spec = FirstConvSpec {
        c: g.c,
        k: g.kh,
        stride: g.stride,
        mean: &mean,
        std: &std,
        weights: &w,
        thresholds: &th,
    };
    let layer = match plan {
        Some(p) => FirstConv::with_plan(gpu, &spec, p).unwrap(),
        None => FirstConv::new(gpu, &spec).unwrap(),
    };
    let pixels = Tensor::from_slice(gpu, &g.input_shape(), &px).unwrap();
    let mut rec = Recorder::new(gpu);
    let out = layer.forward(&mut rec, &pixels).unwrap();
    rec.submit();
    assert_eq!(
        out.shape(),
        &[g.n, g.ho(), g.wo(), case.bits as usize, g.o.div_ceil(32)]
    );
    let got = out.to_vec::<u32>(gpu).unwrap();
    // Padding bits past O are zero, as in the reference layout.
    let want_packed =
        rf::first_conv_packed(&g, &px, &mean, &std, &w, &th.values, &th.flags, case.bits);
    let y = rf::first_conv_sums(&g, &px, &mean, &std, &w);
    let want = rf::float_threshold_codes(&y, g.o, &th.values, &th.flags, case.bits);
    let got_codes = unpack_bitplanes(&got, g.o, case.bits);
    // Magnitude bound of a sum: sum |w| * max |x|, for a relative tolerance.
    let xmax = (0..g.c)
        .map(|c| (mean[c].max(1.0 - mean[c]) / std[c]) as f64)
        .fold(0.0, f64::max);
    let n = levels(case.bits);
    let (mut far_bad, mut near) = (0, 0);
    for (i, (&a, &b)) in got_codes.iter().zip(&want).enumerate() {
        let o = i % g.o;
        let wsum: f64 = w[o * g.kh * g.kw * g.c..(o + 1) * g.kh * g.kw * g.c]
            .iter()
            .map(|&v| v.abs() as f64)
            .sum();
        let tol = EPS * (1.0 + wsum * xmax);
        let is_near = th.flags[o] != 0
            && th.values[o * n..(o + 1) * n]
                .iter()
                .any(|&t| (y[i] - t as f64).abs() <= tol);
        if is_near {
            near += 1;
        } else if a != b {
            far_bad += 1;
        }
    }
    let what = format!(
        "n={} {}x{}x{} o={} k={} s={} bits={} plan={:?}",
        g.n,
        g.h,
        g.w,
        g.c,
        g.o,
        g.kh,
        g.stride,
        case.bits,
        layer.plan()
    );
    assert_eq!(far_bad, 0, "{what}: codes differ away from thresholds");
    assert!(
        near * 50 <= want.len().max(50) * (n / 3).max(1),
        "{what}: {near} of {} sums near a threshold",
        want.len()
    );
    if near == 0 {
        common::assert_exact(&what, &got, &want_packed);
    }
}

fn case(
    n: usize,
    (h, w, c): (usize, usize, usize),
    o: usize,
    k: usize,
    stride: usize,
    bits: u32,
) -> Case {
    Case {
        n,
        h,
        w,
        c,
        o,
        k,
        stride,
        bits,
    }
}

/// Shapes for both plans. (The blocked kernel unrolls every tap of every channel of a group,
/// so its pipelines take long to build on lavapipe: few and small groups here.)
fn cases() -> Vec<Case> {
    vec![
        case(1, (7, 13, 3), 40, 3, 1, 2),
        case(1, (8, 8, 1), 17, 3, 2, 1),
        case(1, (15, 13, 3), 9, 7, 2, 2),
        case(1, (9, 10, 1), 33, 5, 1, 4),
        case(1, (3, 3, 3), 8, 1, 1, 2),
    ]
}

#[test]
fn blocked_matches_reference() {
    for (i, c) in cases().iter().enumerate() {
        check(c, None, 100 + i as u64);
    }
}

/// O > 64 with groups of 32: three dispatches (32, 32, 6 channels), odd sizes, stride 2.
#[test]
fn blocked_groups_of_channels() {
    let plan = FirstConvPlan::Blocked {
        pixels: 4,
        group: 32,
    };
    check(&case(2, (11, 9, 3), 70, 3, 2, 3), Some(plan), 200);
}

#[test]
fn general_matches_reference() {
    let mut all = cases();
    // Shapes only the general kernel runs: 8-bit codes, a 11x11 kernel.
    all.push(case(1, (13, 12, 3), 35, 11, 2, 8));
    all.push(case(2, (11, 9, 3), 100, 3, 2, 3));
    all.push(case(2, (9, 11, 3), 64, 3, 1, 2));
    for (i, case) in all.iter().enumerate() {
        check(case, Some(FirstConvPlan::General), 300 + i as u64);
    }
}

#[test]
fn unsupported_shapes_use_the_general_plan() {
    let gpu = gpu_or_skip!();
    let th = FloatThresholds::new(8, vec![0.0; 2 * 255], vec![1, -1]).unwrap();
    let w = vec![0.1; 2 * 27];
    let spec = FirstConvSpec {
        c: 3,
        k: 3,
        stride: 1,
        mean: &[0.5; 3],
        std: &[0.25; 3],
        weights: &w,
        thresholds: &th,
    };
    assert_eq!(FirstConv::choose(gpu, &spec), FirstConvPlan::General);
    assert!(FirstConv::with_plan(
        gpu,
        &spec,
        FirstConvPlan::Blocked {
            pixels: 8,
            group: 64
        }
    )
    .is_err());
}

/// Thresholds folded from batch-norm + quantizer give the quantizer's codes.
#[test]
fn bn_thresholds_match_the_quantizer() {
    let spec = QuantSpec::default();
    let gamma = [0.7f32, -1.3, 0.0, 2.0];
    let beta = [0.2f32, 0.9, 1.1, -0.4];
    let mean = [0.1f32, -0.5, 0.0, 3.0];
    let var = [1.5f32, 0.3, 1.0, 4.0];
    let (values, flags) = rf::bn_float_thresholds(&gamma, &beta, &mean, &var, 1e-5, spec);
    assert_eq!(flags, vec![1, -1, 0, 1]);
    let n = levels(spec.bits);
    for o in 0..4 {
        for i in -400..400 {
            let y = i as f64 * 0.0137;
            let z = gamma[o] as f64 * (y - mean[o] as f64) / (var[o] as f64 + 1e-5).sqrt()
                + beta[o] as f64;
            let q = spec.code(z as f32);
            let near = values[o * n..(o + 1) * n]
                .iter()
                .any(|&t| (y - t as f64).abs() < 1e-4);
            if !near {
                let got =
                    rf::float_threshold_code(y, &values[o * n..(o + 1) * n], flags[o], spec.bits);
                assert_eq!(got, q, "channel {o}, y = {y}");
            }
        }
    }
}
