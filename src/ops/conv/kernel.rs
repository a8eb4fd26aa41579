//! Which register-blocked kernel runs a convolution. The forward and input-gradient plans
//! name one kernel each; no kernel hands its work to another.

use super::blocked::BlockedConv;
use super::pack::View;
use super::{texture, tiled, window};
use crate::error::Result;
use crate::gpu::{Gpu, Recorder, Tensor};
use crate::ops::layout::ConvGeom;

/// One register-blocked kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BlockedKernel {
    /// 4 pixels x 16 output channels per invocation (conv_tiled.wgsl).
    Tiled,
    /// 8 pixels x 8 output channels, the input read through 64 KiB uniform windows
    /// (conv_window.wgsl).
    Window,
    /// 8 pixels x 16 output channels, input and weights read as textures (conv_tex.wgsl).
    Texture,
}

impl BlockedKernel {
    /// Whether this kernel can run `bc` on this adapter.
    pub fn supports(self, gpu: &Gpu, bc: &BlockedConv) -> bool {
        match self {
            BlockedKernel::Tiled => tiled::supported(bc),
            BlockedKernel::Window => window::supported(bc),
            BlockedKernel::Texture => texture::supported(gpu, bc),
        }
    }

    /// The fastest kernel that runs `bc`: the texture kernel (unless
    /// `PIXEMBED_CONV_TEXTURE=0`), else the windowed one, else the tiled one; `None` where
    /// none does.
    pub fn choose(gpu: &Gpu, bc: &BlockedConv) -> Option<Self> {
        let textures = crate::gpu::needs::conv_textures_enabled();
        [
            BlockedKernel::Texture,
            BlockedKernel::Window,
            BlockedKernel::Tiled,
        ]
        .into_iter()
        .filter(|k| *k != BlockedKernel::Texture || textures)
        .find(|k| k.supports(gpu, bc))
    }

    /// Run the kernel on `x`, the weights `w` packed as `view` says (the caller has
    /// checked [`BlockedKernel::supports`]).
    pub fn run(
        self,
        rec: &mut Recorder,
        bc: &BlockedConv,
        geom: &ConvGeom,
        view: View,
        x: &Tensor,
        w: &Tensor,
    ) -> Result<Tensor> {
        match self {
            BlockedKernel::Tiled => tiled::run(rec, bc, geom, view, x, w),
            BlockedKernel::Window => window::run(rec, bc, geom, view, x, w),
            BlockedKernel::Texture => texture::run(rec, bc, geom, view, x, w),
        }
    }
}
