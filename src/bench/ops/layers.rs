//! Rates of the float layer ops on ResNet-20 training shapes (batch 128): batch-norm at the
//! first and last stage widths, max and global average pooling, the residual add, and the
//! linear layer at the CIFAR head (64 -> 10) and an ImageNet-sized head (512 -> 1000).

use crate::bench::{time_op, OpRate};
use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::ops::bn::{self, BnParams};
use crate::ops::{elementwise, linear, pool};

/// Batch-norm shapes: stage 1 ([128, 32, 32, 16]) and stage 3 ([128, 8, 8, 64]).
const BN_SHAPES: [[usize; 4]; 2] = [[128, 32, 32, 16], [128, 8, 8, 64]];

fn filled(gpu: &Gpu, shape: &[usize]) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5)
        .collect();
    Tensor::from_slice(gpu, shape, &v)
}

fn shape_str(s: &[usize]) -> String {
    format!("{s:?}").replace(' ', "")
}

/// Memory-bound op: `bytes` moved per run as work, in GB/s.
fn gbs(op: &str, shape: String, timing: crate::bench::Timing, bytes: usize) -> OpRate {
    OpRate {
        op: op.into(),
        shape,
        timing,
        work: bytes as f64,
        unit: "GB/s",
    }
}

/// bn.forward_train, bn.backward, pool.max_forward/backward, pool.global_avg_forward,
/// elementwise.add, linear.forward/backward.
pub fn rates(gpu: &Gpu, reps: usize) -> Result<Vec<OpRate>> {
    let mut rows = Vec::new();
    for shape in BN_SHAPES {
        let c = shape[3];
        let x = filled(gpu, &shape)?;
        let dy = filled(gpu, &shape)?;
        let ones = Tensor::from_slice(gpu, &[c], &vec![1.0f32; c])?;
        let zeros = Tensor::from_slice(gpu, &[c], &vec![0.0f32; c])?;
        let (rm, rv) = (filled(gpu, &[c])?, ones.clone());
        let p = BnParams {
            gamma: &ones,
            beta: &zeros,
            running_mean: &rm,
            running_var: &rv,
            momentum: 0.1,
            eps: 1e-5,
        };
        let bytes = x.numel() * 4;
        // Forward reads x twice (statistics, normalize) and writes y.
        let timing = time_op(gpu, 1, reps, |rec| {
            bn::forward_train(rec, &x, &p).map(|_| ())
        })?;
        rows.push(gbs(
            "bn.forward_train",
            shape_str(&shape),
            timing,
            3 * bytes,
        ));
        let mut rec = crate::gpu::Recorder::new(gpu);
        let (_, saved) = bn::forward_train(&mut rec, &x, &p)?;
        rec.submit();
        // Backward reads x and dy twice and writes dx.
        let timing = time_op(gpu, 1, reps, |rec| {
            bn::backward(rec, &x, &dy, &ones, &saved).map(|_| ())
        })?;
        rows.push(gbs("bn.backward", shape_str(&shape), timing, 5 * bytes));
    }
    let shape = BN_SHAPES[0];
    let x = filled(gpu, &shape)?;
    let bytes = x.numel() * 4;
    let timing = time_op(gpu, 1, reps, |rec| {
        elementwise::add(rec, &x, &x).map(|_| ())
    })?;
    rows.push(gbs("elementwise.add", shape_str(&shape), timing, 3 * bytes));
    let timing = time_op(gpu, 1, reps, |rec| {
        pool::max_forward(rec, &x, 2, 2).map(|_| ())
    })?;
    rows.push(gbs(
        "pool.max_forward 2x2/2",
        shape_str(&shape),
        timing,
        3 * bytes / 2,
    ));
    let mut rec = crate::gpu::Recorder::new(gpu);
    let (y, argmax) = pool::max_forward(&mut rec, &x, 2, 2)?;
    rec.submit();
    let timing = time_op(gpu, 1, reps, |rec| {
        pool::max_backward(rec, &y, &argmax, &shape).map(|_| ())
    })?;
    rows.push(gbs(
        "pool.max_backward 2x2/2",
        shape_str(&shape),
        timing,
        3 * bytes / 2,
    ));
    let last = filled(gpu, &BN_SHAPES[1])?;
    let timing = time_op(gpu, 1, reps, |rec| {
        pool::global_avg_forward(rec, &last).map(|_| ())
    })?;
    rows.push(gbs(
        "pool.global_avg_forward",
        shape_str(&BN_SHAPES[1]),
        timing,
        last.numel() * 4,
    ));
    for (n, i, o) in [(128, 64, 10), (256, 512, 1000)] {
        let x = filled(gpu, &[n, i])?;
        let w = filled(gpu, &[o, i])?;
        let b = filled(gpu, &[o])?;
        let dy = filled(gpu, &[n, o])?;
        let shape = format!("[{n},{i}]x[{o},{i}]");
        let macs = (n * i * o) as f64;
        let timing = time_op(gpu, 1, reps, |rec| {
            linear::forward(rec, &x, &w, Some(&b)).map(|_| ())
        })?;
        rows.push(OpRate {
            op: "linear.forward".into(),
            shape: shape.clone(),
            timing,
            work: macs,
            unit: "G MAC/s",
        });
        let timing = time_op(gpu, 1, reps, |rec| {
            linear::backward(rec, &x, &w, &dy).map(|_| ())
        })?;
        rows.push(OpRate {
            op: "linear.backward".into(),
            shape,
            timing,
            work: 2.0 * macs,
            unit: "G MAC/s",
        });
    }
    Ok(rows)
}
