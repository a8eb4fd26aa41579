//! Gradient w.r.t. the input: dx[n,iy,ix,c] = sum over (ky,kx,o) with iy = oy*s+ky-pad,
//! ix = ox*s+kx-pad of dy[n,oy,ox,o] * w[o,ky,kx,c].
//!
//! At stride 1 this is a convolution of dy with the weights flipped in space and transposed
//! in channels, padding KH-1-pad rows and KW-1-pad columns:
//!   dx[n,iy,ix,c] = sum_{ky',kx',o} dy[n, iy+ky'-(KH-1-pad), ix+kx'-(KW-1-pad), o]
//!                   * w[o, KH-1-ky', KW-1-kx', c]
//! so it runs on the register-blocked forward kernel. At stride s > 1, dy is first dilated
//! (dd[n,u,v,o] = dy[n,u/s,v/s,o] where s divides u and v, else 0; shaders/conv_dilate.wgsl)
//! and dx is the same stride-1 convolution of dd: more multiplications (most by zero), but
//! on the fast kernel.

use super::blocked::BlockedConv;
use super::kernel::BlockedKernel;
use super::pack::View;
use super::{check_f32, check_geom, GeneralParams};
use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Gpu, Kernel, Recorder, Tensor};
use crate::ops::layout::ConvGeom;

/// How the gradient w.r.t. the input runs: the general kernel, or the flipped convolution
/// (dy dilated first at stride above 1) on one of the forward pass's register-blocked
/// kernels (see [`super::ForwardPlan`] for what each runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataGradPlan {
    /// One input element per invocation (conv_general.wgsl): any shape.
    General,
    /// The flipped convolution on the tiled kernel (conv_tiled.wgsl).
    Tiled,
    /// The flipped convolution on the windowed kernel (conv_window.wgsl).
    Window,
    /// The flipped convolution on the texture kernel (conv_tex.wgsl).
    Texture,
}

/// Rows and columns of dy dilated by the stride: Ho*s and Wo*s. (Ho-1)*s + 1 rows would
/// do; the trailing zero rows and columns keep the rows of dd a whole number of 256-byte
/// pitches for the texture kernel ([128,16,16,32] at s = 2: 32 columns, not 31), which
/// reads them as the zero padding they replace.
fn dilated(g: &ConvGeom) -> (usize, usize) {
    (g.ho() * g.stride, g.wo() * g.stride)
}

/// The flipped, transposed stride-1 convolution (dilated) dy -> dx.
fn view(g: &ConvGeom) -> BlockedConv {
    let (hd, wd) = dilated(g);
    BlockedConv {
        n: g.n,
        h: hd,
        w: wd,
        cin: g.o,
        ho: g.h,
        wo: g.w,
        cout: g.c,
        kh: g.kh,
        kw: g.kw,
        stride: 1,
        pad_y: g.kh as isize - 1 - g.pad as isize,
        pad_x: g.kw as isize - 1 - g.pad as isize,
    }
}

impl DataGradPlan {
    /// Every plan, slowest first.
    pub const ALL: [DataGradPlan; 4] = [
        DataGradPlan::General,
        DataGradPlan::Tiled,
        DataGradPlan::Window,
        DataGradPlan::Texture,
    ];

    fn kernel(self) -> Option<BlockedKernel> {
        match self {
            DataGradPlan::General => None,
            DataGradPlan::Tiled => Some(BlockedKernel::Tiled),
            DataGradPlan::Window => Some(BlockedKernel::Window),
            DataGradPlan::Texture => Some(BlockedKernel::Texture),
        }
    }

    /// Whether this plan can run a geometry on this adapter.
    pub fn supports(&self, gpu: &Gpu, g: &ConvGeom) -> bool {
        self.kernel().is_none_or(|k| k.supports(gpu, &view(g)))
    }

    /// The default plan: the fastest kernel that runs the flipped convolution (as for
    /// [`super::ForwardPlan::choose`]), the general one where none does.
    pub fn choose(gpu: &Gpu, g: &ConvGeom) -> Self {
        match BlockedKernel::choose(gpu, &view(g)) {
            None => DataGradPlan::General,
            Some(BlockedKernel::Tiled) => DataGradPlan::Tiled,
            Some(BlockedKernel::Window) => DataGradPlan::Window,
            Some(BlockedKernel::Texture) => DataGradPlan::Texture,
        }
    }
}

/// dx f32 \[N,H,W,C\] from dy f32 \[N,Ho,Wo,O\] and w f32 \[O,KH,KW,C\].
pub fn backward_data(
    rec: &mut Recorder,
    geom: &ConvGeom,
    dy: &Tensor,
    w: &Tensor,
) -> Result<Tensor> {
    let plan = DataGradPlan::choose(rec.gpu(), geom);
    backward_data_with(rec, geom, dy, w, plan)
}

/// [`backward_data`] with an explicit plan.
pub fn backward_data_with(
    rec: &mut Recorder,
    geom: &ConvGeom,
    dy: &Tensor,
    w: &Tensor,
    plan: DataGradPlan,
) -> Result<Tensor> {
    check_geom(geom)?;
    check_f32(
        "conv backward_data upstream gradient",
        dy,
        geom.output_shape(),
    )?;
    check_f32("conv backward_data weights", w, geom.weight_shape())?;
    if !plan.supports(rec.gpu(), geom) {
        return Err(Error::Invalid(format!(
            "conv backward_data: plan {plan:?} does not support {geom:?}"
        )));
    }
    match plan.kernel() {
        Some(k) if geom.stride == 1 => {
            k.run(rec, &view(geom), geom, View::FlippedTransposed, dy, w)
        }
        Some(k) => {
            let dd = dilate(rec, geom, dy)?;
            k.run(rec, &view(geom), geom, View::FlippedTransposed, &dd, w)
        }
        None => {
            let dx = Tensor::empty(rec.gpu(), DType::F32, &geom.input_shape())?;
            let total = dx.numel();
            let p = GeneralParams::new(geom, total);
            rec.dispatch(
                &Kernel::new("conv_general", "backward_data"),
                &[
                    Arg::Params(bytemuck::bytes_of(&p)),
                    Arg::T(dy),
                    Arg::T(w),
                    Arg::T(&dx),
                ],
                grid_for(rec.gpu(), total, 64),
            )?;
            Ok(dx)
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct DilateParams {
    ho: u32,
    wo: u32,
    o: u32,
    s: u32,
    hd: u32,
    wd: u32,
    total: u32,
    _pad: u32,
}

/// dd f32 [N, (Ho-1)*s+1, (Wo-1)*s+1, O]: dy spread out by the stride, zeros between.
fn dilate(rec: &mut Recorder, g: &ConvGeom, dy: &Tensor) -> Result<Tensor> {
    let (hd, wd) = dilated(g);
    let dd = Tensor::empty(rec.gpu(), DType::F32, &[g.n, hd, wd, g.o])?;
    let total = dd.numel();
    let p = DilateParams {
        ho: g.ho() as u32,
        wo: g.wo() as u32,
        o: g.o as u32,
        s: g.stride as u32,
        hd: hd as u32,
        wd: wd as u32,
        total: total as u32,
        _pad: 0,
    };
    rec.dispatch(
        &Kernel::new("conv_dilate", "dilate"),
        &[Arg::Params(bytemuck::bytes_of(&p)), Arg::T(dy), Arg::T(&dd)],
        grid_for(rec.gpu(), total, 64),
    )?;
    Ok(dd)
}
