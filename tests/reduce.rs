//! Deterministic column sums: GPU vs reference (bit-exact: same order of additions), vs an
//! f64 sum (accuracy), edge shapes, and bit-identical repeated runs.

mod common;

use pixembed::gpu::{Recorder, Tensor};
use pixembed::ops;
use pixembed::reference::reduce as r;

fn gpu_sum_rows(gpu: &pixembed::gpu::Gpu, x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let t = Tensor::from_slice(gpu, &[rows, cols], x).unwrap();
    let mut rec = Recorder::new(gpu);
    let out = ops::reduce::sum_rows(&mut rec, &t).unwrap();
    rec.submit();
    assert_eq!(out.shape(), &[cols]);
    out.to_vec::<f32>(gpu).unwrap()
}

fn f64_sums(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols)
        .map(|c| (0..rows).map(|r| x[r * cols + c] as f64).sum::<f64>() as f32)
        .collect()
}

#[test]
fn sum_rows_matches_reference_exactly() {
    let gpu = gpu_or_skip!();
    // One pass (R <= 256), two passes, three passes (R > 65536 with one column).
    let shapes = [
        (1, 1),
        (1, 37),
        (7, 3),
        (256, 5),
        (257, 5),
        (1000, 64),
        (4099, 33),
        (70_001, 1),
    ];
    for (i, &(rows, cols)) in shapes.iter().enumerate() {
        let x = common::rand_f32(100 + i as u64, rows * cols, -1.0, 1.0);
        let got = gpu_sum_rows(gpu, &x, rows, cols);
        let what = format!("sum_rows [{rows}, {cols}]");
        common::assert_exact(&what, &got, &r::sum_rows(&x, rows, cols));
        common::assert_close(&what, &got, &f64_sums(&x, rows, cols), 1e-4, 1e-5);
    }
}

#[test]
fn sum_rows_of_zero_rows_is_zero() {
    let gpu = gpu_or_skip!();
    let t = Tensor::empty(gpu, pixembed::gpu::DType::F32, &[0, 6]).unwrap();
    let mut rec = Recorder::new(gpu);
    let out = ops::reduce::sum_rows(&mut rec, &t).unwrap();
    rec.submit();
    assert_eq!(out.to_vec::<f32>(gpu).unwrap(), vec![0.0; 6]);
}

#[test]
fn sum_rows_is_bit_identical_across_runs() {
    let gpu = gpu_or_skip!();
    let (rows, cols) = (20_000, 3);
    // Values of mixed magnitude, so that any change of order would change the bits.
    let x: Vec<f32> = common::rand_f32(7, rows * cols, -1.0, 1.0)
        .iter()
        .enumerate()
        .map(|(i, v)| v * [1e-3, 1.0, 1e3][i % 3])
        .collect();
    let a = gpu_sum_rows(gpu, &x, rows, cols);
    let b = gpu_sum_rows(gpu, &x, rows, cols);
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b));
}

#[test]
fn sum_rows_rejects_bad_shapes() {
    let gpu = gpu_or_skip!();
    let mut rec = Recorder::new(gpu);
    let v = Tensor::from_slice(gpu, &[4], &[1.0f32; 4]).unwrap();
    assert!(ops::reduce::sum_rows(&mut rec, &v).is_err());
    let i = Tensor::from_slice(gpu, &[2, 2], &[1i32; 4]).unwrap();
    assert!(ops::reduce::sum_rows(&mut rec, &i).is_err());
}
