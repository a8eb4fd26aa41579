//! The channel-unrolled convolution kernel (shaders/conv_unrolled.wgsl): stride 1, 3-wide
//! kernels, x read through 64 KiB uniform windows like the windowed kernel, but every
//! weight read at a compile-time-constant index (the input-channel count of a chunk is an
//! override constant and each channel step is a call with a literal channel), so on
//! llvmpipe only x is gathered lane by lane. 4 output pixels x 16 output channels per
//! invocation, one dispatch per 16 output channels, chunk and window.

use super::pack::{pack_group, View, TABLE_FLOATS};
use super::tiled::TiledConv;
use super::window::{self, spans, WINDOW};
use crate::error::Result;
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::ops::layout::ConvGeom;

/// Output pixels and output channels per invocation (TW and 4 x 4 in the shader).
const TILE_W: usize = 4;
const GROUP: usize = 16;
const WORKGROUP: u32 = 8;
/// Most input channels one dispatch unrolls (the shader writes out 64 channel steps).
/// Larger chunks compile longer on llvmpipe; more chunks re-read and re-write y.
const MAX_CHUNK: usize = 64;
/// Bytes of input rows one dispatch should read (as in the windowed kernel).
const EXTENT: usize = 24 << 10;

/// Whether this kernel handles the shape: the windowed kernel's conditions, stride 1 and
/// at most 3 kernel rows.
pub(super) fn supported(tc: &TiledConv) -> bool {
    tc.stride == 1 && tc.kh <= 3 && window::supported(tc)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct UnrolledParams {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    ho: u32,
    wo: u32,
    o: u32,
    pad_y: i32,
    pad_x: i32,
    o0: u32,
    tiles_x: u32,
    row0: u32,
    rows: u32,
    total: u32,
    accumulate: u32,
    c0: u32,
    xoff: u32,
    _pad: [u32; 3],
}

/// Input channels per chunk: at most [`MAX_CHUNK`] and what one table holds, the chunks
/// as even as possible.
fn chunk_size(tc: &TiledConv) -> usize {
    let fit = (TABLE_FLOATS / (tc.kh * tc.kw * GROUP)).min(MAX_CHUNK);
    tc.cin.div_ceil(tc.cin.div_ceil(fit))
}

/// Run the kernel: per 16 output channels and input-channel chunk, one dispatch per window;
/// the chunks summed into y in order.
pub(super) fn run(
    rec: &mut Recorder,
    tc: &TiledConv,
    geom: &ConvGeom,
    view: View,
    x: &Tensor,
    w: &Tensor,
) -> Result<Tensor> {
    let y = Tensor::empty(rec.gpu(), DType::F32, &[tc.n, tc.ho, tc.wo, tc.cout])?;
    let tiles_x = tc.wo.div_ceil(TILE_W);
    let chunk = chunk_size(tc);
    let row_bytes = tc.w * tc.cin * 4;
    let max_rows = ((EXTENT / row_bytes).saturating_sub(tc.kh) + 1).max(2);
    let spans = spans(tc, max_rows);
    for o0 in (0..tc.cout).step_by(GROUP) {
        for c0 in (0..tc.cin).step_by(chunk) {
            let cn = chunk.min(tc.cin - c0);
            let constants = [("KH", tc.kh as f64), ("CN", cn as f64)];
            let kernel = Kernel::new("conv_unrolled", "forward").with(&constants);
            let table = pack_group(rec, geom, w, view, o0, GROUP, c0, cn)?;
            for s in &spans {
                let total = s.rows * tiles_x;
                let p = UnrolledParams {
                    n: tc.n as u32,
                    h: tc.h as u32,
                    w: tc.w as u32,
                    c: tc.cin as u32,
                    ho: tc.ho as u32,
                    wo: tc.wo as u32,
                    o: tc.cout as u32,
                    pad_y: tc.pad_y as i32,
                    pad_x: tc.pad_x as i32,
                    o0: o0 as u32,
                    tiles_x: tiles_x as u32,
                    row0: s.row0 as u32,
                    rows: s.rows as u32,
                    total: total as u32,
                    accumulate: (c0 > 0) as u32,
                    c0: c0 as u32,
                    xoff: (s.offset / 4) as u32,
                    _pad: [0; 3],
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
