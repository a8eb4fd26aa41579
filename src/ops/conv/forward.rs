//! Forward pass: y[n,oy,ox,o] = sum_{ky,kx,c} x[n, oy*s+ky-pad, ox*s+kx-pad, c] * w[o,ky,kx,c].

use super::blocked::BlockedConv;
use super::kernel::BlockedKernel;
use super::pack::View;
use super::{check_f32, check_geom, GeneralParams};
use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Gpu, Kernel, Recorder, Tensor};
use crate::ops::layout::ConvGeom;

/// How a forward pass runs: which kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardPlan {
    /// One output element per invocation (conv_general.wgsl): any shape, slow.
    General,
    /// 4 pixels x 16 output channels per invocation, the weights in a uniform table
    /// (conv_tiled.wgsl): any kernel whose row segment (3 * stride + KW) is at most 16.
    Tiled,
    /// 8 pixels x 8 output channels per invocation, the input read through 64 KiB uniform
    /// windows and the weights from a uniform table (conv_window.wgsl): 3-wide kernels at
    /// stride 1 or 2 on inputs of whole windows (at least 64 KiB).
    Window,
    /// 8 pixels x 16 output channels per invocation, input and weights read as textures
    /// (conv_tex.wgsl): 3-wide kernels at stride 1, channel counts of whole texels, rows of
    /// whole 256-byte pitches.
    Texture,
}

impl ForwardPlan {
    /// Every plan, slowest first.
    pub const ALL: [ForwardPlan; 4] = [
        ForwardPlan::General,
        ForwardPlan::Tiled,
        ForwardPlan::Window,
        ForwardPlan::Texture,
    ];

    fn kernel(self) -> Option<BlockedKernel> {
        match self {
            ForwardPlan::General => None,
            ForwardPlan::Tiled => Some(BlockedKernel::Tiled),
            ForwardPlan::Window => Some(BlockedKernel::Window),
            ForwardPlan::Texture => Some(BlockedKernel::Texture),
        }
    }

    /// Whether this plan can run a geometry on this adapter.
    pub fn supports(&self, gpu: &Gpu, g: &ConvGeom) -> bool {
        self.kernel()
            .is_none_or(|k| k.supports(gpu, &BlockedConv::forward(g)))
    }

    /// The default plan for a geometry: the fastest kernel that runs it (texture unless
    /// `PIXEMBED_CONV_TEXTURE=0`, then window, then tiled), the general one where none does.
    pub fn choose(gpu: &Gpu, g: &ConvGeom) -> Self {
        match BlockedKernel::choose(gpu, &BlockedConv::forward(g)) {
            None => ForwardPlan::General,
            Some(BlockedKernel::Tiled) => ForwardPlan::Tiled,
            Some(BlockedKernel::Window) => ForwardPlan::Window,
            Some(BlockedKernel::Texture) => ForwardPlan::Texture,
        }
    }
}

/// y = conv(x, w): x f32 \[N,H,W,C\], w f32 \[O,KH,KW,C\] -> y f32 \[N,Ho,Wo,O\].
pub fn forward(rec: &mut Recorder, geom: &ConvGeom, x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let plan = ForwardPlan::choose(rec.gpu(), geom);
    forward_with(rec, geom, x, w, plan)
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
    check_f32("conv forward input", x, geom.input_shape())?;
    check_f32("conv forward weights", w, geom.weight_shape())?;
    if !plan.supports(rec.gpu(), geom) {
        return Err(Error::Invalid(format!(
            "conv forward: plan {plan:?} does not support {geom:?}"
        )));
    }
    match plan.kernel() {
        Some(k) => k.run(rec, &BlockedConv::forward(geom), geom, View::Forward, x, w),
        None => {
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
    }
}
