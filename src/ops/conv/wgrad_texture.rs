//! The texture weight gradient (shaders/conv_wgrad_tex.wgsl) for 3-wide kernels at stride
//! 1 or 2 (C % 4 == 0, O % 8 == 0): x and dy read with `textureLoad`, partial sums per chunk of output rows, then the
//! ordered reduction of conv_reduce.wgsl. One dispatch for the partials, one for the sum.

use crate::error::Result;
use crate::gpu::{grid_for, Arg, DType, Gpu, Kernel, Recorder, Tensor};
use crate::ops::layout::ConvGeom;

const WORKGROUP: u32 = 8;
/// Chunks of output rows to aim for: enough invocations for both threads on the narrow
/// layers, few enough partial sums for the reduction to stay small.
const CHUNKS: usize = 128;

/// Output rows per chunk and the number of chunks.
fn chunking(g: &ConvGeom) -> (usize, usize) {
    let rows_total = g.n * g.ho();
    let rows = rows_total.div_ceil(CHUNKS).max(1);
    (rows, rows_total.div_ceil(rows))
}

/// Whether this path handles the geometry on this adapter: KW = 3 at stride 1 or 2, C a
/// multiple of 4, O of 8, rows of x and dy of whole 256-byte pitches, both textures within the
/// 2-D size limit and the partial sums within one storage binding (128 MiB).
pub(super) fn supported(gpu: &Gpu, g: &ConvGeom) -> bool {
    let max = gpu.limits().max_texture_dimension_2d as usize;
    let (_, chunks) = chunking(g);
    crate::gpu::needs::conv_textures_enabled()
        && g.kw == 3
        && g.stride <= 2
        && g.c.is_multiple_of(4)
        && g.o.is_multiple_of(8)
        && (g.w * g.c * 4).is_multiple_of(256)
        && (g.wo() * g.o * 4).is_multiple_of(256)
        && g.w * g.c / 4 <= max
        && g.wo() * g.o / 4 <= max
        && g.n * g.h <= max
        && g.n * g.ho() <= max
        && (chunks * g.o * g.kh * g.kw * g.c * 4) as u64 <= 128 << 20
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
    kh: u32,
    pad_y: i32,
    pad_x: i32,
    rows: u32,
    chunks: u32,
    total: u32,
    s: u32,
    _pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ReduceParams {
    total: u32,
    chunks: u32,
    _pad: [u32; 2],
}

/// dw f32 \[O,KH,3,C\] from x and dy.
pub(super) fn run(rec: &mut Recorder, g: &ConvGeom, x: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let (rows, chunks) = chunking(g);
    let entries = g.o * g.kh * g.kw * g.c;
    let xt = rec.texture_of(x, (g.w * g.c / 4) as u32, (g.n * g.h) as u32)?;
    let dyt = rec.texture_of(dy, (g.wo() * g.o / 4) as u32, (g.n * g.ho()) as u32)?;
    let part = Tensor::empty(rec.gpu(), DType::F32, &[chunks, entries])?;
    let total = chunks * g.kh * (g.c / 4) * (g.o / 8);
    let p = PartialParams {
        n: g.n as u32,
        h: g.h as u32,
        w: g.w as u32,
        c: g.c as u32,
        ho: g.ho() as u32,
        wo: g.wo() as u32,
        o: g.o as u32,
        kh: g.kh as u32,
        pad_y: g.pad as i32,
        pad_x: g.pad as i32,
        rows: rows as u32,
        chunks: chunks as u32,
        total: total as u32,
        s: g.stride as u32,
        _pad: [0; 2],
    };
    rec.dispatch(
        &Kernel::new("conv_wgrad_tex", "partial"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::Texture(&xt),
            Arg::Texture(&dyt),
            Arg::T(&part),
        ],
        grid_for(rec.gpu(), total, WORKGROUP),
    )?;
    let dw = Tensor::empty(rec.gpu(), DType::F32, &g.weight_shape())?;
    let r = ReduceParams {
        total: entries as u32,
        chunks: chunks as u32,
        _pad: [0; 2],
    };
    rec.dispatch(
        &Kernel::new("conv_reduce", "sum_chunks"),
        &[
            Arg::Params(bytemuck::bytes_of(&r)),
            Arg::T(&part),
            Arg::T(&dw),
        ],
        grid_for(rec.gpu(), entries, 64),
    )?;
    Ok(dw)
}
