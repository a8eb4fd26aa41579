//! The tiled convolution kernel (shaders/conv_tiled.wgsl): 4 output pixels of a row times
//! 16 output channels per invocation, the channel group's weights in a uniform table. Runs
//! any kernel up to the shader's row segment; the forward pass and the gradient w.r.t. the
//! input use it where the windowed and texture kernels do not apply.

use super::blocked::{BlockedConv, Sizes};
use super::pack::{pack_group, View, TABLE_FLOATS};
use crate::error::Result;
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::ops::layout::ConvGeom;

/// Output pixels per invocation and output channels per group (TW and 4 * OG4 in the shader).
const TILE_W: usize = 4;
const GROUP: usize = 16;
const WORKGROUP: u32 = 64;
/// Longest row segment of one tile (MAX_SEG in the shader).
const MAX_SEG: usize = 16;

/// Whether the kernel handles this shape: the row segment a tile reads fits the shader's
/// window and one group's weights for one input channel fit a table.
pub(super) fn supported(tc: &BlockedConv) -> bool {
    (TILE_W - 1) * tc.stride + tc.kw <= MAX_SEG && tc.kh * tc.kw * GROUP <= TABLE_FLOATS
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct TiledParams {
    sizes: Sizes,
    pad_y: i32,
    pad_x: i32,
    o0: u32,
    tiles_x: u32,
    tiles: u32,
    accumulate: u32,
    c0: u32,
    cn: u32,
    _pad: u32,
}

/// Run the tiled kernel: one dispatch per (output-channel group, input-channel chunk), the
/// chunks of a group summed into y in order. `geom` and `view` say how to pack `w`.
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
    let tiles = tc.n * tc.ho * tiles_x;
    // Input channels per table: as many as fit, split evenly over the chunks.
    let fit = TABLE_FLOATS / (tc.kh * tc.kw * GROUP);
    let chunks = tc.cin.div_ceil(fit);
    let chunk = tc.cin.div_ceil(chunks);
    let constants = [
        ("KH", tc.kh as f64),
        ("KW", tc.kw as f64),
        ("S", tc.stride as f64),
    ];
    let kernel = Kernel::new("conv_tiled", "forward").with(&constants);
    for o0 in (0..tc.cout).step_by(GROUP) {
        for c0 in (0..tc.cin).step_by(chunk) {
            let cn = chunk.min(tc.cin - c0);
            let table = pack_group(rec, geom, w, view, o0, GROUP, c0, cn)?;
            let p = TiledParams {
                sizes: tc.sizes(),
                pad_y: tc.pad_y as i32,
                pad_x: tc.pad_x as i32,
                o0: o0 as u32,
                tiles_x: tiles_x as u32,
                tiles: tiles as u32,
                accumulate: (c0 > 0) as u32,
                c0: c0 as u32,
                cn: cn as u32,
                _pad: 0,
            };
            rec.dispatch(
                &kernel,
                &[
                    Arg::Params(bytemuck::bytes_of(&p)),
                    Arg::T(x),
                    Arg::Uniform(&table),
                    Arg::T(&y),
                ],
                grid_for(rec.gpu(), tiles, WORKGROUP),
            )?;
        }
    }
    Ok(y)
}
