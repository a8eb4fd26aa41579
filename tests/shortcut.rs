//! Residual shortcut: GPU vs reference, identity and stride-2 channel-padding cases.

mod common;

use pixembed::gpu::{Recorder, Tensor};
use pixembed::ops::shortcut;
use pixembed::reference::shortcut as r;

#[test]
fn shortcut_matches_reference() {
    let gpu = gpu_or_skip!();
    for (cs, cout, stride) in [
        ([2, 8, 8, 16], 16, 1),
        ([1, 7, 5, 16], 32, 2),
        ([3, 4, 4, 3], 5, 2),
    ] {
        let [n, h, w, cin]: [usize; 4] = cs;
        let (ho, wo) = (h.div_ceil(stride), w.div_ceil(stride));
        let codes: Vec<f32> = common::rand_u32(1, n * h * w * cin)
            .iter()
            .map(|v| (v % 4) as f32)
            .collect();
        let a = common::rand_f32(2, n * ho * wo * cout, -1.0, 1.0);
        let dout = common::rand_f32(3, n * ho * wo * cout, -1.0, 1.0);
        let step = 2.0 / 3.0;
        let ct = Tensor::from_slice(gpu, &cs, &codes).unwrap();
        let at = Tensor::from_slice(gpu, &[n, ho, wo, cout], &a).unwrap();
        let dt = Tensor::from_slice(gpu, &[n, ho, wo, cout], &dout).unwrap();
        let mut rec = Recorder::new(gpu);
        let out = shortcut::forward(&mut rec, &at, &ct, stride, step).unwrap();
        let d = shortcut::backward(&mut rec, &dt, &cs, stride, step).unwrap();
        rec.submit();
        common::assert_exact(
            "shortcut forward",
            &out.to_vec::<f32>(gpu).unwrap(),
            &r::shortcut_forward(&a, &codes, cs, cout, stride, step),
        );
        common::assert_exact(
            "shortcut backward",
            &d.to_vec::<f32>(gpu).unwrap(),
            &r::shortcut_backward(&dout, cs, cout, stride, step),
        );
    }
}

#[test]
fn shortcut_rejects_bad_shapes() {
    let gpu = gpu_or_skip!();
    let a = Tensor::from_slice(gpu, &[1, 4, 4, 8], &[0.0f32; 128]).unwrap();
    let c = Tensor::from_slice(gpu, &[1, 4, 4, 16], &[0.0f32; 256]).unwrap();
    let mut rec = Recorder::new(gpu);
    assert!(shortcut::forward(&mut rec, &a, &c, 1, 1.0).is_err());
}
