//! Pooling over NHWC activations: max (with argmax) and average k x k windows without
//! padding, and global average pooling. Math: shaders/pool.wgsl, reference:
//! [`crate::reference::pool`].
//!
//! `argmax` holds flat input indices `((n * H + h) * W + w) * C + c` as i32; among equal
//! values the first in scan order (window row, then column) wins. Backward passes sum in a
//! fixed order with no atomics: average pooling gathers (one invocation per input element),
//! max pooling walks each (image, channel) column's outputs in order.

use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};

const WG: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    ho: u32,
    wo: u32,
    k: u32,
    stride: u32,
    total: u32,
    _pad: [u32; 3],
}

/// Input [n, h, w, c] and output [n, ho, wo, c] of a k x k window at `stride`.
#[derive(Clone, Copy)]
struct Geom {
    input: [usize; 4],
    output: [usize; 4],
    k: usize,
    stride: usize,
}

impl Geom {
    fn new(what: &str, input: &[usize], k: usize, stride: usize) -> Result<Self> {
        let input: [usize; 4] = input.try_into().map_err(|_| {
            Error::shape(format!(
                "{what}: expected an NHWC input, got shape {input:?}"
            ))
        })?;
        let [n, h, w, c] = input;
        if k == 0 || stride == 0 {
            return Err(Error::Invalid(format!(
                "{what}: window {k} and stride {stride} must be positive"
            )));
        }
        if n * c == 0 || h < k || w < k {
            return Err(Error::shape(format!(
                "{what}: a {k}x{k} window does not fit input {input:?} (no padding)"
            )));
        }
        let output = [n, (h - k) / stride + 1, (w - k) / stride + 1, c];
        Ok(Geom {
            input,
            output,
            k,
            stride,
        })
    }

    fn params(&self, total: usize) -> Params {
        let [n, h, w, c] = self.input;
        Params {
            n: n as u32,
            h: h as u32,
            w: w as u32,
            c: c as u32,
            ho: self.output[1] as u32,
            wo: self.output[2] as u32,
            k: self.k as u32,
            stride: self.stride as u32,
            total: total as u32,
            _pad: [0; 3],
        }
    }
}

/// One dispatch of `entry` over `total` invocations with the given tensors.
fn run(rec: &mut Recorder, entry: &'static str, p: Params, tensors: &[&Tensor]) -> Result<()> {
    let mut args = vec![Arg::Params(bytemuck::bytes_of(&p))];
    args.extend(tensors.iter().map(|t| Arg::T(t)));
    let groups = grid_for(rec.gpu(), p.total as usize, WG);
    rec.dispatch(&Kernel::new("pool", entry), &args, groups)
}

/// Max pool: (y [n, ho, wo, c], argmax [n, ho, wo, c] i32 flat input indices).
pub fn max_forward(
    rec: &mut Recorder,
    x: &Tensor,
    k: usize,
    stride: usize,
) -> Result<(Tensor, Tensor)> {
    let g = Geom::new("max pool", x.shape(), k, stride)?;
    x.check_shape("max pool input", DType::F32, &g.input)?;
    if x.numel() > i32::MAX as usize {
        return Err(Error::shape(format!(
            "max pool: {x:?} has too many elements for i32 argmax indices"
        )));
    }
    let y = Tensor::empty(rec.gpu(), DType::F32, &g.output)?;
    let arg = Tensor::empty(rec.gpu(), DType::I32, &g.output)?;
    run(rec, "max_forward", g.params(y.numel()), &[x, &y, &arg])?;
    Ok((y, arg))
}

/// Max pool backward: dx\[i\] = sum of dy over the outputs whose argmax is i (`argmax` as
/// returned by [`max_forward`]). The sum runs over each (image, channel) column's outputs in
/// (oh, ow) order, so it is deterministic and needs neither the window size nor the stride.
pub fn max_backward(
    rec: &mut Recorder,
    dy: &Tensor,
    argmax: &Tensor,
    input_shape: &[usize],
) -> Result<Tensor> {
    let what = "max pool backward";
    let (input, output) = match (input_shape, dy.shape()) {
        (&[n, h, w, c], &[dn, ho, wo, dc])
            if n == dn
                && c == dc
                && (1..=h).contains(&ho)
                && (1..=w).contains(&wo)
                && n * c > 0 =>
        {
            ([n, h, w, c], [n, ho, wo, c])
        }
        _ => {
            return Err(Error::shape(format!(
                "{what}: upstream gradient {dy:?} is not a pooled output of input {input_shape:?}"
            )))
        }
    };
    dy.check_shape("max pool upstream gradient", DType::F32, &output)?;
    argmax.check_shape("max pool argmax", DType::I32, &output)?;
    let g = Geom {
        input,
        output,
        k: 0,
        stride: 0,
    };
    let dx = Tensor::empty(rec.gpu(), DType::F32, &input)?;
    rec.zero(&dx);
    run(
        rec,
        "max_backward",
        g.params(input[0] * input[3]),
        &[dy, argmax, &dx],
    )?;
    Ok(dx)
}

/// Average pool: y = sum over the k x k window / (k * k).
pub fn avg_forward(rec: &mut Recorder, x: &Tensor, k: usize, stride: usize) -> Result<Tensor> {
    let g = Geom::new("average pool", x.shape(), k, stride)?;
    x.check_shape("average pool input", DType::F32, &g.input)?;
    let y = Tensor::empty(rec.gpu(), DType::F32, &g.output)?;
    run(rec, "avg_forward", g.params(y.numel()), &[x, &y])?;
    Ok(y)
}

/// Average pool backward: dx\[i\] = sum of dy over the windows containing i, / (k * k).
pub fn avg_backward(
    rec: &mut Recorder,
    dy: &Tensor,
    input_shape: &[usize],
    k: usize,
    stride: usize,
) -> Result<Tensor> {
    let g = Geom::new("average pool backward", input_shape, k, stride)?;
    dy.check_shape("average pool upstream gradient", DType::F32, &g.output)?;
    let dx = Tensor::empty(rec.gpu(), DType::F32, &g.input)?;
    run(rec, "avg_backward", g.params(dx.numel()), &[dy, &dx])?;
    Ok(dx)
}

/// Global average pool: [n, h, w, c] -> [n, c], y = mean over the h * w pixels.
pub fn global_avg_forward(rec: &mut Recorder, x: &Tensor) -> Result<Tensor> {
    let g = global_geom("global average pool", x.shape())?;
    x.check_shape("global average pool input", DType::F32, &g.input)?;
    let [n, _, _, c] = g.input;
    let y = Tensor::empty(rec.gpu(), DType::F32, &[n, c])?;
    run(rec, "global_avg_forward", g.params(n * c), &[x, &y])?;
    Ok(y)
}

/// Global average pool backward: dx[n, h, w, c] = dy[n, c] / (h * w).
pub fn global_avg_backward(
    rec: &mut Recorder,
    dy: &Tensor,
    input_shape: &[usize],
) -> Result<Tensor> {
    let g = global_geom("global average pool backward", input_shape)?;
    let [n, _, _, c] = g.input;
    dy.check_shape("global average pool upstream gradient", DType::F32, &[n, c])?;
    let dx = Tensor::empty(rec.gpu(), DType::F32, &g.input)?;
    run(rec, "global_avg_backward", g.params(dx.numel()), &[dy, &dx])?;
    Ok(dx)
}

/// Geometry of the global pool: its kernels read only the input shape (the 1 x 1 window
/// passed here just validates it).
fn global_geom(what: &str, input: &[usize]) -> Result<Geom> {
    match input {
        [_, h, w, _] if h * w > 0 => Geom::new(what, input, 1, 1),
        _ => Err(Error::shape(format!(
            "{what}: expected a non-empty NHWC input, got shape {input:?}"
        ))),
    }
}
