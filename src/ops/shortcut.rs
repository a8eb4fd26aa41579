//! Parameter-free residual shortcut: add the block input (codes, subsampled by the stride,
//! zero-padded channels, scaled by the quantizer step) to the block's pre-activation.
//! Math: shaders/shortcut.wgsl; reference: [`crate::reference::shortcut`].

use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    h: u32,
    w: u32,
    cin: u32,
    ho: u32,
    wo: u32,
    cout: u32,
    stride: u32,
    step: f32,
    /// Invocations: output pixels (forward) or input pixels (backward).
    total: u32,
    _pad: [u32; 2],
}

fn params(
    codes: &[usize],
    out: &[usize],
    stride: usize,
    step: f32,
    total: usize,
) -> Result<Params> {
    let ok = codes.len() == 4
        && out.len() == 4
        && codes[0] == out[0]
        && stride > 0
        && codes[1].div_ceil(stride) == out[1]
        && codes[2].div_ceil(stride) == out[2]
        && codes[3] <= out[3];
    if !ok {
        return Err(Error::shape(format!(
            "shortcut from {codes:?} to {out:?} with stride {stride}"
        )));
    }
    Ok(Params {
        n: codes[0] as u32,
        h: codes[1] as u32,
        w: codes[2] as u32,
        cin: codes[3] as u32,
        ho: out[1] as u32,
        wo: out[2] as u32,
        cout: out[3] as u32,
        stride: stride as u32,
        step,
        total: total as u32,
        _pad: [0; 2],
    })
}

/// out = a + step * shortcut(codes); `a` has the block's output shape \[N,Ho,Wo,Cout\].
pub fn forward(
    rec: &mut Recorder,
    a: &Tensor,
    codes: &Tensor,
    stride: usize,
    step: f32,
) -> Result<Tensor> {
    // One invocation per output pixel.
    let pixels = a.numel() / a.shape().get(3).copied().unwrap_or(1).max(1);
    let p = params(codes.shape(), a.shape(), stride, step, pixels)?;
    a.check_shape("shortcut pre-activation", DType::F32, a.shape())?;
    let out = Tensor::empty(rec.gpu(), DType::F32, a.shape())?;
    let groups = grid_for(rec.gpu(), pixels, 256);
    rec.dispatch(
        &Kernel::new("shortcut", "forward"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(a),
            Arg::T(codes),
            Arg::T(&out),
        ],
        groups,
    )?;
    Ok(out)
}

/// Gradient w.r.t. the block input codes: step * (dout at the subsampled positions).
pub fn backward(
    rec: &mut Recorder,
    dout: &Tensor,
    codes_shape: &[usize],
    stride: usize,
    step: f32,
) -> Result<Tensor> {
    // One invocation per input pixel.
    let pixels: usize = codes_shape.iter().take(3).product();
    let p = params(codes_shape, dout.shape(), stride, step, pixels)?;
    let d = Tensor::empty(rec.gpu(), DType::F32, codes_shape)?;
    let groups = grid_for(rec.gpu(), pixels, 256);
    rec.dispatch(
        &Kernel::new("shortcut", "backward"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(dout),
            Arg::T(&d),
        ],
        groups,
    )?;
    Ok(d)
}
