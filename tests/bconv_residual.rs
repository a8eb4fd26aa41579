//! Bitwise convolution fused with residual thresholds: both kernel families (blocked fused
//! kernel; general kernel then residual_threshold) against the reference bconv composed with
//! the reference residual thresholds, exact; edge shapes; shape errors.

mod common;

use pixembed::gpu::{Gpu, Recorder, Tensor};
use pixembed::ops::bconv::{self, Output, Path, Residual};
use pixembed::ops::layout::{words_for, ConvGeom};
use pixembed::reference::{bconv as r, lut as rl, pack};
use rand::Rng;

/// A residual unit's conv and its shortcut: the block input has `cin` channels of `bits`-bit
/// codes at `rstride` times the output resolution (odd sizes: one row/column fewer).
#[derive(Clone, Copy, Debug)]
struct Case {
    g: ConvGeom,
    bits: u32,
    cin: usize,
    rstride: usize,
}

#[allow(clippy::too_many_arguments)]
fn case(
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    o: usize,
    stride: usize,
    bits: u32,
    cin: usize,
    rstride: usize,
) -> Case {
    Case {
        g: ConvGeom {
            n,
            h,
            w,
            c,
            o,
            kh: 3,
            kw: 3,
            stride,
            pad: 1,
        },
        bits,
        cin,
        rstride,
    }
}

/// Everything one case needs, on the host and uploaded.
struct Problem {
    codes: Vec<u32>,
    signs: Vec<i32>,
    codes_in: Vec<u32>,
    in_shape: [usize; 4],
    th: Vec<i32>,
    flags: Vec<i32>,
    x: Tensor,
    w: Tensor,
    xin: Tensor,
    tht: Tensor,
    flt: Tensor,
}

fn problem(gpu: &Gpu, cs: &Case, seed: u64) -> Problem {
    let g = &cs.g;
    let mut rng = common::rng(seed);
    let max = 1u32 << cs.bits;
    let codes: Vec<u32> = (0..g.n * g.h * g.w * g.c)
        .map(|_| rng.random_range(0..max))
        .collect();
    let signs: Vec<i32> = (0..g.o * g.kh * g.kw * g.c)
        .map(|_| if rng.random::<bool>() { 1 } else { -1 })
        .collect();
    let [_, ho, wo, _] = g.output_shape();
    let (hi, wi) = (
        ho * cs.rstride - (ho % 2) * (cs.rstride - 1),
        wo * cs.rstride - (wo % 2) * (cs.rstride - 1),
    );
    let in_shape = [g.n, hi, wi, cs.cin];
    let codes_in: Vec<u32> = (0..in_shape.iter().product())
        .map(|_| rng.random_range(0..max))
        .collect();
    // Rows per (channel, shortcut code) placed among the accumulators, with every flag,
    // duplicated thresholds and in-range constants.
    let acc = r::bconv_forward(g, &codes, &signs);
    let levels = (max - 1) as usize;
    let (mut th, mut flags) = (Vec::new(), Vec::new());
    for row in 0..g.o * (levels + 1) {
        let flag = [1, -1, 0, 1, -1][rng.random_range(0..5usize)];
        let mut t: Vec<i32> = (0..levels)
            .map(|_| acc[rng.random_range(0..acc.len())] + rng.random_range(-1..=1))
            .collect();
        if row % 3 == 1 && levels > 1 {
            t[levels - 1] = t[0];
        }
        t.sort();
        if flag == 0 {
            t[0] = rng.random_range(0..max as i32);
        }
        th.extend(t);
        flags.push(flag);
    }
    let cw = words_for(g.c);
    let sf: Vec<f32> = signs.iter().map(|&s| s as f32).collect();
    let bits = cs.bits as usize;
    let x = pack::pack_bitplanes(&codes, g.c, cs.bits);
    let xin = pack::pack_bitplanes(&codes_in, cs.cin, cs.bits);
    Problem {
        x: Tensor::from_slice(gpu, &[g.n, g.h, g.w, bits, cw], &x).unwrap(),
        w: Tensor::from_slice(gpu, &[g.o, 3, 3, cw], &pack::pack_signs(&sf, g.c)).unwrap(),
        xin: Tensor::from_slice(gpu, &[g.n, hi, wi, bits, words_for(cs.cin)], &xin).unwrap(),
        tht: Tensor::from_slice(gpu, &[g.o, levels + 1, levels], &th).unwrap(),
        flt: Tensor::from_slice(gpu, &[g.o, levels + 1], &flags).unwrap(),
        codes,
        signs,
        codes_in,
        in_shape,
        th,
        flags,
    }
}

fn residual<'a>(cs: &Case, p: &'a Problem) -> Residual<'a> {
    Residual {
        thresholds: &p.tht,
        flags: &p.flt,
        input: &p.xin,
        cin: cs.cin,
        stride: cs.rstride,
        bits: cs.bits,
    }
}

/// The reference: packed codes of residual thresholds of the reference accumulators.
fn reference(cs: &Case, p: &Problem) -> Vec<u32> {
    let acc = r::bconv_forward(&cs.g, &p.codes, &p.signs);
    let codes = rl::residual_threshold(
        &acc,
        cs.g.output_shape(),
        &p.codes_in,
        p.in_shape,
        cs.rstride,
        cs.bits,
        &p.th,
        &p.flags,
    );
    pack::pack_bitplanes(&codes, cs.g.o, cs.bits)
}

fn check(cs: &Case, paths: &[Path], seed: u64) {
    let gpu = common::gpu().unwrap();
    let p = problem(gpu, cs, seed);
    let want = reference(cs, &p);
    for &path in paths {
        let mut rec = Recorder::new(gpu);
        let out = Output::Residual(residual(cs, &p));
        let y = bconv::forward(&mut rec, &cs.g, cs.bits, &p.x, &p.w, out, path).unwrap();
        rec.submit();
        let [n, ho, wo, o] = cs.g.output_shape();
        assert_eq!(y.shape(), [n, ho, wo, cs.bits as usize, words_for(o)]);
        common::assert_exact(
            &format!("bconv residual {path:?} {cs:?}"),
            &y.to_vec::<u32>(gpu).unwrap(),
            &want,
        );
    }
}

/// Edge shapes: batch 1, odd sizes, O not a multiple of 32 (one group of 4, 8 or 16
/// channels, or several groups of 64), stride 2 with cin < O, every code width that stages.
fn edge_cases() -> Vec<Case> {
    vec![
        case(1, 7, 5, 16, 16, 1, 2, 16, 1),
        case(2, 5, 7, 33, 40, 1, 2, 20, 2),
        case(1, 9, 6, 16, 32, 2, 2, 16, 2),
        case(1, 4, 5, 64, 100, 1, 2, 64, 1),
        case(2, 5, 5, 7, 5, 1, 1, 3, 1),
        case(1, 6, 7, 12, 12, 1, 3, 7, 2),
        case(1, 5, 4, 8, 8, 1, 4, 8, 1),
    ]
}

#[test]
fn blocked_matches_reference_on_edge_shapes() {
    let _gpu = gpu_or_skip!();
    for (i, cs) in edge_cases().into_iter().enumerate() {
        check(&cs, &[Path::Blocked], 800 + i as u64);
    }
}

#[test]
fn general_matches_reference_on_edge_shapes() {
    let _gpu = gpu_or_skip!();
    for (i, cs) in edge_cases().into_iter().enumerate() {
        check(&cs, &[Path::General], 850 + i as u64);
    }
}

#[test]
fn resnet_units_take_the_blocked_kernel() {
    let gpu = gpu_or_skip!();
    // ResNet-20's residual convs at 16, 32 and 64 channels (the latter two after stride 2).
    for (i, cs) in [
        case(2, 8, 8, 16, 16, 1, 2, 16, 1),
        case(1, 4, 4, 32, 32, 1, 2, 16, 2),
        case(1, 3, 3, 64, 64, 1, 2, 32, 2),
    ]
    .into_iter()
    .enumerate()
    {
        let p = problem(gpu, &cs, 900 + i as u64);
        let out = Output::Residual(residual(&cs, &p));
        assert_eq!(bconv::auto_path(gpu, &cs.g, cs.bits, out), Path::Blocked);
        check(&cs, &[Path::Auto], 900 + i as u64);
    }
    // 8-bit codes: 65536 words of rows per 4 channels cannot be staged; Auto falls back.
    let big = case(1, 3, 3, 4, 4, 1, 8, 4, 1);
    let p = problem(gpu, &big, 950);
    let out = Output::Residual(residual(&big, &p));
    assert_eq!(bconv::auto_path(gpu, &big.g, 8, out), Path::General);
    check(&big, &[Path::Auto], 950);
}

#[test]
fn invalid_shortcuts_are_errors() {
    let gpu = gpu_or_skip!();
    let cs = case(1, 5, 5, 16, 16, 1, 2, 16, 1);
    let p = problem(gpu, &cs, 990);
    let mut rec = Recorder::new(gpu);
    let mut bad = |res: Residual| {
        assert!(bconv::forward_residual(&mut rec, &cs.g, 2, &p.x, &p.w, res).is_err());
    };
    let ok = residual(&cs, &p);
    bad(Residual { stride: 2, ..ok });
    bad(Residual { cin: 40, ..ok });
    bad(Residual { bits: 3, ..ok });
    bad(Residual {
        thresholds: &p.flt,
        ..ok
    });
    bad(Residual {
        flags: &p.tht,
        ..ok
    });
    bad(Residual { input: &p.w, ..ok });
    assert_eq!(rec.dispatch_count(), 0);
}
