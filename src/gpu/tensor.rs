//! Typed GPU tensors: a dtype, a shape and a pooled buffer.
//!
//! Element units per dtype: `F32` and `I32` one 4-byte value; `Bits` one u32 word of packed
//! bits (see [`crate::ops::layout`] for how bits are laid out); `U8` one byte, stored four to
//! a u32 word, little-endian (byte i of the tensor is bits 8*(i%4).. of word i/4), the buffer
//! padded with zero bytes to a whole word.

use super::context::Gpu;
use super::pool::PooledBuffer;
use crate::error::{Error, Result};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    I32,
    /// u32 words of packed bits (bit-planes, binary weights).
    Bits,
    /// u8 values, 4 per u32 word.
    U8,
}

impl DType {
    /// Bytes needed for `n` elements (whole words).
    pub fn bytes_for(self, n: usize) -> u64 {
        match self {
            DType::U8 => (n.div_ceil(4) * 4) as u64,
            _ => (n * 4) as u64,
        }
    }
}

/// Every tensor buffer can be read and written by kernels, bound as a uniform (small
/// weight tables), and copied in both directions.
pub const TENSOR_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::UNIFORM)
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

#[derive(Clone)]
pub struct Tensor {
    buf: Arc<PooledBuffer>,
    dtype: DType,
    shape: Vec<usize>,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({:?}, {:?})", self.dtype, self.shape)
    }
}

/// Values that can live in a tensor of some dtype.
pub trait Element: bytemuck::Pod {
    const DTYPE: DType;
}
impl Element for f32 {
    const DTYPE: DType = DType::F32;
}
impl Element for i32 {
    const DTYPE: DType = DType::I32;
}
impl Element for u32 {
    const DTYPE: DType = DType::Bits;
}
impl Element for u8 {
    const DTYPE: DType = DType::U8;
}

impl Tensor {
    /// An uninitialised tensor (contents are whatever the pooled buffer held).
    pub fn empty(gpu: &Gpu, dtype: DType, shape: &[usize]) -> Result<Self> {
        let what = || format!("a {dtype:?} tensor of shape {shape:?}");
        // Checked: a shape from a file or the command line may overflow the product.
        let bytes = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .and_then(|n| n.checked_add(3))
            .map_or(u64::MAX, |n| dtype.bytes_for(n - 3));
        gpu.check_fits(&what(), bytes)?;
        Ok(Tensor {
            buf: gpu.pool().get(bytes, TENSOR_USAGE, what)?,
            dtype,
            shape: shape.to_vec(),
        })
    }

    /// A tensor filled with zero bits.
    pub fn zeros(gpu: &Gpu, dtype: DType, shape: &[usize]) -> Result<Self> {
        let t = Self::empty(gpu, dtype, shape)?;
        let mut enc = gpu.device().create_command_encoder(&Default::default());
        enc.clear_buffer(t.buffer(), 0, None);
        gpu.queue().submit([enc.finish()]);
        Ok(t)
    }

    /// Upload host data; `data.len()` must equal the shape's element count.
    pub fn from_slice<T: Element>(gpu: &Gpu, shape: &[usize], data: &[T]) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::shape(format!(
                "upload of {} values into shape {shape:?} ({n} elements)",
                data.len()
            )));
        }
        let t = Self::empty(gpu, T::DTYPE, shape)?;
        t.write(gpu, data)?;
        Ok(t)
    }

    /// Overwrite the whole tensor from host data (queued before the next submission).
    pub fn write<T: Element>(&self, gpu: &Gpu, data: &[T]) -> Result<()> {
        if T::DTYPE != self.dtype || data.len() != self.numel() {
            return Err(Error::shape(format!(
                "write of {} {:?} values into {self:?}",
                data.len(),
                T::DTYPE
            )));
        }
        let bytes: &[u8] = bytemuck::cast_slice(data);
        if bytes.len().is_multiple_of(4) {
            gpu.queue().write_buffer(self.buffer(), 0, bytes);
        } else {
            let mut padded = bytes.to_vec();
            padded.resize(bytes.len().div_ceil(4) * 4, 0);
            gpu.queue().write_buffer(self.buffer(), 0, &padded);
        }
        Ok(())
    }

    /// Read the tensor back (submits a copy and waits).
    pub fn to_vec<T: Element>(&self, gpu: &Gpu) -> Result<Vec<T>> {
        if T::DTYPE != self.dtype {
            return Err(Error::shape(format!(
                "download of {self:?} as {:?}",
                T::DTYPE
            )));
        }
        let bytes = super::readback::read_bytes(gpu, self.buffer(), self.byte_len())?;
        let n = self.numel();
        let mut out = vec![T::zeroed(); n];
        bytemuck::cast_slice_mut::<T, u8>(&mut out)
            .copy_from_slice(&bytes[..n * std::mem::size_of::<T>()]);
        Ok(out)
    }

    /// The same buffer seen with another shape of equal element count.
    pub fn reshape(&self, shape: &[usize]) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != self.numel() {
            return Err(Error::shape(format!("reshape {self:?} to {shape:?}")));
        }
        Ok(Tensor {
            buf: self.buf.clone(),
            dtype: self.dtype,
            shape: shape.to_vec(),
        })
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    /// Bytes holding the elements (whole words).
    pub fn byte_len(&self) -> u64 {
        self.dtype.bytes_for(self.numel())
    }
    pub fn buffer(&self) -> &wgpu::Buffer {
        self.buf.buffer()
    }
    pub(crate) fn pooled(&self) -> &Arc<PooledBuffer> {
        &self.buf
    }
    /// Error unless the tensor has this dtype and shape.
    pub fn check_shape(&self, what: &str, dtype: DType, shape: &[usize]) -> Result<()> {
        if self.dtype != dtype || self.shape != shape {
            return Err(Error::shape(format!(
                "{what}: expected {dtype:?} {shape:?}, got {self:?}"
            )));
        }
        Ok(())
    }
}
