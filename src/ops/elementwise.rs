//! Elementwise ops (residual add, gradient accumulation, scaling), per-channel scaling and
//! deterministic per-channel column sums. Any tensor whose last dimension is C is seen as
//! `rows x C`, channel fastest. Math: shaders/elementwise.wgsl, reference:
//! [`crate::reference::elementwise`].

use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Kernel, Recorder, Tensor};

const WG: u32 = 256;

/// How a per-channel reduction splits `rows`: `chunks` runs of `rows_per_chunk` rows (the
/// last may be shorter). A function of the shape only, so results are reproducible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowChunks {
    pub rows: usize,
    pub channels: usize,
    pub rows_per_chunk: usize,
    pub chunks: usize,
}

impl RowChunks {
    /// Fewest rows per chunk (short runs waste the per-invocation setup).
    const MIN_ROWS: usize = 64;
    /// Most chunks (the merge step walks them serially, one invocation per channel).
    const MAX_CHUNKS: usize = 1024;

    pub fn new(rows: usize, channels: usize) -> Self {
        let rows_per_chunk = Self::MIN_ROWS.max(rows.div_ceil(Self::MAX_CHUNKS));
        RowChunks {
            rows,
            channels,
            rows_per_chunk,
            chunks: rows.div_ceil(rows_per_chunk).max(1),
        }
    }

    /// Invocations of a kernel that runs one chunk of one channel each.
    pub fn runs(&self) -> usize {
        self.chunks * self.channels
    }
}

/// `(rows, C)` of a non-empty f32 tensor seen as rows of its last dimension.
pub fn rows_and_channels(what: &str, t: &Tensor) -> Result<(usize, usize)> {
    let c = *t
        .shape()
        .last()
        .ok_or_else(|| Error::shape(format!("{what}: a scalar {t:?} has no channel axis")))?;
    if t.dtype() != DType::F32 || t.numel() == 0 {
        return Err(Error::shape(format!(
            "{what}: expected a non-empty F32 tensor, got {t:?}"
        )));
    }
    Ok((t.numel() / c, c))
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    alpha: f32,
    rows: u32,
    channels: u32,
    rows_per_chunk: u32,
    chunks: u32,
    _pad: [u32; 2],
}

fn flat_params(n: usize, alpha: f32) -> Params {
    Params {
        n: n as u32,
        alpha,
        rows: 0,
        channels: 0,
        rows_per_chunk: 0,
        chunks: 0,
        _pad: [0; 2],
    }
}

fn chunk_params(rc: RowChunks) -> Params {
    Params {
        n: (rc.rows * rc.channels) as u32,
        alpha: 0.0,
        rows: rc.rows as u32,
        channels: rc.channels as u32,
        rows_per_chunk: rc.rows_per_chunk as u32,
        chunks: rc.chunks as u32,
        _pad: [0; 2],
    }
}

/// A flat op over `n` elements: its `_vec4` twin (four elements per invocation) when `n` is a
/// multiple of 4, else the one-element kernel.
fn flat_dispatch(
    rec: &mut Recorder,
    entry: (&'static str, &'static str),
    n: usize,
    alpha: f32,
    tensors: &[&Tensor],
) -> Result<()> {
    let (entry, per) = if n.is_multiple_of(4) {
        (entry.1, 4)
    } else {
        (entry.0, 1)
    };
    let p = flat_params(n, alpha);
    let mut args = vec![Arg::Params(bytemuck::bytes_of(&p))];
    args.extend(tensors.iter().map(|t| Arg::T(t)));
    let groups = grid_for(rec.gpu(), n / per, WG);
    rec.dispatch(&Kernel::new("elementwise", entry), &args, groups)
}

fn check_f32(what: &str, t: &Tensor) -> Result<()> {
    if t.dtype() != DType::F32 {
        return Err(Error::shape(format!("{what}: expected F32, got {t:?}")));
    }
    Ok(())
}

fn check_same(what: &str, a: &Tensor, b: &Tensor) -> Result<()> {
    check_f32(what, a)?;
    b.check_shape(what, DType::F32, a.shape())
}

/// c = a + b (equal shapes).
pub fn add(rec: &mut Recorder, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    check_same("add", a, b)?;
    let c = Tensor::empty(rec.gpu(), DType::F32, a.shape())?;
    flat_dispatch(rec, ("add", "add_vec4"), a.numel(), 0.0, &[a, b, &c])?;
    Ok(c)
}

/// a += b (equal shapes), for gradient accumulation. `b` may be `a` itself (then a *= 2).
pub fn add_inplace(rec: &mut Recorder, a: &Tensor, b: &Tensor) -> Result<()> {
    check_same("add_inplace", a, b)?;
    if a.buffer() == b.buffer() {
        // One buffer cannot be bound both writable and read-only in a dispatch.
        let p = flat_params(a.numel(), 2.0);
        return rec.dispatch(
            &Kernel::new("elementwise", "scale_inplace"),
            &[Arg::Params(bytemuck::bytes_of(&p)), Arg::T(a)],
            grid_for(rec.gpu(), a.numel(), WG),
        );
    }
    flat_dispatch(
        rec,
        ("add_inplace", "add_inplace_vec4"),
        a.numel(),
        0.0,
        &[a, b],
    )
}

/// y = alpha * x.
pub fn scale(rec: &mut Recorder, x: &Tensor, alpha: f32) -> Result<Tensor> {
    check_f32("scale", x)?;
    let y = Tensor::empty(rec.gpu(), DType::F32, x.shape())?;
    flat_dispatch(rec, ("scale", "scale_vec4"), x.numel(), alpha, &[x, &y])?;
    Ok(y)
}

/// y[.., c] = x[.., c] * s\[c\], with s of shape \[C\] and C the last dimension of x.
pub fn scale_channels(rec: &mut Recorder, x: &Tensor, s: &Tensor) -> Result<Tensor> {
    let (rows, c) = rows_and_channels("scale_channels input", x)?;
    s.check_shape("scale_channels scale", DType::F32, &[c])?;
    let rc = RowChunks::new(rows, c);
    let y = Tensor::empty(rec.gpu(), DType::F32, x.shape())?;
    let p = chunk_params(rc);
    rec.dispatch(
        &Kernel::new("elementwise", "scale_channels"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(x),
            Arg::T(s),
            Arg::T(&y),
        ],
        grid_for(rec.gpu(), rc.runs(), WG),
    )?;
    Ok(y)
}

/// Backward of y = x * s\[c\]: dx = dy * s\[c\], ds\[c\] = sum over rows of x * dy.
pub fn scale_channels_backward(
    rec: &mut Recorder,
    x: &Tensor,
    dy: &Tensor,
    s: &Tensor,
) -> Result<(Tensor, Tensor)> {
    check_same("scale_channels_backward gradient", x, dy)?;
    let dx = scale_channels(rec, dy, s)?;
    let ds = column_dots(rec, x, dy)?;
    Ok((dx, ds))
}

/// out\[c\] = sum over rows of x[.., c] (deterministic: chunk sums in row order, then chunk
/// order).
pub fn column_sums(rec: &mut Recorder, x: &Tensor) -> Result<Tensor> {
    let (rows, c) = rows_and_channels("column_sums input", x)?;
    let rc = RowChunks::new(rows, c);
    let partial = Tensor::empty(rec.gpu(), DType::F32, &[rc.chunks, c])?;
    let p = chunk_params(rc);
    rec.dispatch(
        &Kernel::new("elementwise", "column_partial_sums"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(x),
            Arg::T(&partial),
        ],
        grid_for(rec.gpu(), rc.runs(), WG),
    )?;
    finish_columns(rec, rc, &partial)
}

/// out\[c\] = sum over rows of a[.., c] * b[.., c] (deterministic, as [`column_sums`]).
pub fn column_dots(rec: &mut Recorder, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (rows, c) = rows_and_channels("column_dots input", a)?;
    b.check_shape("column_dots second input", DType::F32, a.shape())?;
    let rc = RowChunks::new(rows, c);
    let partial = Tensor::empty(rec.gpu(), DType::F32, &[rc.chunks, c])?;
    let p = chunk_params(rc);
    rec.dispatch(
        &Kernel::new("elementwise", "column_partial_dots"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(a),
            Arg::T(b),
            Arg::T(&partial),
        ],
        grid_for(rec.gpu(), rc.runs(), WG),
    )?;
    finish_columns(rec, rc, &partial)
}

/// out[c] = sum_j partial[j, c] in chunk order.
fn finish_columns(rec: &mut Recorder, rc: RowChunks, partial: &Tensor) -> Result<Tensor> {
    let out = Tensor::empty(rec.gpu(), DType::F32, &[rc.channels])?;
    let p = chunk_params(rc);
    rec.dispatch(
        &Kernel::new("elementwise", "column_finish"),
        &[
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(partial),
            Arg::T(&out),
        ],
        grid_for(rec.gpu(), rc.channels, WG),
    )?;
    Ok(out)
}
