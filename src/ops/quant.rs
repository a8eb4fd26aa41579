//! Activation quantizer: forward (f32 -> codes) and straight-through backward.
//! Math and layout: shaders/quant.wgsl, reference: [`crate::reference::quant`].

use crate::error::Result;
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::reference::QuantSpec;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    max_v: f32,
    scale: f32,
    _pad: u32,
}

fn params(spec: QuantSpec, n: usize) -> Params {
    Params {
        n: n as u32,
        max_v: spec.max,
        scale: spec.scale(),
        _pad: 0,
    }
}

/// Codes (as f32, any shape) of `x`.
pub fn forward(rec: &mut Recorder, spec: QuantSpec, x: &Tensor) -> Result<Tensor> {
    x.check_shape("quant input", DType::F32, x.shape())?;
    let y = Tensor::empty(rec.gpu(), DType::F32, x.shape())?;
    let p = params(spec, x.numel());
    let groups = grid_for(rec.gpu(), x.numel(), 256);
    rec.dispatch(
        &Kernel::new("quant", "forward"),
        &[Arg::Params(bytemuck::bytes_of(&p)), Arg::T(x), Arg::T(&y)],
        groups,
    )?;
    Ok(y)
}

/// dx = dvalue * 1\[0 < x < max\].
pub fn backward(
    rec: &mut Recorder,
    spec: QuantSpec,
    x: &Tensor,
    dvalue: &Tensor,
) -> Result<Tensor> {
    dvalue.check_shape("quant upstream gradient", DType::F32, x.shape())?;
    let dx = Tensor::empty(rec.gpu(), DType::F32, x.shape())?;
    let p = params(spec, x.numel());
    let groups = grid_for(rec.gpu(), x.numel(), 256);
    rec.dispatch(
        &Kernel::new("quant", "backward"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(x),
            Arg::T(dvalue),
            Arg::T(&dx),
        ],
        groups,
    )?;
    Ok(dx)
}

/// STE backward from the gradient w.r.t. the codes: the surrogate of code(x) is
/// clip(x, 0, max) * scale, so dx = dcodes * scale * 1\[0 < x < max\].
pub fn backward_codes(
    rec: &mut Recorder,
    spec: QuantSpec,
    x: &Tensor,
    dcodes: &Tensor,
) -> Result<Tensor> {
    dcodes.check_shape("quant upstream gradient", DType::F32, x.shape())?;
    let dx = Tensor::empty(rec.gpu(), DType::F32, x.shape())?;
    let p = params(spec, x.numel());
    let groups = grid_for(rec.gpu(), x.numel(), 256);
    rec.dispatch(
        &Kernel::new("quant", "backward_codes"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(x),
            Arg::T(dcodes),
            Arg::T(&dx),
        ],
        groups,
    )?;
    Ok(dx)
}
