//! The texture convolution kernel (shaders/conv_tex.wgsl): 3-wide kernels at stride 1, the
//! input and the packed weight table read with `textureLoad` (one 16-byte fetch per lane
//! on llvmpipe, where uniform and storage reads at per-lane addresses are gathered one
//! component at a time), 8 output pixels x 16 output channels per invocation, one dispatch
//! per convolution. Serves the forward pass and the stride-1 gradient w.r.t. the input.
//! Measured on [64,32,32,64] (lavapipe): about 2.1x the windowed kernel.

use super::blocked::{BlockedConv, Sizes};
use super::pack::{pack_into, View};
use crate::error::Result;
use crate::gpu::{grid, Arg, DType, Gpu, Kernel, Recorder, Tensor};
use crate::ops::layout::ConvGeom;

/// Output pixels per invocation, output channels per workgroup row (8 and 4 * 4 in the
/// shader), invocations per workgroup.
const TILE_W: usize = 8;
const GROUP: usize = 16;
const WORKGROUP: usize = 8;
/// The weight table's rows are padded to this many output channels: a texture row must
/// be a multiple of 256 bytes to be copied from a buffer.
const ROW_CHANNELS: usize = 64;

/// Whether the kernel handles this shape on this adapter: KW = 3 at stride 1, channel
/// counts the texels and groups divide, input rows of whole 256-byte pitches, both
/// textures within the 2-D size limit and the tiles within one grid row.
pub(super) fn supported(gpu: &Gpu, tc: &BlockedConv) -> bool {
    let max = gpu.limits().max_texture_dimension_2d as usize;
    let tiles = tc.n * tc.ho * tc.wo.div_ceil(TILE_W);
    tc.kw == 3
        && tc.stride == 1
        && tc.cin.is_multiple_of(4)
        && tc.cout.is_multiple_of(GROUP)
        && (tc.w * tc.cin * 4).is_multiple_of(256)
        && tc.w * tc.cin / 4 <= max
        && tc.n * tc.h <= max
        && tc.kh * 3 * tc.cin <= max
        && tc.cout.next_multiple_of(ROW_CHANNELS) / 4 <= max
        && tiles.div_ceil(WORKGROUP) <= gpu.limits().max_compute_workgroups_per_dimension as usize
        && tc.cout / GROUP <= gpu.limits().max_compute_workgroups_per_dimension as usize
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct TexParams {
    sizes: Sizes,
    kh: u32,
    pad_y: i32,
    pad_x: i32,
    tiles_x: u32,
    tiles: u32,
}

/// Run the kernel: pack the weights (all channels, rows padded to [`ROW_CHANNELS`]), copy x
/// and the table into textures, one dispatch.
pub(super) fn run(
    rec: &mut Recorder,
    tc: &BlockedConv,
    geom: &ConvGeom,
    view: View,
    x: &Tensor,
    w: &Tensor,
) -> Result<Tensor> {
    let og = tc.cout.next_multiple_of(ROW_CHANNELS);
    let rows = tc.kh * tc.kw * tc.cin;
    let table = pack_into(rec, geom, w, view, 0, og, 0, tc.cin, rows * og)?;
    let wt = rec.texture_of(&table, (og / 4) as u32, rows as u32)?;
    let xt = rec.texture_of(x, (tc.w * tc.cin / 4) as u32, (tc.n * tc.h) as u32)?;
    let y = Tensor::empty(rec.gpu(), DType::F32, &[tc.n, tc.ho, tc.wo, tc.cout])?;
    let tiles_x = tc.wo.div_ceil(TILE_W);
    let tiles = tc.n * tc.ho * tiles_x;
    let p = TexParams {
        sizes: tc.sizes(),
        kh: tc.kh as u32,
        pad_y: tc.pad_y as i32,
        pad_x: tc.pad_x as i32,
        tiles_x: tiles_x as u32,
        tiles: tiles as u32,
    };
    let mut groups = grid(rec.gpu(), tiles.div_ceil(WORKGROUP) as u32);
    groups[1] = (tc.cout / GROUP) as u32;
    rec.dispatch(
        &Kernel::new("conv_tex", "forward_s1"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::Texture(&xt),
            Arg::Texture(&wt),
            Arg::T(&y),
        ],
        groups,
    )?;
    Ok(y)
}
