//! Gradient w.r.t. the weights: dw[o,ky,kx,c] = sum_{n,oy,ox} dy[n,oy,ox,o] *
//! x[n, oy*s+ky-pad, ox*s+kx-pad, c], reduced in a fixed order (no atomics).
//!
//! The chunked plan splits the N*Ho*Wo output pixels into chunks whose rows of dy fit one
//! 64 KiB uniform window, writes one partial dw per chunk (shaders/conv_wgrad.wgsl) and sums
//! the partials in chunk order (shaders/conv_reduce.wgsl).

use super::{check_f32, check_geom, GeneralParams};
use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::ops::layout::ConvGeom;

/// Bytes of dy one chunk's window binds (the kernel declares `array<vec4<f32>, 4096>`).
const WINDOW: u64 = 65536;
/// Uniform offsets are kept multiples of this, the largest alignment WebGPU allows.
const ALIGN: u64 = 256;
/// Output channels per invocation of the partial kernel.
const GROUP: usize = 16;

/// How the weight gradient runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightGradPlan {
    /// One weight per invocation, summing over every output pixel in order: any shape.
    General,
    /// Partial sums per chunk of output pixels, dy read through a uniform window, then an
    /// ordered reduction. Needs O % 4 == 0 and dy of at least 64 KiB. For 3-wide kernels
    /// at stride 1 or 2 with texture-friendly shapes, x and dy are read as textures and
    /// the chunks are runs of output rows (shaders/conv_wgrad_tex.wgsl); else with
    /// O % 8 == 0 on large inputs, x is read through uniform windows
    /// too and the chunks are spans of output rows (shaders/conv_wgrad_window.wgsl).
    Chunked,
}

/// How the output pixels split into chunks.
#[derive(Clone, Copy, Debug)]
struct Chunks {
    /// Output pixels N*Ho*Wo, pixels per chunk, number of chunks.
    pixels: usize,
    size: usize,
    count: usize,
}

fn chunks(g: &ConvGeom) -> Option<Chunks> {
    let pixels = g.n * g.ho() * g.wo();
    let row = 4 * g.o as u64;
    let bytes = pixels as u64 * row;
    if !g.o.is_multiple_of(4) || bytes < WINDOW || !(bytes - WINDOW).is_multiple_of(ALIGN) {
        return None;
    }
    // Chunk starts must be aligned: a multiple of `step` pixels.
    let step = ALIGN / gcd(ALIGN, row);
    let size = ((WINDOW / row) / step * step) as usize;
    if size == 0 {
        return None;
    }
    let count = pixels.div_ceil(size);
    // The partial sums must fit one storage binding on every adapter (128 MiB).
    let part_bytes = count as u64 * (g.o * g.kh * g.kw * g.c) as u64 * 4;
    (part_bytes <= 128 << 20).then_some(Chunks {
        pixels,
        size,
        count,
    })
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl WeightGradPlan {
    /// Whether this plan can run a geometry.
    pub fn supports(&self, g: &ConvGeom) -> bool {
        match self {
            WeightGradPlan::General => true,
            WeightGradPlan::Chunked => chunks(g).is_some() || super::wgrad_window::supported(g),
        }
    }

    /// The default plan: chunked where supported.
    pub fn choose(g: &ConvGeom) -> Self {
        if WeightGradPlan::Chunked.supports(g) {
            WeightGradPlan::Chunked
        } else {
            WeightGradPlan::General
        }
    }
}

/// dw f32 \[O,KH,KW,C\] from x f32 \[N,H,W,C\] and dy f32 \[N,Ho,Wo,O\].
pub fn backward_weight(
    rec: &mut Recorder,
    geom: &ConvGeom,
    x: &Tensor,
    dy: &Tensor,
) -> Result<Tensor> {
    backward_weight_with(rec, geom, x, dy, WeightGradPlan::choose(geom))
}

/// [`backward_weight`] with an explicit plan.
pub fn backward_weight_with(
    rec: &mut Recorder,
    geom: &ConvGeom,
    x: &Tensor,
    dy: &Tensor,
    plan: WeightGradPlan,
) -> Result<Tensor> {
    check_geom(geom)?;
    check_f32("conv backward_weight input", x, geom.input_shape())?;
    check_f32(
        "conv backward_weight upstream gradient",
        dy,
        geom.output_shape(),
    )?;
    match (plan, chunks(geom)) {
        (WeightGradPlan::General, _) => general(rec, geom, x, dy),
        (WeightGradPlan::Chunked, _) if super::wgrad_texture::supported(rec.gpu(), geom) => {
            super::wgrad_texture::run(rec, geom, x, dy)
        }
        (WeightGradPlan::Chunked, _) if super::wgrad_window::supported(geom) => {
            super::wgrad_window::run(rec, geom, x, dy)
        }
        (WeightGradPlan::Chunked, Some(ch)) => chunked(rec, geom, x, dy, ch),
        (WeightGradPlan::Chunked, None) => Err(Error::Invalid(format!(
            "conv backward_weight: the chunked plan needs O % 4 == 0 and dy of at least 64 KiB, \
             got {geom:?}"
        ))),
    }
}

fn general(rec: &mut Recorder, geom: &ConvGeom, x: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let dw = Tensor::empty(rec.gpu(), DType::F32, &geom.weight_shape())?;
    let total = dw.numel();
    let p = GeneralParams::new(geom, total);
    rec.dispatch(
        &Kernel::new("conv_general", "backward_weight"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(x),
            Arg::T(dy),
            Arg::T(&dw),
        ],
        grid_for(rec.gpu(), total, 64),
    )?;
    Ok(dw)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PartialParams {
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
    p0: u32,
    count: u32,
    chunk: u32,
    win_vec0: u32,
    total: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ReduceParams {
    total: u32,
    chunks: u32,
    _pad: [u32; 2],
}

fn chunked(
    rec: &mut Recorder,
    geom: &ConvGeom,
    x: &Tensor,
    dy: &Tensor,
    ch: Chunks,
) -> Result<Tensor> {
    let entries = geom.o * geom.kh * geom.kw * geom.c;
    let part = Tensor::empty(rec.gpu(), DType::F32, &[ch.count, entries])?;
    let total = geom.o.div_ceil(GROUP) * geom.kh * geom.kw * geom.c.div_ceil(4);
    let constants = [("S", geom.stride as f64)];
    let kernel = Kernel::new("conv_wgrad", "partial").with(&constants);
    let row = 4 * geom.o as u64;
    let last_window = ch.pixels as u64 * row - WINDOW;
    for k in 0..ch.count {
        let p0 = k * ch.size;
        // The window starts at the chunk, or ends at the end of dy for the last chunks.
        let offset = (p0 as u64 * row).min(last_window);
        let p = PartialParams {
            n: geom.n as u32,
            h: geom.h as u32,
            w: geom.w as u32,
            c: geom.c as u32,
            ho: geom.ho() as u32,
            wo: geom.wo() as u32,
            o: geom.o as u32,
            pad: geom.pad as u32,
            kh: geom.kh as u32,
            kw: geom.kw as u32,
            p0: p0 as u32,
            count: ch.size.min(ch.pixels - p0) as u32,
            chunk: k as u32,
            win_vec0: (offset / 16) as u32,
            total: total as u32,
            _pad: 0,
        };
        rec.dispatch(
            &kernel,
            &[
                Arg::Params(bytemuck::bytes_of(&p)),
                Arg::T(x),
                Arg::UniformRange(dy, offset, WINDOW),
                Arg::T(&part),
            ],
            grid_for(rec.gpu(), total, 64),
        )?;
    }
    let dw = Tensor::empty(rec.gpu(), DType::F32, &geom.weight_shape())?;
    let p = ReduceParams {
        total: entries as u32,
        chunks: ch.count as u32,
        _pad: [0; 2],
    };
    rec.dispatch(
        &Kernel::new("conv_reduce", "sum_chunks"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(&part),
            Arg::T(&dw),
        ],
        grid_for(rec.gpu(), entries, 64),
    )?;
    Ok(dw)
}
