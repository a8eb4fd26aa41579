//! Forward pass: y[n,oy,ox,o] = sum_{ky,kx,c} x[n, oy*s+ky-pad, ox*s+kx-pad, c] * w[o,ky,kx,c].

use super::pack::View;
use super::tiled::{self, TiledConv};
use super::{check_geom, expect_f32, GeneralParams};
use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::ops::layout::ConvGeom;

/// How a forward pass runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardPlan {
    /// One output element per invocation (conv_general.wgsl): any shape, slow.
    General,
    /// Register-blocked: for 3-wide kernels at stride 1 with texture-friendly shapes, 8
    /// pixels x 16 output channels per invocation with input and weights read as textures
    /// (conv_tex.wgsl); else for 3-wide kernels at stride 1 or 2 on inputs of at least
    /// 64 KiB, 8 pixels x 8 output channels with the input read through uniform windows
    /// and the weights from a uniform table (conv_window.wgsl); otherwise 4 pixels x 16
    /// output channels (conv_tiled.wgsl). The default wherever it applies.
    Tiled,
}

impl ForwardPlan {
    /// Whether this plan can run a geometry.
    pub fn supports(&self, g: &ConvGeom) -> bool {
        match self {
            ForwardPlan::General => true,
            ForwardPlan::Tiled => view(g).supported(),
        }
    }

    /// The default plan for a geometry: tiled where supported.
    pub fn choose(g: &ConvGeom) -> Self {
        if ForwardPlan::Tiled.supports(g) {
            ForwardPlan::Tiled
        } else {
            ForwardPlan::General
        }
    }
}
fn view(g: &ConvGeom) -> TiledConv {
    TiledConv {
        n: g.n,
        h: g.h,
        w: g.w,
        cin: g.c,
        ho: g.ho(),
        wo: g.wo(),
        cout: g.o,
        kh: g.kh,
        kw: g.kw,
        stride: g.stride,
        pad_y: g.pad as isize,
        pad_x: g.pad as isize,
    }
}

/// y = conv(x, w): x f32 \[N,H,W,C\], w f32 \[O,KH,KW,C\] -> y f32 \[N,Ho,Wo,O\].
pub fn forward(rec: &mut Recorder, geom: &ConvGeom, x: &Tensor, w: &Tensor) -> Result<Tensor> {
    forward_with(rec, geom, x, w, ForwardPlan::choose(geom))
}

/// [`forward`] with an explicit plan (tests and benchmarks compare plans).
pub fn forward_with(
    rec: &mut Recorder,
    geom: &ConvGeom,
    x: &Tensor,
    w: &Tensor,
    plan: ForwardPlan,
) -> Result<Tensor> {
    check_geom(geom)?;
    expect_f32("conv forward input", x, geom.input_shape())?;
    expect_f32("conv forward weights", w, geom.weight_shape())?;
    match plan {
        ForwardPlan::General => {
            let y = Tensor::empty(rec.gpu(), DType::F32, &geom.output_shape())?;
            let total = y.numel();
            let p = GeneralParams::new(geom, total);
            rec.dispatch(
                &Kernel::new("conv_general", "forward"),
                &[
                    Arg::Params(bytemuck::bytes_of(&p)),
                    Arg::T(x),
                    Arg::T(w),
                    Arg::T(&y),
                ],
                grid_for(rec.gpu(), total, 64),
            )?;
            Ok(y)
        }
        ForwardPlan::Tiled => {
            if !plan.supports(geom) {
                return Err(Error::Invalid(format!(
                    "conv forward: the tiled kernel does not support {geom:?}"
                )));
            }
            tiled::run(rec, &view(geom), geom, View::Forward, x, w)
        }
    }
}
