//! Float 2-D convolution: NHWC activations, OHWI weights, no bias (layouts in
//! [`crate::ops::layout`]). Forward, gradient w.r.t. the input and gradient w.r.t. the
//! weights; the reference twin is [`crate::reference::conv`].
//!
//! Each op has a general kernel (any shape, one output per invocation) and faster plans
//! chosen by shape and adapter ([`ForwardPlan`], [`DataGradPlan`], [`WeightGradPlan`]). A
//! forward or input-gradient plan names one kernel, and `forward_with` /
//! `backward_data_with` run exactly that one; the weight gradient's chunked plan picks its
//! texture, windowed or chunked kernel by shape. All sums run in a
//! fixed order, so two runs are bit-identical, and integer-valued inputs give exact integer
//! sums below 2^24.
//!
//! What shaped the kernels (lavapipe, Mesa 22.3, measured): a storage-buffer read at a
//! per-lane address costs about 200 cycles per component for the 8 lanes, a uniform-buffer
//! read about 20 (it is gathered lane by lane even at a constant offset), and blocks of
//! more than 16 vec4 accumulators carried around a loop run several times slower; so the
//! tiled kernel keeps a 4 x 16 block and reuses every x read for 3 taps x 16 channels.
//! The windowed kernel goes further: it reads x through 64 KiB uniform windows (one
//! dispatch per window), writes its 8 x 8 block and 3x3 taps as straight-line code with
//! one variable per accumulator (loops over register arrays that the compiler did not
//! unroll ran 5-10x slower), and uses workgroups of 8 so that the few invocations of one
//! window still spread over both threads.
//! The texture kernels go further still where the shape allows (3-wide kernels at stride 1,
//! and stride 2 for the weight gradient; channel counts of whole texels; rows of whole
//! 256-byte pitches): x, dy and the packed weights are copied into `rgba32uint` textures and
//! read with `textureLoad`, which llvmpipe serves with one 16-byte load per lane instead of
//! a gather per component, and one dispatch covers the whole convolution (the windowed
//! kernels need one per window: about 9,700 dispatches in a ResNet-20 training step at
//! batch 128, 900 with the texture kernels). Measured on lavapipe: 2.1x the windowed
//! forward kernel on \[64,32,32,64\] (both alone on the machine); within a training step the
//! gain is large on a quiet machine and shrinks to about 1.0-1.1x when other processes
//! load both cores (README, benchmarks).

mod backward_data;
mod backward_weight;
mod blocked;
mod forward;
mod kernel;
mod pack;
mod texture;
mod tiled;
mod wgrad_texture;
mod wgrad_window;
mod window;

pub use backward_data::{backward_data, backward_data_with, DataGradPlan};
pub use backward_weight::{backward_weight, backward_weight_with, WeightGradPlan};
pub use forward::{forward, forward_with, ForwardPlan};

use crate::error::{Error, Result};
use crate::gpu::{DType, Tensor};
use crate::ops::layout::ConvGeom;

/// Error unless the geometry is usable and every index fits the kernels' u32 arithmetic.
fn check_geom(g: &ConvGeom) -> Result<()> {
    g.check()?;
    let largest = [
        g.n * g.h * g.w * g.c,
        g.n * g.ho() * g.wo() * g.o,
        g.o * g.kh * g.kw * g.c,
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    if largest >= u32::MAX as usize / 2 {
        return Err(Error::shape(format!(
            "convolution {g:?} has tensors too large for 32-bit indexing"
        )));
    }
    Ok(())
}

fn check_f32(what: &str, t: &Tensor, shape: [usize; 4]) -> Result<()> {
    t.check_shape(what, DType::F32, &shape)
}

/// Shape fields shared by the general kernels (conv_general.wgsl).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GeneralParams {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    ho: u32,
    wo: u32,
    o: u32,
    pad: u32,
    kh: u32,
    kw: u32,
    stride: u32,
    total: u32,
}

impl GeneralParams {
    fn new(g: &ConvGeom, total: usize) -> Self {
        GeneralParams {
            n: g.n as u32,
            h: g.h as u32,
            w: g.w as u32,
            c: g.c as u32,
            ho: g.ho() as u32,
            wo: g.wo() as u32,
            o: g.o as u32,
            pad: g.pad as u32,
            kh: g.kh as u32,
            kw: g.kw as u32,
            stride: g.stride as u32,
            total: total as u32,
        }
    }
}
