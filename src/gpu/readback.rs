//! Reading GPU buffers back to the host.

use super::context::Gpu;
use crate::error::{Error, Result};

/// Copy `len` bytes of `src` into a mappable buffer, submit, wait and return them.
pub fn read_bytes(gpu: &Gpu, src: &wgpu::Buffer, len: u64) -> Result<Vec<u8>> {
    let len = len.max(4);
    let staging = gpu.pool().get(
        len,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        || "a readback buffer".into(),
    )?;
    let mut enc = gpu.device().create_command_encoder(&Default::default());
    enc.copy_buffer_to_buffer(src, 0, staging.buffer(), 0, len);
    gpu.queue().submit([enc.finish()]);
    map_read(gpu, staging.buffer(), len)
}

/// Map an already-filled MAP_READ buffer and copy out its first `len` bytes.
pub fn map_read(gpu: &Gpu, buffer: &wgpu::Buffer, len: u64) -> Result<Vec<u8>> {
    let slice = buffer.slice(..len);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    gpu.wait()?;
    rx.recv()
        .map_err(|_| Error::Gpu("buffer mapping was dropped".into()))?
        .map_err(|e| Error::Gpu(format!("buffer mapping failed: {e}")))?;
    let out = {
        let view = buffer
            .slice(..len)
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("mapped range: {e}")))?;
        view.to_vec()
    };
    buffer.unmap();
    Ok(out)
}
