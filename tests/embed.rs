//! Pixel embedding: forward (f32 codes and packed bit-planes) and backward against the
//! reference on random and edge inputs, both table kinds, k = 1, 2, 4, 8; the backward is
//! bit-identical across runs and agrees with finite differences of the STE surrogate.

mod common;

use pixembed::gpu::{Recorder, Tensor};
use pixembed::reference::embed as r;
use pixembed::reference::pack::pack_bitplanes;
use pixembed::{ops, QuantSpec};

/// One test shape: pixels [n, h, w, c], table [tables, 256, dim], quantizer bits.
#[derive(Clone, Copy, Debug)]
struct Case {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    tables: usize,
    dim: usize,
    bits: u32,
}

const CASES: [Case; 7] = [
    // CIFAR-like, one table per channel, Blueoil's D = 10 at 2 bits (C*D = 30).
    Case {
        n: 2,
        h: 5,
        w: 7,
        c: 3,
        tables: 3,
        dim: 10,
        bits: 2,
    },
    // Batch 1, grey, D = 1, 1 bit.
    Case {
        n: 1,
        h: 3,
        w: 3,
        c: 1,
        tables: 1,
        dim: 1,
        bits: 1,
    },
    // One pixel, shared table, 8 bits.
    Case {
        n: 1,
        h: 1,
        w: 1,
        c: 3,
        tables: 1,
        dim: 10,
        bits: 8,
    },
    // C*D = 33: two words per plane, the second with one channel.
    Case {
        n: 2,
        h: 4,
        w: 3,
        c: 3,
        tables: 3,
        dim: 11,
        bits: 4,
    },
    // C*D = 32 exactly, shared table.
    Case {
        n: 1,
        h: 2,
        w: 5,
        c: 4,
        tables: 1,
        dim: 8,
        bits: 2,
    },
    // T*D = 270 > 256: the code table does not fit a uniform (storage path).
    Case {
        n: 1,
        h: 3,
        w: 5,
        c: 3,
        tables: 3,
        dim: 90,
        bits: 2,
    },
    // Shared table, C*D = 100.
    Case {
        n: 3,
        h: 3,
        w: 1,
        c: 2,
        tables: 1,
        dim: 50,
        bits: 4,
    },
];

impl Case {
    fn spec(&self) -> QuantSpec {
        QuantSpec::new(self.bits, 2.0).unwrap()
    }
    fn pixel_count(&self) -> usize {
        self.n * self.h * self.w
    }
    fn table_len(&self) -> usize {
        self.tables * 256 * self.dim
    }
    /// Random table over [-0.5, 2.5] (both clip edges hit) with exact 0 and max entries.
    fn table(&self, seed: u64) -> Vec<f32> {
        let mut t = common::rand_f32(seed, self.table_len(), -0.5, 2.5);
        t[0] = 0.0;
        let last = t.len() - 1;
        t[last] = 2.0;
        t
    }
    /// Random pixels with the first values forced to 0 and 255.
    fn pixels(&self, seed: u64) -> Vec<u8> {
        let mut p = common::rand_u8(seed, self.pixel_count() * self.c);
        p[0] = 0;
        let last = p.len() - 1;
        p[last] = 255;
        if p.len() > 2 {
            p[1] = 255;
        }
        p
    }
}

fn upload(gpu: &pixembed::gpu::Gpu, case: &Case, table: &[f32], pixels: &[u8]) -> (Tensor, Tensor) {
    let tt = Tensor::from_slice(gpu, &[case.tables, 256, case.dim], table).unwrap();
    let pt = Tensor::from_slice(gpu, &[case.n, case.h, case.w, case.c], pixels).unwrap();
    (tt, pt)
}

#[test]
fn forward_matches_reference() {
    let gpu = gpu_or_skip!();
    for (i, case) in CASES.iter().enumerate() {
        let table = case.table(10 + i as u64);
        let pixels = case.pixels(20 + i as u64);
        let (tt, pt) = upload(gpu, case, &table, &pixels);
        let mut rec = Recorder::new(gpu);
        let codes = ops::embed::forward(&mut rec, case.spec(), &tt, &pt).unwrap();
        rec.submit();
        assert_eq!(
            codes.shape(),
            &[case.n, case.h, case.w, case.c * case.dim],
            "{case:?}"
        );
        let want = r::embed_forward(case.spec(), &table, case.tables, case.dim, &pixels, case.c);
        common::assert_exact(
            &format!("embed forward {case:?}"),
            &codes.to_vec::<f32>(gpu).unwrap(),
            &want,
        );
    }
}

#[test]
fn forward_packed_matches_reference() {
    let gpu = gpu_or_skip!();
    for (i, case) in CASES.iter().enumerate() {
        let table = case.table(30 + i as u64);
        let pixels = case.pixels(40 + i as u64);
        let (tt, pt) = upload(gpu, case, &table, &pixels);
        let mut rec = Recorder::new(gpu);
        let packed = ops::embed::forward_packed(&mut rec, case.spec(), &tt, &pt).unwrap();
        rec.submit();
        let cd = case.c * case.dim;
        assert_eq!(
            packed.shape(),
            &[case.n, case.h, case.w, case.bits as usize, cd.div_ceil(32)],
            "{case:?}"
        );
        let codes: Vec<u32> =
            r::embed_forward(case.spec(), &table, case.tables, case.dim, &pixels, case.c)
                .iter()
                .map(|&c| c as u32)
                .collect();
        common::assert_exact(
            &format!("embed forward_packed {case:?}"),
            &packed.to_vec::<u32>(gpu).unwrap(),
            &pack_bitplanes(&codes, cd, case.bits),
        );
    }
}

fn run_backward(
    gpu: &pixembed::gpu::Gpu,
    case: &Case,
    table: &[f32],
    pixels: &[u8],
    dvalue: &[f32],
) -> Vec<f32> {
    let (tt, pt) = upload(gpu, case, table, pixels);
    let shape = [case.n, case.h, case.w, case.c * case.dim];
    let dt = Tensor::from_slice(gpu, &shape, dvalue).unwrap();
    let mut rec = Recorder::new(gpu);
    let dtable = ops::embed::backward(&mut rec, case.spec(), &tt, &pt, &dt).unwrap();
    rec.submit();
    assert_eq!(dtable.shape(), &[case.tables, 256, case.dim]);
    dtable.to_vec::<f32>(gpu).unwrap()
}

#[test]
fn backward_matches_reference() {
    let gpu = gpu_or_skip!();
    // The listed cases plus one with many pixels per value and several chunks.
    let mut cases = CASES.to_vec();
    cases.push(Case {
        n: 3,
        h: 17,
        w: 15,
        c: 3,
        tables: 1,
        dim: 10,
        bits: 2,
    });
    for (i, case) in cases.iter().enumerate() {
        let table = case.table(50 + i as u64);
        let pixels = case.pixels(60 + i as u64);
        let dvalue = common::rand_f32(70 + i as u64, pixels.len() * case.dim, -1.0, 1.0);
        let got = run_backward(gpu, case, &table, &pixels, &dvalue);
        let want = r::embed_backward(
            case.spec(),
            &table,
            case.tables,
            case.dim,
            &pixels,
            case.c,
            &dvalue,
        );
        common::assert_close(&format!("embed backward {case:?}"), &got, &want, 1e-4, 1e-4);
    }
}

#[test]
fn backward_is_bit_identical_across_runs() {
    let gpu = gpu_or_skip!();
    for case in [
        Case {
            n: 4,
            h: 32,
            w: 32,
            c: 3,
            tables: 3,
            dim: 10,
            bits: 2,
        },
        Case {
            n: 4,
            h: 32,
            w: 32,
            c: 3,
            tables: 1,
            dim: 10,
            bits: 2,
        },
    ] {
        let table = case.table(80);
        let pixels = case.pixels(81);
        let dvalue = common::rand_f32(82, pixels.len() * case.dim, -1.0, 1.0);
        let a = run_backward(gpu, &case, &table, &pixels, &dvalue);
        let b = run_backward(gpu, &case, &table, &pixels, &dvalue);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        common::assert_exact(
            &format!("embed backward rerun {case:?}"),
            &bits(&a),
            &bits(&b),
        );
    }
}

#[test]
fn backward_matches_finite_differences() {
    let gpu = gpu_or_skip!();
    for case in [
        Case {
            n: 2,
            h: 3,
            w: 5,
            c: 3,
            tables: 3,
            dim: 4,
            bits: 2,
        },
        Case {
            n: 1,
            h: 4,
            w: 4,
            c: 2,
            tables: 1,
            dim: 3,
            bits: 2,
        },
    ] {
        let spec = case.spec();
        let table = case.table(90);
        // Few distinct values, so that every table row used collects several pixels.
        let pixels: Vec<u8> = case.pixels(91).iter().map(|v| v % 8).collect();
        let dvalue = common::rand_f32(92, pixels.len() * case.dim, -1.0, 1.0);
        let got = run_backward(gpu, &case, &table, &pixels, &dvalue);
        // STE surrogate of q: L(table) = sum over pixels, channels, d of dvalue * clip(table[t][v][d]).
        let loss = |tab: &[f32]| -> f64 {
            let mut sum = 0.0f64;
            for (i, &v) in pixels.iter().enumerate() {
                let t = r::table_of(case.tables, i % case.c);
                for d in 0..case.dim {
                    let e = tab[(t * 256 + v as usize) * case.dim + d];
                    sum += dvalue[i * case.dim + d] as f64 * e.clamp(0.0, spec.max) as f64;
                }
            }
            sum
        };
        // Rows 0..8 of every table, entries away from the clip edges.
        let coords: Vec<usize> = (0..case.tables)
            .flat_map(|t| (t * 256 * case.dim)..((t * 256 + 8) * case.dim))
            .filter(|&e| table[e].abs() > 1e-2 && (table[e] - spec.max).abs() > 1e-2)
            .collect();
        assert!(coords.len() > 10);
        let fd = common::finite_diff(loss, &table, 1e-3, &coords);
        for (k, &e) in coords.iter().enumerate() {
            assert!(
                (fd[k] - got[e] as f64).abs() < 1e-2,
                "{case:?} entry {e} = {}: finite difference {} vs gpu {}",
                table[e],
                fd[k],
                got[e]
            );
        }
    }
}

#[test]
fn bad_shapes_are_errors() {
    let gpu = gpu_or_skip!();
    let spec = QuantSpec::default();
    let pixels = Tensor::from_slice(gpu, &[1, 2, 2, 3], &[7u8; 12]).unwrap();
    let table = Tensor::from_slice(gpu, &[3, 256, 4], &vec![0.5f32; 3 * 256 * 4]).unwrap();
    let two_tables = Tensor::from_slice(gpu, &[2, 256, 4], &vec![0.5f32; 2 * 256 * 4]).unwrap();
    let short = Tensor::from_slice(gpu, &[1, 255, 4], &vec![0.5f32; 255 * 4]).unwrap();
    let float_pixels = Tensor::from_slice(gpu, &[1, 2, 2, 3], &[7.0f32; 12]).unwrap();
    let mut rec = Recorder::new(gpu);
    assert!(ops::embed::forward(&mut rec, spec, &two_tables, &pixels).is_err());
    assert!(ops::embed::forward(&mut rec, spec, &short, &pixels).is_err());
    assert!(ops::embed::forward(&mut rec, spec, &table, &float_pixels).is_err());
    assert!(
        ops::embed::forward_packed(&mut rec, QuantSpec { bits: 5, max: 2.0 }, &table, &pixels)
            .is_err()
    );
    let wrong_grad = Tensor::from_slice(gpu, &[1, 2, 2, 11], &[0.0f32; 44]).unwrap();
    assert!(ops::embed::backward(&mut rec, spec, &table, &pixels, &wrong_grad).is_err());
    assert_eq!(rec.dispatch_count(), 0);
}
