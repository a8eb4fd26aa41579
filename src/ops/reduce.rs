//! Deterministic sums over the rows of a matrix (fixed order, no atomics), for bias and
//! batch-norm gradients, loss means and norms. Math: shaders/reduce.wgsl; reference:
//! [`crate::reference::reduce`].

use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::reference::reduce::SUM_CHUNK;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    cols: u32,
    out_rows: u32,
    _pad: u32,
}

/// Column sums of `x: f32 [R, C]` -> `f32 [C]`: out\[c\] = sum_r x[r, c].
///
/// Chunked passes of [`SUM_CHUNK`] rows, repeated until one row is left (two passes up to
/// 65,536 rows); the order of additions depends on the shape only, so two runs are
/// bit-identical. `R = 0` gives zeros.
pub fn sum_rows(rec: &mut Recorder, x: &Tensor) -> Result<Tensor> {
    let &[rows, cols] = x.shape() else {
        return Err(Error::shape(format!(
            "sum_rows: expected a 2-D f32 [R, C] tensor, got {x:?}"
        )));
    };
    x.check_shape("sum_rows input", DType::F32, &[rows, cols])?;
    if cols == 0 {
        return Err(Error::shape(format!(
            "sum_rows: the input {x:?} has no columns"
        )));
    }
    if x.numel() > u32::MAX as usize {
        return Err(Error::shape(format!("sum_rows: {x:?} is too large")));
    }
    let gpu = rec.gpu();
    if rows == 0 {
        let out = Tensor::empty(gpu, DType::F32, &[cols])?;
        rec.zero(&out);
        return Ok(out);
    }
    let kernel = Kernel::new("reduce", "sum_chunks");
    let mut src = x.clone();
    let mut r = rows;
    loop {
        let out_rows = r.div_ceil(SUM_CHUNK);
        let out = Tensor::empty(gpu, DType::F32, &[out_rows, cols])?;
        let p = Params {
            rows: r as u32,
            cols: cols as u32,
            out_rows: out_rows as u32,
            _pad: 0,
        };
        rec.dispatch(
            &kernel,
            &[
                Arg::Params(bytemuck::bytes_of(&p)),
                Arg::T(&src),
                Arg::T(&out),
            ],
            grid_for(gpu, out_rows * cols, 64),
        )?;
        if out_rows == 1 {
            return out.reshape(&[cols]);
        }
        src = out;
        r = out_rows;
    }
}
