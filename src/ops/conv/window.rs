//! The windowed convolution kernel (shaders/conv_window.wgsl): like the tiled kernel, but
//! the input is read through 64 KiB uniform windows (a gather instead of a lane-by-lane
//! storage read on llvmpipe), 8 output pixels x 8 output channels per invocation, and every
//! tap unrolled inside the loop over input channels. Used wherever the input is large
//! enough to bind whole windows and a window holds the rows one output row needs.

use super::blocked::{BlockedConv, Sizes};
use super::pack::{pack_group, View, TABLE_FLOATS};
use crate::error::Result;
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::ops::layout::ConvGeom;

/// Output pixels per invocation (TW in the shader), output channels per invocation
/// (4 * OQ), and channels per weight table where the input channels need chunks.
const TILE_W: usize = 8;
const PART: usize = 8;
const GROUP: usize = 16;
const WORKGROUP: u32 = 8;
/// Bytes of one input window (the shader declares `array<vec4<f32>, 4096>`) and the
/// alignment of its offset (the largest WebGPU allows).
pub(super) const WINDOW: u64 = 65536;
pub(super) const ALIGN: u64 = 256;
/// Bytes of input rows one dispatch of the forward kernel should read: nearly the whole
/// window (fewer dispatches; on the training shapes [128,32,32,16], [128,16,16,32] and
/// [128,8,8,64] measured 1.05-1.15x faster than 24 KiB).
const EXTENT: usize = 60 << 10;

/// Whether the windowed kernel handles this shape: kernels up to 3 wide at stride 1 or 2
/// (the shader's segment), an input of whole windows, and one output row's input rows
/// within one window.
pub(super) fn supported(tc: &BlockedConv) -> bool {
    let bytes = (tc.n * tc.h * tc.w * tc.cin * 4) as u64;
    let row = (tc.w * tc.cin * 4) as u64;
    tc.kw == 3
        && tc.stride <= 2
        && tc.kh * tc.kw * GROUP <= TABLE_FLOATS
        && bytes >= WINDOW
        && bytes.is_multiple_of(ALIGN)
        && tc.kh as u64 * row + ALIGN <= WINDOW
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct WindowParams {
    sizes: Sizes,
    pad_y: i32,
    pad_x: i32,
    o0: u32,
    tiles_x: u32,
    row0: u32,
    rows: u32,
    total: u32,
    accumulate: u32,
    c0: u32,
    cn: u32,
    xoff: u32,
    subs: u32,
    _pad: u32,
}

/// Output rows [row0, row0 + rows) (flattened n*Ho + oy) and the byte offset of the window
/// that holds every input row they read.
pub(super) struct Span {
    pub row0: usize,
    pub rows: usize,
    pub offset: u64,
}

/// Split the output rows into spans whose input rows fit one window each. Input rows are
/// clamped into the image as the shader clamps them, so the first and last rows an output
/// row touches only grow with the output row. A span has at most `max_rows` rows.
pub(super) fn spans(tc: &BlockedConv, max_rows: usize) -> Vec<Span> {
    let row_bytes = (tc.w * tc.cin * 4) as u64;
    let last_start = (tc.n * tc.h * tc.w * tc.cin * 4) as u64 - WINDOW;
    let input_row = |r: usize, ky: usize| -> u64 {
        let (n, oy) = (r / tc.ho, r % tc.ho);
        let iy = (oy * tc.stride + ky) as isize - tc.pad_y;
        (n * tc.h) as u64 + iy.clamp(0, tc.h as isize - 1) as u64
    };
    // Byte range [start, end) of x that output row r reads.
    let first = |r: usize| input_row(r, 0) * row_bytes;
    let end = |r: usize| (input_row(r, tc.kh - 1) + 1) * row_bytes;
    let total_rows = tc.n * tc.ho;
    let mut out = Vec::new();
    let mut row0 = 0;
    while row0 < total_rows {
        let offset = (first(row0) / ALIGN * ALIGN).min(last_start);
        let mut rows = 1;
        while row0 + rows < total_rows && rows < max_rows && end(row0 + rows) <= offset + WINDOW {
            rows += 1;
        }
        out.push(Span { row0, rows, offset });
        row0 += rows;
    }
    out
}

/// Run the windowed kernel: per (output-channel group, input-channel chunk), one dispatch
/// per window; the chunks of a group summed into y in order.
pub(super) fn run(
    rec: &mut Recorder,
    tc: &BlockedConv,
    geom: &ConvGeom,
    view: View,
    x: &Tensor,
    w: &Tensor,
) -> Result<Tensor> {
    let y = Tensor::empty(rec.gpu(), DType::F32, &[tc.n, tc.ho, tc.wo, tc.cout])?;
    let tiles_x = tc.wo.div_ceil(TILE_W);
    // Channels per group: as many as one table holds with every input channel (fewer,
    // wider dispatches), split evenly; else groups of GROUP with input-channel chunks.
    let taps = tc.kh * tc.kw;
    let whole = TABLE_FLOATS / (taps * tc.cin) / PART * PART;
    let (group, chunk) = if whole >= PART {
        let groups = tc.cout.div_ceil(whole);
        (tc.cout.div_ceil(groups).next_multiple_of(PART), tc.cin)
    } else {
        let chunks = tc.cin.div_ceil(TABLE_FLOATS / (taps * GROUP));
        (GROUP, tc.cin.div_ceil(chunks))
    };
    let subs = group / PART;
    let entry = if tc.stride == 1 {
        "forward_s1"
    } else {
        "forward_s2"
    };
    let constants = [("KH", tc.kh as f64)];
    let kernel = Kernel::new("conv_window", entry).with(&constants);
    // Output rows per dispatch at stride 1: those whose input rows span at most EXTENT
    // bytes, at least two.
    let row_bytes = tc.w * tc.cin * 4;
    let in_rows = EXTENT / row_bytes;
    // At stride 2 full windows measured no slower.
    let max_rows = if tc.stride > 1 {
        usize::MAX
    } else {
        (in_rows.saturating_sub(tc.kh) + 1).max(2)
    };
    let spans = spans(tc, max_rows);
    for o0 in (0..tc.cout).step_by(group) {
        for c0 in (0..tc.cin).step_by(chunk) {
            let cn = chunk.min(tc.cin - c0);
            let table = pack_group(rec, geom, w, view, o0, group, c0, cn)?;
            for s in &spans {
                let total = s.rows * tiles_x * subs;
                let p = WindowParams {
                    sizes: tc.sizes(),
                    pad_y: tc.pad_y as i32,
                    pad_x: tc.pad_x as i32,
                    o0: o0 as u32,
                    tiles_x: tiles_x as u32,
                    row0: s.row0 as u32,
                    rows: s.rows as u32,
                    total: total as u32,
                    accumulate: (c0 > 0) as u32,
                    c0: c0 as u32,
                    cn: cn as u32,
                    xoff: (s.offset / 4) as u32,
                    subs: subs as u32,
                    _pad: 0,
                };
                rec.dispatch(
                    &kernel,
                    &[
                        Arg::Params(bytemuck::bytes_of(&p)),
                        Arg::UniformRange(x, s.offset, WINDOW),
                        Arg::Uniform(&table),
                        Arg::T(&y),
                    ],
                    grid_for(rec.gpu(), total, WORKGROUP),
                )?;
            }
        }
    }
    Ok(y)
}
