//! Bit packing against src/reference/pack.rs, exactly: codes to bit-planes (k = 1, 2, 3, 4, 8),
//! fused quantize + pack, unpack, and weight signs, for C = 1, 31, 32, 33, 100.

mod common;

use pixembed::gpu::{Recorder, Tensor};
use pixembed::reference::pack as r;
use pixembed::{ops, QuantSpec};

const CHANNELS: [usize; 5] = [1, 31, 32, 33, 100];
const BITS: [u32; 5] = [1, 2, 3, 4, 8];
/// Leading shapes: an NHW activation with odd sizes, and a single row.
const LEADING: [&[usize]; 2] = [&[2, 3, 5], &[1]];

fn shape_with(leading: &[usize], tail: &[usize]) -> Vec<usize> {
    leading.iter().chain(tail).copied().collect()
}

/// Random codes 0..2^bits - 1 with the extremes at the front.
fn codes(seed: u64, n: usize, bits: u32) -> Vec<u32> {
    let top = (1u32 << bits) - 1;
    let mut c: Vec<u32> = common::rand_u32(seed, n).iter().map(|v| v & top).collect();
    c[0] = top;
    if n > 1 {
        c[1] = 0;
    }
    c
}

#[test]
fn pack_codes_matches_reference() {
    let gpu = gpu_or_skip!();
    for bits in BITS {
        for c in CHANNELS {
            for leading in LEADING {
                let shape = shape_with(leading, &[c]);
                let n: usize = shape.iter().product();
                let codes = codes(bits as u64 * 1000 + c as u64, n, bits);
                let as_f32: Vec<f32> = codes.iter().map(|&v| v as f32).collect();
                let t = Tensor::from_slice(gpu, &shape, &as_f32).unwrap();
                let mut rec = Recorder::new(gpu);
                let packed = ops::pack::pack_codes(&mut rec, bits, &t).unwrap();
                rec.submit();
                assert_eq!(
                    packed.shape(),
                    &shape_with(leading, &[bits as usize, c.div_ceil(32)])[..]
                );
                common::assert_exact(
                    &format!("pack_codes k={bits} {shape:?}"),
                    &packed.to_vec::<u32>(gpu).unwrap(),
                    &r::pack_bitplanes(&codes, c, bits),
                );
            }
        }
    }
}

#[test]
fn quantize_pack_matches_quantizer_then_reference_pack() {
    let gpu = gpu_or_skip!();
    for bits in QuantSpec::SUPPORTED_BITS {
        let spec = QuantSpec::new(bits, 2.0).unwrap();
        for c in CHANNELS {
            let shape = [2, 3, 5, c];
            let n: usize = shape.iter().product();
            let mut x = common::rand_f32(bits as u64 * 7 + c as u64, n, -0.5, 2.5);
            x[0] = 0.0;
            x[n - 1] = 2.0;
            let t = Tensor::from_slice(gpu, &shape, &x).unwrap();
            let mut rec = Recorder::new(gpu);
            let packed = ops::pack::quantize_pack(&mut rec, spec, &t).unwrap();
            rec.submit();
            let codes: Vec<u32> = x.iter().map(|&v| spec.code(v)).collect();
            common::assert_exact(
                &format!("quantize_pack k={bits} C={c}"),
                &packed.to_vec::<u32>(gpu).unwrap(),
                &r::pack_bitplanes(&codes, c, bits),
            );
        }
    }
}

#[test]
fn unpack_matches_reference() {
    let gpu = gpu_or_skip!();
    for bits in BITS {
        for c in CHANNELS {
            for leading in LEADING {
                let cw = c.div_ceil(32);
                let shape = shape_with(leading, &[bits as usize, cw]);
                let n: usize = shape.iter().product();
                // Random words: bits past C must be ignored.
                let words = common::rand_u32(bits as u64 * 31 + c as u64, n);
                let t = Tensor::from_slice(gpu, &shape, &words).unwrap();
                let mut rec = Recorder::new(gpu);
                let out = ops::pack::unpack(&mut rec, bits, c, &t).unwrap();
                rec.submit();
                assert_eq!(out.shape(), &shape_with(leading, &[c])[..]);
                let want: Vec<f32> = r::unpack_bitplanes(&words, c, bits)
                    .iter()
                    .map(|&v| v as f32)
                    .collect();
                common::assert_exact(
                    &format!("unpack k={bits} {shape:?}"),
                    &out.to_vec::<f32>(gpu).unwrap(),
                    &want,
                );
            }
        }
    }
}

#[test]
fn pack_then_unpack_round_trips() {
    let gpu = gpu_or_skip!();
    let c = 33;
    let codes = codes(5, 4 * c, 2);
    let as_f32: Vec<f32> = codes.iter().map(|&v| v as f32).collect();
    let t = Tensor::from_slice(gpu, &[4, c], &as_f32).unwrap();
    let mut rec = Recorder::new(gpu);
    let packed = ops::pack::pack_codes(&mut rec, 2, &t).unwrap();
    let back = ops::pack::unpack(&mut rec, 2, c, &packed).unwrap();
    rec.submit();
    common::assert_exact("round trip", &back.to_vec::<f32>(gpu).unwrap(), &as_f32);
}

#[test]
fn pack_signs_matches_reference() {
    let gpu = gpu_or_skip!();
    for c in CHANNELS {
        // Weights [O, KH, KW, C] = [3, 3, 3, C] and a linear [1, C].
        for leading in [&[3usize, 3, 3][..], &[1]] {
            let shape = shape_with(leading, &[c]);
            let n: usize = shape.iter().product();
            let mut w = common::rand_f32(c as u64, n, -1.0, 1.0);
            w[0] = 0.0;
            if n > 2 {
                w[1] = -0.0;
                w[2] = -f32::MIN_POSITIVE;
            }
            let t = Tensor::from_slice(gpu, &shape, &w).unwrap();
            let mut rec = Recorder::new(gpu);
            let packed = ops::pack::pack_signs(&mut rec, &t).unwrap();
            rec.submit();
            assert_eq!(packed.shape(), &shape_with(leading, &[c.div_ceil(32)])[..]);
            common::assert_exact(
                &format!("pack_signs {shape:?}"),
                &packed.to_vec::<u32>(gpu).unwrap(),
                &r::pack_signs(&w, c),
            );
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    let gpu = gpu_or_skip!();
    let x = Tensor::from_slice(gpu, &[2, 33], &[1.0f32; 66]).unwrap();
    let words = Tensor::from_slice(gpu, &[2, 2, 2], &[0u32; 8]).unwrap();
    let mut rec = Recorder::new(gpu);
    assert!(ops::pack::pack_codes(&mut rec, 0, &x).is_err());
    assert!(ops::pack::pack_codes(&mut rec, 9, &x).is_err());
    assert!(ops::pack::pack_codes(&mut rec, 2, &words).is_err());
    assert!(ops::pack::quantize_pack(&mut rec, QuantSpec { bits: 2, max: -1.0 }, &x).is_err());
    // 33 channels need 2 words per plane: [.., 2, 2] fits k = 2 but not k = 1 or C = 65.
    assert!(ops::pack::unpack(&mut rec, 1, 33, &words).is_err());
    assert!(ops::pack::unpack(&mut rec, 2, 65, &words).is_err());
    assert!(ops::pack::unpack(&mut rec, 2, 33, &x).is_err());
    assert!(ops::pack::pack_signs(&mut rec, &words).is_err());
    assert_eq!(rec.dispatch_count(), 0);
}
