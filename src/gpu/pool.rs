//! A buffer pool: training steps allocate the same sizes every step, so buffers freed by
//! one step are handed to the next instead of being created anew.
//!
//! A buffer returns to the pool when the last [`PooledBuffer`] handle drops. A
//! [`super::Recorder`] holds a handle to every buffer it binds until its commands are
//! submitted, so a buffer is never handed out again while unsubmitted work still uses it;
//! after submission, queue ordering makes reuse safe.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Sizes are rounded up to this many bytes so that near-equal requests share buffers.
const GRANULE: u64 = 256;

type Key = (u64, wgpu::BufferUsages);

#[derive(Default)]
struct Shared {
    free: Mutex<HashMap<Key, Vec<wgpu::Buffer>>>,
    created: AtomicU64,
    reused: AtomicU64,
    bytes_created: AtomicU64,
}

/// Counters for tests and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    pub created: u64,
    pub reused: u64,
    pub bytes_created: u64,
    pub idle_buffers: u64,
}

pub struct BufferPool {
    device: wgpu::Device,
    shared: Arc<Shared>,
}

/// A buffer on loan from the pool.
pub struct PooledBuffer {
    buffer: Option<wgpu::Buffer>,
    key: Key,
    home: std::sync::Weak<Shared>,
}

impl PooledBuffer {
    pub fn buffer(&self) -> &wgpu::Buffer {
        self.buffer.as_ref().expect("buffer present until drop")
    }
    /// Size of the underlying allocation (a multiple of 256 bytes, at least the request).
    pub fn capacity(&self) -> u64 {
        self.key.0
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        if let (Some(buf), Some(home)) = (self.buffer.take(), self.home.upgrade()) {
            home.free
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(self.key)
                .or_default()
                .push(buf);
        }
    }
}

impl BufferPool {
    pub fn new(device: wgpu::Device) -> Self {
        Self {
            device,
            shared: Arc::new(Shared::default()),
        }
    }

    /// A buffer of at least `size` bytes with exactly `usage`, for `what` (named in the
    /// error when the device is out of memory).
    ///
    /// A new buffer is created inside an out-of-memory error scope: wgpu would otherwise
    /// hand back an invalid buffer and report the failure later, as a confusing binding
    /// error at the first dispatch that uses it.
    pub fn get(
        &self,
        size: u64,
        usage: wgpu::BufferUsages,
        what: impl FnOnce() -> String,
    ) -> Result<Arc<PooledBuffer>> {
        let size = size.max(4).div_ceil(GRANULE) * GRANULE;
        let key = (size, usage);
        let found = self
            .shared
            .free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&key)
            .and_then(|v| v.pop());
        let buffer = match found {
            Some(b) => {
                self.shared.reused.fetch_add(1, Ordering::Relaxed);
                b
            }
            None => {
                let scope = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
                let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("pixembed pooled"),
                    size,
                    usage,
                    mapped_at_creation: false,
                });
                if pollster::block_on(scope.pop()).is_some() {
                    // Idle buffers hold memory too: free them for the caller's next try.
                    self.trim();
                    return Err(Error::OutOfMemory {
                        what: what(),
                        bytes: size,
                        allocated: self.shared.bytes_created.load(Ordering::Relaxed),
                    });
                }
                self.shared.created.fetch_add(1, Ordering::Relaxed);
                self.shared.bytes_created.fetch_add(size, Ordering::Relaxed);
                buffer
            }
        };
        Ok(Arc::new(PooledBuffer {
            buffer: Some(buffer),
            key,
            home: Arc::downgrade(&self.shared),
        }))
    }

    pub fn stats(&self) -> PoolStats {
        let idle = self
            .shared
            .free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|v| v.len() as u64)
            .sum();
        PoolStats {
            created: self.shared.created.load(Ordering::Relaxed),
            reused: self.shared.reused.load(Ordering::Relaxed),
            bytes_created: self.shared.bytes_created.load(Ordering::Relaxed),
            idle_buffers: idle,
        }
    }

    /// Destroy every idle buffer (e.g. between benchmark shapes).
    pub fn trim(&self) {
        self.shared
            .free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
