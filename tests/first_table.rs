//! The code-table first layer: every implementation (gather + bconv, folded 8-bit and 16-bit
//! tables) against the reference of the gather + binary conv + thresholds it replaces, and
//! the folded reference against the same spec. Exact, on random and edge-case inputs.

mod common;

use pixembed::bench::first_layer::variant_table;
use pixembed::gpu::{Recorder, Tensor};
use pixembed::nn::FirstLayerKind;
use pixembed::ops::first_table::{CodeTableConv, Impl, Width};
use pixembed::ops::layout::ConvGeom;
use pixembed::ops::threshold::Thresholds;
use pixembed::reference::bconv::bconv_forward_threshold;
use pixembed::reference::first_table::{fold_table, folded_threshold};
use pixembed::reference::lut::lut_gather;
use pixembed::reference::pack::pack_signs;
use rand::{Rng, SeedableRng};

struct Case {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    variant: FirstLayerKind,
    /// One table shared by every channel.
    shared: bool,
    o: usize,
    k: usize,
    stride: usize,
    out_bits: u32,
}

/// Thresholds around zero with spread `s`; flags mostly increasing, some decreasing and
/// constant (whose code may need clamping).
fn thresholds(rng: &mut impl Rng, o: usize, bits: u32, s: i32) -> (Vec<i32>, Vec<i32>) {
    let n = (1usize << bits) - 1;
    let mut values = Vec::new();
    let mut flags = Vec::new();
    for _ in 0..o {
        let mut t: Vec<i32> = (0..n).map(|_| rng.random_range(-s..=s)).collect();
        t.sort();
        let f = [1, 1, 1, -1, 0][rng.random_range(0..5)];
        if f == 0 {
            t[0] = rng.random_range(-1..=n as i32 + 1);
        }
        values.extend(t);
        flags.push(f);
    }
    (values, flags)
}

/// Returns the implementations that ran.
fn check(case: &Case, seed: u64) -> Vec<Impl> {
    let gpu = common::gpu().expect("GPU");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut codes, d, bits) = variant_table(case.variant, case.c, 10, 2, &mut rng);
    let tables = if case.shared { 1 } else { case.c };
    codes.truncate(tables * 256 * d);
    let cin = case.c * d;
    let g = ConvGeom::same(case.n, case.h, case.w, cin, case.o, case.k, case.stride);
    let mut pixels = common::rand_u8(seed, case.n * case.h * case.w * case.c);
    pixels[0] = 0;
    pixels[1] = 255;
    let last = pixels.len() - 1;
    pixels[last] = 255;
    let weights: Vec<f32> = (0..case.o * case.k * case.k * cin)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    let signs: Vec<i32> = weights
        .iter()
        .map(|&v| if v >= 0.0 { 1 } else { -1 })
        .collect();
    let spread = ((case.k * case.k * cin) as i32 * ((1 << bits) - 1) / 6).max(1);
    let (values, flags) = thresholds(&mut rng, case.o, case.out_bits, spread);

    // The spec: gathered codes through the binary conv and thresholds.
    let gathered = lut_gather(&pixels, case.c, &codes, tables, d);
    let want = bconv_forward_threshold(&g, &gathered, &signs, &values, &flags, case.out_bits);
    // The folded reference agrees with it.
    let folded = fold_table(&g, &codes, tables, d, &signs);
    let gp = ConvGeom { c: case.c, ..g };
    let got = folded_threshold(&gp, &pixels, &folded, &values, &flags, case.out_bits);
    common::assert_exact("folded reference", &got, &want);

    let px = Tensor::from_slice(gpu, &[case.n, case.h, case.w, case.c], &pixels).unwrap();
    let ct = Tensor::from_slice(gpu, &[tables, 256, d], &codes).unwrap();
    let wt = Tensor::from_slice(
        gpu,
        &[case.o, case.k, case.k, cin.div_ceil(32)],
        &pack_signs(&weights, cin),
    )
    .unwrap();
    let th = Thresholds::from_host(gpu, case.out_bits, &values, &flags).unwrap();
    let layer = CodeTableConv::new(
        gpu,
        &ct,
        bits,
        case.c,
        &wt,
        &th,
        case.k,
        case.stride,
        case.k / 2,
    )
    .unwrap();
    let impls = layer.impls();
    for &imp in &impls {
        let mut rec = Recorder::new(gpu);
        let y = layer.forward_with(&mut rec, &px, imp).unwrap();
        rec.submit();
        assert_eq!(
            y.shape(),
            [
                case.n,
                g.ho(),
                g.wo(),
                case.out_bits as usize,
                case.o.div_ceil(32)
            ]
        );
        common::assert_exact(
            &format!("{} {:?} o={}", imp.name(), case.variant, case.o),
            &y.to_vec::<u32>(gpu).unwrap(),
            &want,
        );
    }
    let mut rec = Recorder::new(gpu);
    let y = layer.forward(&mut rec, &px).unwrap();
    rec.submit();
    common::assert_exact("chosen", &y.to_vec::<u32>(gpu).unwrap(), &want);
    impls
}

#[allow(clippy::too_many_arguments)]
fn case(
    variant: FirstLayerKind,
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    o: usize,
    k: usize,
    stride: usize,
) -> Case {
    Case {
        n,
        h,
        w,
        c,
        variant,
        shared: false,
        o,
        k,
        stride,
        out_bits: 2,
    }
}

#[test]
fn embed_all_forms_match_reference() {
    let _gpu = gpu_or_skip!();
    let folded8 = Impl::Folded(Width::W8);
    let folded16 = Impl::Folded(Width::W16);
    // 2-bit codes of 10 dims: both widths hold the sums.
    let impls = check(&case(FirstLayerKind::Embed, 2, 9, 7, 3, 64, 3, 1), 1);
    assert!(
        impls.contains(&folded8) && impls.contains(&folded16),
        "{impls:?}"
    );
    check(&case(FirstLayerKind::Embed, 1, 7, 5, 3, 40, 3, 2), 2);
    check(&case(FirstLayerKind::Embed, 1, 5, 9, 1, 72, 3, 1), 3);
    check(&case(FirstLayerKind::Embed, 1, 13, 11, 3, 64, 7, 2), 4);
    check(&case(FirstLayerKind::Embed, 2, 3, 3, 3, 130, 3, 1), 5);
}

#[test]
fn other_variants_match_reference() {
    let _gpu = gpu_or_skip!();
    // int8 (codes 0..255): 8-bit lanes cannot hold a tap, only the 16-bit form exists.
    let impls = check(&case(FirstLayerKind::Int8, 1, 11, 13, 3, 64, 7, 2), 11);
    assert_eq!(impls, vec![Impl::Gather, Impl::Folded(Width::W16)]);
    check(&case(FirstLayerKind::Int8, 2, 5, 5, 1, 40, 3, 1), 12);
    check(&case(FirstLayerKind::Bitplane, 1, 7, 9, 3, 96, 3, 2), 13);
    check(&case(FirstLayerKind::Thermometer, 2, 7, 5, 3, 64, 3, 1), 14);
    check(&case(FirstLayerKind::Naive, 1, 9, 9, 3, 33, 3, 1), 15);
    check(
        &Case {
            shared: true,
            ..case(FirstLayerKind::Naive, 2, 5, 7, 3, 64, 3, 1)
        },
        16,
    );
}

#[test]
fn output_code_widths_match_reference() {
    let _gpu = gpu_or_skip!();
    for (bits, seed) in [(1u32, 21u64), (3, 22), (8, 23)] {
        check(
            &Case {
                out_bits: bits,
                ..case(FirstLayerKind::Embed, 1, 6, 5, 3, 48, 3, 1)
            },
            seed,
        );
    }
}
