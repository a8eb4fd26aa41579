//! Pixel embedding: the trainable lookup table of the first layer (docs/method.md).
//! Math: shaders/embed.wgsl; reference: [`crate::reference::embed`]; layouts: [`super::layout`].
//!
//! Table `[T, 256, D]` f32 with T = 1 (shared) or T = C (one per input channel); pixels
//! `[N, H, W, C]` u8; codes `[N, H, W, C * D]`, channel `c * D + d` holding
//! `spec.code(table[t][v][d])`, t = 0 (shared) or c.

use super::layout::words_for;
use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};
use crate::reference::QuantSpec;

/// Bytes of the code table the gathers read as a uniform (8-bit codes, four per word).
const UNIFORM_CODE_BYTES: usize = 64 * 1024;

/// Backward stage 1 aims at about this many invocations (chunk x table x d-group): fewer
/// means less parallelism, more means a larger partial-sum buffer to write and reduce. A
/// software adapter runs 16 lanes at a time, so few chunks suffice there (measured on
/// lavapipe, [128, 32, 32, 3] T = 3 D = 10: the reduce takes 7 ms at 512 and 20 ms at 2048).
const TARGET_PARTIAL_INVOCATIONS_SOFTWARE: usize = 512;
const TARGET_PARTIAL_INVOCATIONS_HARDWARE: usize = 4096;
/// Fewest pixels per backward chunk.
const MIN_CHUNK_PIXELS: usize = 32;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    pixels: u32,
    channels: u32,
    dim: u32,
    tables: u32,
    max_v: f32,
    scale: f32,
    words: u32,
    entries: u32,
    chunks: u32,
    chunk_pixels: u32,
    groups: u32,
    _pad: u32,
}

/// Shapes shared by every embedding op, checked once.
#[derive(Clone, Copy, Debug)]
struct Shape {
    /// N * H * W.
    pixels: usize,
    channels: usize,
    dim: usize,
    tables: usize,
}

impl Shape {
    fn check(spec: QuantSpec, table: &Tensor, pixels: &Tensor) -> Result<Self> {
        QuantSpec::new(spec.bits, spec.max).map_err(Error::Invalid)?;
        if pixels.dtype() != DType::U8 || pixels.shape().len() != 4 {
            return Err(Error::shape(format!(
                "embedding pixels: expected U8 [N, H, W, C], got {pixels:?}"
            )));
        }
        let ps = pixels.shape();
        let channels = ps[3];
        let ts = table.shape();
        let ok = table.dtype() == DType::F32
            && ts.len() == 3
            && (ts[0] == 1 || ts[0] == channels)
            && ts[1] == 256
            && ts[2] > 0;
        if !ok {
            return Err(Error::shape(format!(
                "embedding table: expected F32 [T, 256, D] with T = 1 or T = C = {channels}, got {table:?}"
            )));
        }
        let shape = Shape {
            pixels: ps[0] * ps[1] * ps[2],
            channels,
            dim: ts[2],
            tables: ts[0],
        };
        if shape.pixels == 0 || channels == 0 {
            return Err(Error::shape(format!(
                "embedding of empty pixels {pixels:?}"
            )));
        }
        Ok(shape)
    }

    fn entries(&self) -> usize {
        self.tables * 256 * self.dim
    }

    fn params(&self, spec: QuantSpec) -> Params {
        Params {
            pixels: self.pixels as u32,
            channels: self.channels as u32,
            dim: self.dim as u32,
            tables: self.tables as u32,
            max_v: spec.max,
            scale: spec.scale(),
            words: words_for(self.channels * self.dim) as u32,
            entries: self.entries() as u32,
            chunks: 0,
            chunk_pixels: 0,
            groups: self.dim.div_ceil(4) as u32,
            _pad: 0,
        }
    }
}

/// Quantize the table into 8-bit codes, four per word. Returns the code table and whether
/// it is sized (64 KiB) to be read as a uniform.
fn table_codes(
    rec: &mut Recorder,
    p: &Params,
    shape: &Shape,
    table: &Tensor,
) -> Result<(Tensor, bool)> {
    let words = shape.entries().div_ceil(4);
    let uniform_limit = rec.gpu().limits().max_uniform_buffer_binding_size as usize;
    let uniform = words * 4 <= UNIFORM_CODE_BYTES && UNIFORM_CODE_BYTES <= uniform_limit;
    let len = if uniform {
        UNIFORM_CODE_BYTES / 4
    } else {
        words
    };
    let codes = Tensor::empty(rec.gpu(), DType::Bits, &[len])?;
    let groups = grid_for(rec.gpu(), words, 64);
    rec.dispatch(
        &Kernel::new("embed", "table_codes"),
        &[
            Arg::Params(bytemuck::bytes_of(p)),
            Arg::T(table),
            Arg::T(&codes),
        ],
        groups,
    )?;
    Ok((codes, uniform))
}

fn code_arg(codes: &Tensor, uniform: bool) -> Arg<'_> {
    if uniform {
        Arg::Uniform(codes)
    } else {
        Arg::T(codes)
    }
}

/// Codes `[N, H, W, C * D]` (as f32) of `pixels` `[N, H, W, C]` through `table` `[T, 256, D]`.
pub fn forward(
    rec: &mut Recorder,
    spec: QuantSpec,
    table: &Tensor,
    pixels: &Tensor,
) -> Result<Tensor> {
    let shape = Shape::check(spec, table, pixels)?;
    let p = shape.params(spec);
    let (codes, uniform) = table_codes(rec, &p, &shape, table)?;
    let ps = pixels.shape();
    let out = Tensor::empty(
        rec.gpu(),
        DType::F32,
        &[ps[0], ps[1], ps[2], shape.channels * shape.dim],
    )?;
    let entry = if uniform { "gather" } else { "gather_storage" };
    let groups = grid_for(rec.gpu(), shape.pixels * shape.channels, 64);
    rec.dispatch(
        &Kernel::new("embed", entry),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(pixels),
            code_arg(&codes, uniform),
            Arg::T(&out),
        ],
        groups,
    )?;
    Ok(out)
}

/// The same codes as [`forward`], packed as bit-planes: `Bits [N, H, W, k, Cw]`,
/// Cw = ceil(C * D / 32) (layout in [`super::layout`]).
pub fn forward_packed(
    rec: &mut Recorder,
    spec: QuantSpec,
    table: &Tensor,
    pixels: &Tensor,
) -> Result<Tensor> {
    let shape = Shape::check(spec, table, pixels)?;
    let p = shape.params(spec);
    let (codes, uniform) = table_codes(rec, &p, &shape, table)?;
    let ps = pixels.shape();
    let k = spec.bits as usize;
    let out = Tensor::empty(
        rec.gpu(),
        DType::Bits,
        &[ps[0], ps[1], ps[2], k, p.words as usize],
    )?;
    let entry = if uniform {
        "gather_packed"
    } else {
        "gather_packed_storage"
    };
    let constants = [("K", k as f64)];
    let groups = grid_for(rec.gpu(), shape.pixels * p.words as usize, 64);
    rec.dispatch(
        &Kernel::new("embed", entry).with(&constants),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(pixels),
            code_arg(&codes, uniform),
            Arg::T(&out),
        ],
        groups,
    )?;
    Ok(out)
}

/// Straight-through gradient of the table, `[T, 256, D]`:
/// dtable\[t\]\[v\]\[d\] = sum over pixels p and channels c of table t with value v of
/// dvalue[p][c * D + d], times 1\[0 < table\[t\]\[v\]\[d\] < max\]. `dvalue` is the gradient w.r.t.
/// the quantized value, f32 `[N, H, W, C * D]`. Deterministic (fixed-order segmented sums).
pub fn backward(
    rec: &mut Recorder,
    spec: QuantSpec,
    table: &Tensor,
    pixels: &Tensor,
    dvalue: &Tensor,
) -> Result<Tensor> {
    let shape = Shape::check(spec, table, pixels)?;
    let ps = pixels.shape();
    dvalue.check_shape(
        "embedding upstream gradient",
        DType::F32,
        &[ps[0], ps[1], ps[2], shape.channels * shape.dim],
    )?;
    let mut p = shape.params(spec);
    // Stage 1 work: chunks x T x G invocations, each summing one chunk of pixels.
    let per_chunk = shape.tables * p.groups as usize;
    let target = if rec.gpu().is_software() {
        TARGET_PARTIAL_INVOCATIONS_SOFTWARE
    } else {
        TARGET_PARTIAL_INVOCATIONS_HARDWARE
    };
    let chunk_pixels = (shape.pixels * per_chunk)
        .div_ceil(target)
        .max(MIN_CHUNK_PIXELS);
    let chunks = shape.pixels.div_ceil(chunk_pixels);
    p.chunks = chunks as u32;
    p.chunk_pixels = chunk_pixels as u32;
    // partials [chunks, T, 256, G] vec4 = 4 f32 each.
    let partials = Tensor::empty(rec.gpu(), DType::F32, &[chunks * per_chunk * 256 * 4])?;
    rec.dispatch(
        &Kernel::new("embed", "backward_partial"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(pixels),
            Arg::T(dvalue),
            Arg::T(&partials),
        ],
        grid_for(rec.gpu(), chunks * per_chunk, 16),
    )?;
    let dtable = Tensor::empty(rec.gpu(), DType::F32, table.shape())?;
    rec.dispatch(
        &Kernel::new("embed", "backward_reduce"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(table),
            Arg::T(&partials),
            Arg::T(&dtable),
        ],
        grid_for(rec.gpu(), per_chunk * 256, 64),
    )?;
    Ok(dtable)
}
