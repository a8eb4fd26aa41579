//! The two exact paths of a binary conv's forward pass (f32 conv on codes, packed popcount
//! conv) give bit-identical accumulators, equal to the reference integer sums.

mod common;

use pixembed::gpu::{Recorder, Tensor};
use pixembed::ops::binconv::{self, BinConvPath};
use pixembed::ops::layout::ConvGeom;
use pixembed::reference::bconv::bconv_forward;

#[test]
fn float_and_packed_paths_are_bit_identical() {
    let gpu = gpu_or_skip!();
    for (g, bits) in [
        (ConvGeom::same(2, 8, 8, 16, 16, 3, 1), 2u32),
        (ConvGeom::same(1, 7, 5, 33, 20, 3, 2), 2),
        (ConvGeom::same(2, 6, 6, 64, 64, 3, 1), 2),
        (ConvGeom::same(1, 9, 9, 30, 16, 3, 1), 1),
        (ConvGeom::same(1, 5, 5, 8, 8, 1, 1), 4),
    ] {
        let levels = (1u32 << bits) - 1;
        let codes: Vec<u32> = common::rand_u32(1, g.n * g.h * g.w * g.c)
            .iter()
            .map(|v| v % (levels + 1))
            .collect();
        let signs: Vec<f32> = common::rand_u32(2, g.o * g.kh * g.kw * g.c)
            .iter()
            .map(|v| if v & 1 == 0 { 1.0 } else { -1.0 })
            .collect();
        let codes_f: Vec<f32> = codes.iter().map(|&c| c as f32).collect();
        let ct = Tensor::from_slice(gpu, &g.input_shape(), &codes_f).unwrap();
        let st = Tensor::from_slice(gpu, &g.weight_shape(), &signs).unwrap();
        let mut rec = Recorder::new(gpu);
        let a = binconv::forward_with(&mut rec, &g, bits, &ct, &st, BinConvPath::Float).unwrap();
        let b = binconv::forward_with(&mut rec, &g, bits, &ct, &st, BinConvPath::Packed).unwrap();
        rec.submit();
        let (a, b) = (a.to_vec::<f32>(gpu).unwrap(), b.to_vec::<f32>(gpu).unwrap());
        let bits_a: Vec<u32> = a.iter().map(|v| v.to_bits()).collect();
        let bits_b: Vec<u32> = b.iter().map(|v| v.to_bits()).collect();
        common::assert_exact(&format!("float vs packed {g:?}"), &bits_a, &bits_b);
        let signs_i: Vec<i32> = signs.iter().map(|&s| s as i32).collect();
        let want: Vec<f32> = bconv_forward(&g, &codes, &signs_i)
            .iter()
            .map(|&v| v as f32)
            .collect();
        common::assert_exact("packed vs reference", &b, &want);
    }
}
