//! Bitwise convolution: both kernel families against the reference on unpacked codes and
//! +-1 weights (so packing is checked too), exact; edge shapes; fused thresholds equal to
//! thresholds of the accumulators; shape errors.

mod common;

use pixembed::gpu::{Recorder, Tensor};
use pixembed::ops::bconv::{self, Output, Path};
use pixembed::ops::layout::{words_for, ConvGeom};
use pixembed::ops::threshold::{self, Thresholds};
use pixembed::reference::{bconv as r, pack, threshold as rt};
use rand::Rng;

/// One convolution problem: geometry and input code width.
#[derive(Clone, Copy, Debug)]
struct Case {
    g: ConvGeom,
    bits: u32,
}

#[allow(clippy::too_many_arguments)]
fn case(
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    o: usize,
    k: usize,
    stride: usize,
    pad: usize,
    bits: u32,
) -> Case {
    Case {
        g: ConvGeom {
            n,
            h,
            w,
            c,
            o,
            kh: k,
            kw: k,
            stride,
            pad,
        },
        bits,
    }
}

/// Random codes `[N, H, W, C]` in 0..2^bits and signs `[O, KH, KW, C]`.
fn random_problem(cs: &Case, seed: u64) -> (Vec<u32>, Vec<i32>) {
    let g = &cs.g;
    let mut rng = common::rng(seed);
    let codes = (0..g.n * g.h * g.w * g.c)
        .map(|_| rng.random_range(0..1u32 << cs.bits))
        .collect();
    let signs = (0..g.o * g.kh * g.kw * g.c)
        .map(|_| if rng.random::<bool>() { 1 } else { -1 })
        .collect();
    (codes, signs)
}

/// Packed GPU operands built with the reference packers.
fn upload(gpu: &pixembed::gpu::Gpu, cs: &Case, codes: &[u32], signs: &[i32]) -> (Tensor, Tensor) {
    let g = &cs.g;
    let cw = words_for(g.c);
    let xw = pack::pack_bitplanes(codes, g.c, cs.bits);
    let sf: Vec<f32> = signs.iter().map(|&s| s as f32).collect();
    let ww = pack::pack_signs(&sf, g.c);
    let x = Tensor::from_slice(gpu, &[g.n, g.h, g.w, cs.bits as usize, cw], &xw).unwrap();
    let w = Tensor::from_slice(gpu, &[g.o, g.kh, g.kw, cw], &ww).unwrap();
    (x, w)
}

/// Random thresholds for `o` channels of `bits`-bit codes placed among the accumulator
/// values `acc`, with all three flags, duplicated thresholds and out-of-range constants.
fn random_thresholds(o: usize, bits: u32, acc: &[i32], seed: u64) -> (Vec<i32>, Vec<i32>) {
    let mut rng = common::rng(seed);
    let n = rt::levels(bits);
    let mut values = Vec::with_capacity(o * n);
    let mut flags = Vec::with_capacity(o);
    for ch in 0..o {
        let flag = [1, -1, 0, 1, -1][rng.random_range(0..5usize)];
        let mut t: Vec<i32> = (0..n)
            .map(|_| acc[rng.random_range(0..acc.len())] + rng.random_range(-1..=1))
            .collect();
        if ch % 3 == 1 && n > 1 {
            t[n - 1] = t[0];
        }
        t.sort();
        if flag == 0 {
            t[0] = rng.random_range(-1..=(1 << bits));
        }
        values.extend(t);
        flags.push(flag);
    }
    (values, flags)
}

/// GPU accumulators on `path` == reference.
fn check_i32(cs: &Case, path: Path, seed: u64) {
    let (codes, signs) = random_problem(cs, seed);
    check_i32_on(cs, path, &codes, &signs);
}

/// GPU accumulators on `path` == reference for given codes and signs.
fn check_i32_on(cs: &Case, path: Path, codes: &[u32], signs: &[i32]) {
    let gpu = common::gpu().unwrap();
    let (x, w) = upload(gpu, cs, codes, signs);
    let mut rec = Recorder::new(gpu);
    let y = bconv::forward(&mut rec, &cs.g, cs.bits, &x, &w, Output::I32, path).unwrap();
    rec.submit();
    assert_eq!(y.shape(), cs.g.output_shape());
    common::assert_exact(
        &format!("bconv {path:?} {cs:?}"),
        &y.to_vec::<i32>(gpu).unwrap(),
        &r::bconv_forward(&cs.g, codes, signs),
    );
}

/// Edge shapes. Most use few output channels: the blocked kernel is compiled once per
/// (shape constants, block width), and the 64-channel variants take seconds to compile.
fn edge_cases() -> Vec<Case> {
    vec![
        case(1, 7, 5, 1, 1, 3, 1, 1, 1),
        case(2, 7, 5, 3, 5, 3, 2, 1, 2),
        case(1, 6, 7, 31, 5, 1, 1, 0, 3),
        case(2, 5, 7, 33, 64, 3, 1, 1, 2),
        case(1, 9, 7, 100, 5, 5, 1, 2, 4),
        case(1, 9, 9, 16, 5, 7, 2, 3, 8),
        case(1, 6, 6, 64, 8, 3, 2, 0, 2),
        case(2, 6, 7, 32, 7, 5, 1, 0, 3),
        case(1, 5, 5, 40, 100, 3, 1, 1, 2),
    ]
}

#[test]
fn blocked_matches_reference_on_edge_shapes() {
    let _gpu = gpu_or_skip!();
    for (i, cs) in edge_cases().into_iter().enumerate() {
        check_i32(&cs, Path::Blocked, 100 + i as u64);
    }
}

#[test]
fn general_matches_reference_on_edge_shapes() {
    let _gpu = gpu_or_skip!();
    for (i, cs) in edge_cases().into_iter().enumerate() {
        check_i32(&cs, Path::General, 200 + i as u64);
    }
}

#[test]
fn blocked_covers_every_kernel_size_and_code_width() {
    let _gpu = gpu_or_skip!();
    // Kernel sizes 1, 3, 5, 7 at both strides and both paddings; every code width.
    let cases = [
        case(1, 6, 5, 64, 8, 1, 2, 0, 1),
        case(1, 8, 8, 64, 64, 3, 1, 1, 2),
        case(1, 7, 9, 64, 16, 5, 2, 2, 2),
        case(1, 9, 8, 64, 16, 7, 1, 3, 2),
        case(1, 6, 6, 96, 6, 3, 1, 0, 1),
        case(1, 5, 6, 20, 12, 3, 2, 1, 3),
        case(1, 5, 5, 50, 12, 3, 1, 1, 4),
        case(1, 5, 5, 17, 12, 3, 1, 1, 8),
    ];
    for (i, cs) in cases.into_iter().enumerate() {
        check_i32(&cs, Path::Blocked, 300 + i as u64);
    }
}

#[test]
fn widest_blocks_match_reference() {
    let _gpu = gpu_or_skip!();
    // 16 vec4 blocks (64 channels) per invocation, as on hardware adapters (software ones
    // stop at 8 unless forced): a whole group, a partial last group, 2-bit and 1-bit codes.
    let cases = [
        case(1, 8, 8, 64, 64, 3, 1, 1, 2),
        case(1, 5, 6, 40, 100, 3, 2, 1, 1),
    ];
    for (i, cs) in cases.into_iter().enumerate() {
        check_i32(&cs, Path::BlockedWide, 480 + i as u64);
    }
}

#[test]
fn narrow_two_bit_inputs_defer_byte_sums_exactly() {
    let _gpu = gpu_or_skip!();
    // 2-bit inputs of one word per plane keep per-tap byte counts (both planes in one word
    // up to 16 channels and 31 taps; two words up to 10 taps; else the plain sums): every
    // regime and its limits, on random codes and on all-ones codes and weights, where the
    // byte counts reach their largest values (8 x 25 taps, 24 x 9 taps).
    let cases = [
        case(1, 7, 9, 16, 16, 5, 1, 2, 2),
        case(2, 7, 5, 9, 12, 3, 2, 1, 2),
        case(1, 6, 7, 32, 8, 3, 2, 1, 2),
        case(1, 5, 5, 20, 40, 3, 1, 1, 2),
        case(1, 9, 8, 20, 8, 5, 1, 2, 2),
        case(1, 9, 9, 16, 8, 7, 1, 3, 2),
    ];
    for (i, cs) in cases.into_iter().enumerate() {
        check_i32(&cs, Path::Blocked, 460 + i as u64);
        let g = &cs.g;
        let codes = vec![3; g.n * g.h * g.w * g.c];
        let signs = vec![1; g.o * g.kh * g.kw * g.c];
        check_i32_on(&cs, Path::Blocked, &codes, &signs);
    }
}

#[test]
fn blocked_stages_weights_in_several_chunks() {
    let _gpu = gpu_or_skip!();
    // 3x3 x 512 channels: one group of 64 channels fills 9216 of the 16384 staged words,
    // so 130 outputs (three groups) take three dispatches.
    check_i32(&case(1, 3, 4, 512, 130, 3, 1, 1, 1), Path::Blocked, 400);
    // Too large to stage at all: Auto falls back to the general kernel, Blocked refuses.
    let big = case(1, 7, 7, 2700, 1, 7, 1, 3, 1);
    let gpu = common::gpu().unwrap();
    assert_eq!(bconv::auto_path(gpu, &big.g, 1, Output::I32), Path::General);
    let (codes, signs) = random_problem(&big, 401);
    let (x, w) = upload(gpu, &big, &codes, &signs);
    let mut rec = Recorder::new(gpu);
    assert!(bconv::forward(&mut rec, &big.g, 1, &x, &w, Output::I32, Path::Blocked).is_err());
}

#[test]
fn single_word_input_takes_the_general_kernel() {
    let gpu = gpu_or_skip!();
    // One pixel of 5 channels at 1 bit: a single input word, too small to read as vec4.
    let cs = case(1, 1, 1, 5, 3, 1, 1, 0, 1);
    assert_eq!(bconv::auto_path(gpu, &cs.g, 1, Output::I32), Path::General);
    check_i32(&cs, Path::Auto, 450);
}

#[test]
fn auto_picks_blocked_for_the_body_layer() {
    let gpu = gpu_or_skip!();
    let body = ConvGeom::same(64, 32, 32, 64, 64, 3, 1);
    assert_eq!(bconv::auto_path(gpu, &body, 2, Output::I32), Path::Blocked);
}

#[test]
fn scaled_matches_reference() {
    let gpu = gpu_or_skip!();
    for (i, cs) in [
        case(1, 7, 5, 33, 5, 3, 1, 1, 2),
        case(2, 6, 6, 40, 100, 3, 1, 1, 2),
    ]
    .into_iter()
    .enumerate()
    {
        let (codes, signs) = random_problem(&cs, 500 + i as u64);
        let scale = common::rand_f32(510 + i as u64, cs.g.o, -0.3, 0.3);
        let (x, w) = upload(gpu, &cs, &codes, &signs);
        let st = Tensor::from_slice(gpu, &[cs.g.o], &scale).unwrap();
        let want = r::bconv_forward_scaled(&cs.g, &codes, &signs, &scale);
        for path in [Path::Blocked, Path::General] {
            let mut rec = Recorder::new(gpu);
            let y = bconv::forward(&mut rec, &cs.g, cs.bits, &x, &w, Output::Scaled(&st), path)
                .unwrap();
            rec.submit();
            // acc is exact in f32 and scaled with one rounding: bit-identical.
            common::assert_exact(
                &format!("bconv scaled {path:?} {cs:?}"),
                &y.to_vec::<f32>(gpu).unwrap(),
                &want,
            );
        }
    }
}

#[test]
fn fused_threshold_equals_threshold_of_accumulators() {
    let gpu = gpu_or_skip!();
    let cases = [
        (case(1, 7, 5, 64, 64, 3, 1, 1, 2), 2),
        (case(2, 5, 7, 33, 5, 3, 2, 1, 2), 1),
        (case(1, 6, 6, 40, 100, 3, 1, 1, 2), 2),
        // Two 64-channel groups, an odd number of output words (the last group has one).
        (case(1, 5, 9, 10, 72, 3, 1, 1, 2), 2),
        (case(1, 7, 9, 24, 96, 3, 2, 1, 8), 2),
        (case(1, 5, 6, 20, 6, 3, 1, 1, 3), 3),
        (case(1, 5, 5, 31, 7, 1, 1, 0, 4), 8),
    ];
    for (i, (cs, out_bits)) in cases.into_iter().enumerate() {
        let seed = 600 + 10 * i as u64;
        let (codes, signs) = random_problem(&cs, seed);
        let (x, w) = upload(gpu, &cs, &codes, &signs);
        let acc = r::bconv_forward(&cs.g, &codes, &signs);
        let (values, flags) = random_thresholds(cs.g.o, out_bits, &acc, seed + 1);
        let th = Thresholds::from_host(gpu, out_bits, &values, &flags).unwrap();
        let want = r::bconv_forward_threshold(&cs.g, &codes, &signs, &values, &flags, out_bits);
        let mut rec = Recorder::new(gpu);
        let fused =
            bconv::forward_threshold(&mut rec, &cs.g, cs.bits, &x, &w, &th, out_bits).unwrap();
        let general = bconv::forward(
            &mut rec,
            &cs.g,
            cs.bits,
            &x,
            &w,
            Output::Threshold(&th),
            Path::General,
        )
        .unwrap();
        let acc_gpu = bconv::forward_i32(&mut rec, &cs.g, cs.bits, &x, &w).unwrap();
        let unfused = threshold::apply_packed(&mut rec, &acc_gpu, &th).unwrap();
        rec.submit();
        let [n, ho, wo, o] = cs.g.output_shape();
        assert_eq!(fused.shape(), [n, ho, wo, out_bits as usize, words_for(o)]);
        let what = format!("fused threshold k_out={out_bits} {cs:?}");
        let fused = fused.to_vec::<u32>(gpu).unwrap();
        common::assert_exact(&what, &fused, &want);
        common::assert_exact(&what, &general.to_vec::<u32>(gpu).unwrap(), &want);
        common::assert_exact(&what, &fused, &unfused.to_vec::<u32>(gpu).unwrap());
    }
}

#[test]
fn invalid_inputs_are_errors() {
    let gpu = gpu_or_skip!();
    let cs = case(1, 5, 5, 40, 8, 3, 1, 1, 2);
    let (codes, signs) = random_problem(&cs, 700);
    let (x, w) = upload(gpu, &cs, &codes, &signs);
    let mut rec = Recorder::new(gpu);
    // Wrong code width for the input tensor, unsupported widths.
    assert!(bconv::forward_i32(&mut rec, &cs.g, 3, &x, &w).is_err());
    assert!(bconv::forward_i32(&mut rec, &cs.g, 0, &x, &w).is_err());
    // Weights of another geometry.
    let g5 = ConvGeom {
        kh: 5,
        kw: 5,
        ..cs.g
    };
    assert!(bconv::forward_i32(&mut rec, &g5, 2, &x, &w).is_err());
    // Kernel larger than the padded image.
    let tiny = ConvGeom {
        h: 1,
        w: 1,
        pad: 0,
        ..cs.g
    };
    assert!(bconv::forward_i32(&mut rec, &tiny, 2, &x, &w).is_err());
    // Scale of the wrong length, thresholds of the wrong width or channel count.
    let scale = Tensor::from_slice(gpu, &[3], &[1.0f32; 3]).unwrap();
    assert!(bconv::forward_scaled(&mut rec, &cs.g, 2, &x, &w, &scale).is_err());
    let th = Thresholds::from_host(gpu, 2, &[0; 24], &[1; 8]).unwrap();
    assert!(bconv::forward_threshold(&mut rec, &cs.g, 2, &x, &w, &th, 3).is_err());
    let th4 = Thresholds::from_host(gpu, 2, &[0; 12], &[1; 4]).unwrap();
    assert!(bconv::forward_threshold(&mut rec, &cs.g, 2, &x, &w, &th4, 2).is_err());
    assert_eq!(rec.dispatch_count(), 0);
}
