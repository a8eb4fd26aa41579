//! Fully connected layer: x [N, I], w [O, I] (row per output), bias \[O\]; y = x w^T + b.
//! All three products go through one strided matrix-product kernel with 8 x 8 register
//! blocks (shaders/linear.wgsl); every output is a fixed-order sum (deterministic).
//! Reference: [`crate::reference::linear`].

use super::elementwise;
use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};

const WG: u32 = 64;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    col_blocks: u32,
    a_m: u32,
    a_k: u32,
    b_k: u32,
    b_j: u32,
}

/// out [m, n] = A B (+ bias) with A[r, k] = a[r * a_m + k * a_k] and
/// B[k, j] = b[k * b_k + j * b_j] (strides in elements).
#[allow(clippy::too_many_arguments)]
fn strided_matmul(
    rec: &mut Recorder,
    (m, n, k): (usize, usize, usize),
    a: &Tensor,
    (a_m, a_k): (usize, usize),
    b: &Tensor,
    (b_k, b_j): (usize, usize),
    bias: Option<&Tensor>,
) -> Result<Tensor> {
    let out = Tensor::empty(rec.gpu(), DType::F32, &[m, n])?;
    // One invocation per 8 x 8 output block.
    let col_blocks = n.div_ceil(8);
    let p = Params {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        col_blocks: col_blocks as u32,
        a_m: a_m as u32,
        a_k: a_k as u32,
        b_k: b_k as u32,
        b_j: b_j as u32,
    };
    let groups = grid_for(rec.gpu(), m.div_ceil(8) * col_blocks, WG);
    let mut args = vec![
        Arg::Params(bytemuck::bytes_of(&p)),
        Arg::T(a),
        Arg::T(b),
        Arg::T(&out),
    ];
    let entry = match bias {
        Some(bias) => {
            args.push(Arg::T(bias));
            "matmul_bias"
        }
        None => "matmul",
    };
    rec.dispatch(&Kernel::new("linear", entry), &args, groups)?;
    Ok(out)
}

/// (N, I, O) of x [N, I] and w [O, I].
fn dims(x: &Tensor, w: &Tensor) -> Result<(usize, usize, usize)> {
    let (n, i) = match (x.dtype(), x.shape()) {
        (DType::F32, &[n, i]) if n * i > 0 => (n, i),
        _ => {
            return Err(Error::shape(format!(
                "linear input: expected a non-empty F32 [N, I], got {x:?}"
            )))
        }
    };
    let o = match (w.dtype(), w.shape()) {
        (DType::F32, &[o, wi]) if wi == i && o > 0 => o,
        _ => {
            return Err(Error::shape(format!(
                "linear weight: expected F32 [O, {i}] for input {x:?}, got {w:?}"
            )))
        }
    };
    Ok((n, i, o))
}

/// y [N, O] = x [N, I] w^T + bias, i.e. y[n, o] = sum_i x[n, i] w[o, i] + bias\[o\].
pub fn forward(
    rec: &mut Recorder,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
) -> Result<Tensor> {
    let (n, i, o) = dims(x, w)?;
    if let Some(b) = bias {
        b.check_shape("linear bias", DType::F32, &[o])?;
    }
    // A = x (a_m = I, a_k = 1), B[k, j] = w[j, k] (b_k = 1, b_j = I).
    strided_matmul(rec, (n, o, i), x, (i, 1), w, (1, i), bias)
}

/// Gradients of y = x w^T + b given dy [N, O]: (dx [N, I], dw [O, I], dbias \[O\]) with
/// dx = dy w, dw = dy^T x, dbias\[o\] = sum_n dy[n, o]; every sum over N is in fixed order.
pub fn backward(
    rec: &mut Recorder,
    x: &Tensor,
    w: &Tensor,
    dy: &Tensor,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (n, i, o) = dims(x, w)?;
    dy.check_shape("linear upstream gradient", DType::F32, &[n, o])?;
    // dbias[o] = sum_n dy[n, o]
    let dbias = elementwise::column_sums(rec, dy)?;
    // dx[n, i] = sum_o dy[n, o] w[o, i]: A = dy (a_m = O, a_k = 1), B = w (b_k = I, b_j = 1).
    let dx = strided_matmul(rec, (n, i, o), dy, (o, 1), w, (i, 1), None)?;
    // dw[o, i] = sum_n dy[n, o] x[n, i]: A[o, n] = dy[n, o] (a_m = 1, a_k = O),
    // B = x (b_k = I, b_j = 1).
    let dw = strided_matmul(rec, (o, i, n), dy, (1, o), x, (i, 1), None)?;
    Ok((dx, dw, dbias))
}
