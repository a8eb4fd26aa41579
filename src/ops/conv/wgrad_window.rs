//! The windowed weight gradient (shaders/conv_wgrad_window.wgsl): partial sums per span of
//! output rows, x and dy both read through 64 KiB uniform windows, then the ordered
//! reduction of conv_reduce.wgsl.

use super::blocked::BlockedConv;
use super::window::{spans, ALIGN, WINDOW};
use crate::error::Result;
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::ops::layout::ConvGeom;

const WORKGROUP: u32 = 8;

/// Output rows per span: as many as fit dy's window (with room for alignment). Shorter
/// spans measured slower: the reduction then reads more partial sums.
fn max_rows(g: &ConvGeom) -> usize {
    ((WINDOW - ALIGN) / (g.wo() * g.o * 4) as u64) as usize
}

/// Whether `count` partial sums fit one storage binding (128 MiB on every adapter).
fn fits(g: &ConvGeom, count: usize) -> bool {
    count as u64 * (g.o * g.kh * g.kw * g.c) as u64 * 4 <= 128 << 20
}

/// Whether the windowed plan handles this geometry: 3-wide kernels at stride 1 or 2,
/// O % 8 == 0, x and dy of whole windows, one output row's x and dy rows within
/// one window each, and the partial sums within one storage binding.
pub(super) fn supported(g: &ConvGeom) -> bool {
    let x_bytes = (g.n * g.h * g.w * g.c * 4) as u64;
    let dy_bytes = (g.n * g.ho() * g.wo() * g.o * 4) as u64;
    let whole = |b: u64| b >= WINDOW && b.is_multiple_of(ALIGN);
    if !(g.kw == 3
        && g.stride <= 2
        && g.o.is_multiple_of(8)
        && whole(x_bytes)
        && whole(dy_bytes)
        && g.kh as u64 * (g.w * g.c * 4) as u64 + ALIGN <= WINDOW
        && max_rows(g) >= 1)
    {
        return false;
    }
    fits(g, spans(&BlockedConv::forward(g), max_rows(g)).len())
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
    p0: u32,
    count: u32,
    chunk: u32,
    xoff: u32,
    dyoff4: u32,
    total: u32,
    _pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ReduceParams {
    total: u32,
    chunks: u32,
    _pad: [u32; 2],
}

/// dw f32 [O,KH,KW,C] from x and dy (shapes checked by the caller, `supported` true).
pub(super) fn run(rec: &mut Recorder, g: &ConvGeom, x: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let spans = spans(&BlockedConv::forward(g), max_rows(g));
    let entries = g.o * g.kh * g.kw * g.c;
    let part = Tensor::empty(rec.gpu(), DType::F32, &[spans.len(), entries])?;
    let total = (g.o / 8) * g.kh * g.c.div_ceil(4);
    let constants = [
        ("KH", g.kh as f64),
        ("S", g.stride as f64),
        ("VEC", g.c.is_multiple_of(4) as u8 as f64),
    ];
    let kernel = Kernel::new("conv_wgrad_window", "partial").with(&constants);
    let row = (g.o * 4) as u64;
    let last_dy = (g.n * g.ho() * g.wo()) as u64 * row - WINDOW;
    for (k, s) in spans.iter().enumerate() {
        let p0 = s.row0 * g.wo();
        // dy's window starts at the span, or ends at the end of dy for the last spans.
        let dy_offset = (p0 as u64 * row / ALIGN * ALIGN).min(last_dy);
        let p = PartialParams {
            n: g.n as u32,
            h: g.h as u32,
            w: g.w as u32,
            c: g.c as u32,
            ho: g.ho() as u32,
            wo: g.wo() as u32,
            o: g.o as u32,
            pad: g.pad as u32,
            p0: p0 as u32,
            count: (s.rows * g.wo()) as u32,
            chunk: k as u32,
            xoff: (s.offset / 4) as u32,
            dyoff4: (dy_offset / 16) as u32,
            total: total as u32,
            _pad: [0; 2],
        };
        rec.dispatch(
            &kernel,
            &[
                Arg::Params(bytemuck::bytes_of(&p)),
                Arg::UniformRange(x, s.offset, WINDOW),
                Arg::UniformRange(dy, dy_offset, WINDOW),
                Arg::T(&part),
            ],
            grid_for(rec.gpu(), total, WORKGROUP),
        )?;
    }
    let dw = Tensor::empty(rec.gpu(), DType::F32, &g.weight_shape())?;
    let p = ReduceParams {
        total: entries as u32,
        chunks: spans.len() as u32,
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
