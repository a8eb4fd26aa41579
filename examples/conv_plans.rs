//! Time the float convolution plans on one shape: first call (pipeline creation included)
//! and the median of later calls.
//!
//!     cargo run --release --example conv_plans -- N H W C O

use pixembed::gpu::{AdapterRequest, Gpu, Recorder, Tensor};
use pixembed::ops::conv::{self, DataGradPlan, ForwardPlan};
use pixembed::ops::layout::ConvGeom;
use std::time::Instant;

fn main() -> pixembed::Result<()> {
    let a: Vec<usize> = std::env::args().skip(1).map(|s| s.parse().unwrap()).collect();
    let [n, h, w, c, o] = [a[0], a[1], a[2], a[3], a[4]];
    let g = ConvGeom { n, h, w, c, o, kh: 3, kw: 3, stride: 1, pad: 1 };
    let gpu = Gpu::new(&AdapterRequest::default())?;
    let x = Tensor::from_slice(&gpu, &g.input_shape(), &vec![0.5f32; n * h * w * c])?;
    let wt = Tensor::from_slice(&gpu, &g.weight_shape(), &vec![1f32; o * 9 * c])?;
    let dy = Tensor::from_slice(&gpu, &g.output_shape(), &vec![0.25f32; n * h * w * o])?;
    let macs = (n * h * w * c * o * 9) as f64;
    let run = |what: &str, f: &dyn Fn(&mut Recorder) -> pixembed::Result<Tensor>| {
        let mut times = Vec::new();
        for _ in 0..4 {
            let t0 = Instant::now();
            let mut rec = Recorder::new(&gpu);
            f(&mut rec).unwrap();
            rec.submit();
            gpu.wait().unwrap();
            times.push(t0.elapsed().as_secs_f64());
        }
        let first = times[0];
        let mut rest = times[1..].to_vec();
        rest.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{what:24} first {first:7.3} s, median {:7.4} s, {:6.2} G MAC/s",
            rest[1],
            macs / rest[1] / 1e9
        );
    };
    for plan in [ForwardPlan::Tiled, ForwardPlan::Unrolled] {
        run(&format!("forward {plan:?}"), &|r| conv::forward_with(r, &g, &x, &wt, plan));
    }
    for plan in [DataGradPlan::Tiled, DataGradPlan::Unrolled] {
        run(&format!("backward_data {plan:?}"), &|r| {
            conv::backward_data_with(r, &g, &dy, &wt, plan)
        });
    }
    Ok(())
}
