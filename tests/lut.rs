//! The integer engine's own kernels against their references: code-table gather to packed planes,
//! residual thresholds per (channel, shortcut code).

mod common;

use pixembed::gpu::{Recorder, Tensor};
use pixembed::ops::{lut, residual_threshold};
use pixembed::reference::lut as r;
use pixembed::reference::pack::{pack_bitplanes, unpack_bitplanes};

#[test]
fn lut_gather_matches_reference() {
    let gpu = gpu_or_skip!();
    for (n, h, w, c, d, tables, bits) in [
        (2, 5, 3, 3, 10, 3, 2),
        (1, 4, 4, 1, 1, 1, 8),
        (3, 2, 7, 3, 8, 1, 8),
        (1, 3, 3, 3, 11, 3, 4),
    ] {
        let mut pixels = common::rand_u8(n as u64, n * h * w * c);
        pixels[0] = 0;
        pixels[1] = 255;
        let max = (1u32 << bits) - 1;
        let table: Vec<u32> = common::rand_u32(7, tables * 256 * d)
            .iter()
            .map(|v| v % (max + 1))
            .collect();
        let pt = Tensor::from_slice(gpu, &[n, h, w, c], &pixels).unwrap();
        let tt = Tensor::from_slice(gpu, &[tables, 256, d], &table).unwrap();
        let mut rec = Recorder::new(gpu);
        let out = lut::gather_packed(&mut rec, &pt, &tt, bits).unwrap();
        rec.submit();
        let want = pack_bitplanes(&r::lut_gather(&pixels, c, &table, tables, d), c * d, bits);
        common::assert_exact("lut gather", &out.to_vec::<u32>(gpu).unwrap(), &want);
    }
}

#[test]
fn lut_gather_rejects_bad_tables() {
    let gpu = gpu_or_skip!();
    let pt = Tensor::from_slice(gpu, &[1, 2, 2, 3], &[0u8; 12]).unwrap();
    let tt = Tensor::from_slice(gpu, &[2, 256, 1], &[0u32; 512]).unwrap();
    let mut rec = Recorder::new(gpu);
    assert!(lut::gather_packed(&mut rec, &pt, &tt, 2).is_err());
}

#[test]
fn residual_thresholds_match_reference() {
    let gpu = gpu_or_skip!();
    for (n, h, w, cin, o, stride, bits) in [
        (2usize, 6usize, 6usize, 16usize, 16usize, 1usize, 2u32),
        (1, 7, 5, 8, 40, 2, 2),
        (2, 4, 4, 3, 3, 1, 3),
    ] {
        let levels = (1usize << bits) - 1;
        let (ho, wo) = (h.div_ceil(stride), w.div_ceil(stride));
        let codes_in: Vec<u32> = common::rand_u32(1, n * h * w * cin)
            .iter()
            .map(|v| v % (levels as u32 + 1))
            .collect();
        let acc: Vec<i32> = common::rand_u32(2, n * ho * wo * o)
            .iter()
            .map(|v| (v % 200) as i32 - 100)
            .collect();
        let mut th = Vec::new();
        let mut flags = Vec::new();
        let mut rng = common::rand_u32(3, o * (levels + 1) * (levels + 2)).into_iter();
        for _ in 0..o * (levels + 1) {
            let mut t: Vec<i32> = (0..levels)
                .map(|_| (rng.next().unwrap() % 200) as i32 - 100)
                .collect();
            t.sort();
            th.extend(&t);
            flags.push(match rng.next().unwrap() % 3 {
                0 => 0,
                1 => 1,
                _ => -1,
            });
        }
        for (i, f) in flags.iter().enumerate() {
            if *f == 0 {
                th[i * levels] = (i % (levels + 1)) as i32;
            }
        }
        let packed_in = pack_bitplanes(&codes_in, cin, bits);
        let acc_t = Tensor::from_slice(gpu, &[n, ho, wo, o], &acc).unwrap();
        let in_t = Tensor::from_slice(gpu, &[n, h, w, bits as usize, cin.div_ceil(32)], &packed_in)
            .unwrap();
        let th_t = Tensor::from_slice(gpu, &[o, levels + 1, levels], &th).unwrap();
        let fl_t = Tensor::from_slice(gpu, &[o, levels + 1], &flags).unwrap();
        let mut rec = Recorder::new(gpu);
        let out =
            residual_threshold::apply(&mut rec, &acc_t, &in_t, cin, stride, bits, &th_t, &fl_t)
                .unwrap();
        rec.submit();
        let got = unpack_bitplanes(&out.to_vec::<u32>(gpu).unwrap(), o, bits);
        let want = r::residual_threshold(
            &acc,
            [n, ho, wo, o],
            &codes_in,
            [n, h, w, cin],
            stride,
            bits,
            &th,
            &flags,
        );
        common::assert_exact("residual thresholds", &got, &want);
    }
}

#[test]
fn packed_max_pool_matches_reference() {
    let gpu = gpu_or_skip!();
    for (n, h, w, c, bits) in [
        (2usize, 4usize, 4usize, 16usize, 2u32),
        (1, 7, 5, 33, 3),
        (2, 2, 2, 1, 1),
        (1, 6, 6, 70, 8),
    ] {
        let levels = (1u32 << bits) - 1;
        let codes: Vec<u32> = common::rand_u32(9, n * h * w * c)
            .iter()
            .map(|v| v % (levels + 1))
            .collect();
        let packed = pack_bitplanes(&codes, c, bits);
        let t =
            Tensor::from_slice(gpu, &[n, h, w, bits as usize, c.div_ceil(32)], &packed).unwrap();
        let mut rec = Recorder::new(gpu);
        let y = pixembed::ops::packed_pool::max2x2(&mut rec, &t).unwrap();
        rec.submit();
        let got = unpack_bitplanes(&y.to_vec::<u32>(gpu).unwrap(), c, bits);
        common::assert_exact(
            "packed max pool",
            &got,
            &r::max_pool_codes(&codes, [n, h, w, c]),
        );
    }
}
