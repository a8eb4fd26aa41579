//! The GPU context: one device and queue, the features kernels may use, the shader
//! registry with its pipeline cache, and the buffer pool.

use super::adapter::{self, AdapterRequest, AdapterSummary, LimitsMode};
use super::pool::BufferPool;
use super::registry::Registry;
use crate::error::{Error, Result};
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// Optional features found on the adapter and enabled on the device. Kernels that can
/// use one keep a fallback for adapters without it.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct GpuFeatures {
    pub timestamp_query: bool,
    pub subgroups: bool,
    pub shader_f16: bool,
}

/// The device limits that matter to pixembed, as requested from the adapter.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct KeyLimits {
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub max_uniform_buffer_binding_size: u64,
    pub max_storage_buffers_per_shader_stage: u32,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_storage_size: u32,
    pub min_uniform_buffer_offset_alignment: u32,
}

struct Inner {
    adapter: wgpu::Adapter,
    device: wgpu::Device,
    queue: wgpu::Queue,
    summary: AdapterSummary,
    reason: String,
    features: GpuFeatures,
    limits: wgpu::Limits,
    limits_mode: LimitsMode,
    registry: Registry,
    pool: BufferPool,
    /// Errors raised outside an error scope (see [`Gpu::wait`]).
    uncaptured: Arc<Mutex<Vec<String>>>,
}

/// Cheap to clone; all clones share one device.
#[derive(Clone)]
pub struct Gpu(Arc<Inner>);

impl Gpu {
    /// Open the adapter the request selects, with the adapter's own limits (or only the
    /// WebGPU baseline, see [`LimitsMode`]) and the optional features it offers.
    pub fn new(req: &AdapterRequest) -> Result<Self> {
        let limits_mode = req.limits_mode()?;
        let instance = adapter::instance_for(req)?;
        let (adapter, reason) = adapter::select(&instance, req)?;
        let info = adapter.get_info();
        let offered = adapter.features();
        let mut wanted = wgpu::Features::empty();
        for f in [
            wgpu::Features::TIMESTAMP_QUERY,
            wgpu::Features::SUBGROUP,
            wgpu::Features::SHADER_F16,
        ] {
            if offered.contains(f) {
                wanted |= f;
            }
        }
        let limits = limits_mode.limits(&adapter.limits());
        let mut desc = wgpu::DeviceDescriptor {
            label: Some("pixembed"),
            required_features: wanted,
            required_limits: limits.clone(),
            ..Default::default()
        };
        desc.memory_hints = wgpu::MemoryHints::Performance;
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))?;
        if limits_mode != LimitsMode::Adapter {
            log::info!("limits: {limits_mode:?} (the adapter offers more)");
        }
        let features = GpuFeatures {
            timestamp_query: wanted.contains(wgpu::Features::TIMESTAMP_QUERY),
            subgroups: wanted.contains(wgpu::Features::SUBGROUP),
            shader_f16: wanted.contains(wgpu::Features::SHADER_F16),
        };
        log::info!("GPU: {} [{reason}]", AdapterSummary::of(&info));
        // wgpu's default handler panics on an error raised outside an error scope. Every
        // pipeline and bind group is created inside one, but a device or queue error elsewhere
        // (a bad buffer, a lost device) must reach the caller as an error, not a panic: keep it
        // here and report it from the next `wait`.
        let uncaptured = Arc::new(Mutex::new(Vec::new()));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            log::error!("GPU error: {e}");
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let pool = BufferPool::new(device.clone());
        Ok(Gpu(Arc::new(Inner {
            summary: AdapterSummary::of(&info),
            adapter,
            registry: Registry::new(device.clone()),
            device,
            queue,
            reason,
            features,
            limits,
            limits_mode,
            pool,
            uncaptured,
        })))
    }

    pub fn device(&self) -> &wgpu::Device {
        &self.0.device
    }
    pub fn queue(&self) -> &wgpu::Queue {
        &self.0.queue
    }
    pub fn adapter(&self) -> &wgpu::Adapter {
        &self.0.adapter
    }
    pub fn summary(&self) -> &AdapterSummary {
        &self.0.summary
    }
    /// Why this adapter was selected.
    pub fn reason(&self) -> &str {
        &self.0.reason
    }
    pub fn features(&self) -> GpuFeatures {
        self.0.features
    }
    /// The limits the device was created with (what kernels may use).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.0.limits
    }
    /// Whether those are the adapter's own limits or the WebGPU baseline.
    pub fn limits_mode(&self) -> LimitsMode {
        self.0.limits_mode
    }
    pub(crate) fn registry(&self) -> &Registry {
        &self.0.registry
    }
    /// Number of compute pipelines created so far (the cache's size).
    pub fn registry_pipeline_count(&self) -> usize {
        self.0.registry.pipeline_count()
    }
    pub fn pool(&self) -> &BufferPool {
        &self.0.pool
    }
    /// A software rasterizer (lavapipe, SwiftShader, WARP).
    pub fn is_software(&self) -> bool {
        self.0.adapter.get_info().device_type == wgpu::DeviceType::Cpu
    }

    pub fn key_limits(&self) -> KeyLimits {
        let l = &self.0.limits;
        KeyLimits {
            max_buffer_size: l.max_buffer_size,
            max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
            max_uniform_buffer_binding_size: l.max_uniform_buffer_binding_size,
            max_storage_buffers_per_shader_stage: l.max_storage_buffers_per_shader_stage,
            max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
            max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
            max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
            min_uniform_buffer_offset_alignment: l.min_uniform_buffer_offset_alignment,
        }
    }

    /// Largest buffer a kernel can bind as storage.
    pub fn max_binding(&self) -> u64 {
        self.0
            .limits
            .max_storage_buffer_binding_size
            .min(self.0.limits.max_buffer_size)
    }

    /// Fail with a clear error if `bytes` cannot be bound as one storage buffer.
    pub fn check_fits(&self, what: &str, bytes: u64) -> Result<()> {
        let limit = self.max_binding();
        if bytes > limit {
            return Err(Error::TooLarge {
                what: what.to_string(),
                needed: bytes,
                limit,
            });
        }
        Ok(())
    }

    /// Block until all submitted work is done. Fails with the first GPU error raised since
    /// the last wait outside an error scope (validation, out of memory, device lost).
    pub fn wait(&self) -> Result<()> {
        self.0
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the GPU failed: {e}")))?;
        self.take_uncaptured_errors()
    }

    /// The errors raised outside an error scope since the last call, as one error.
    pub fn take_uncaptured_errors(&self) -> Result<()> {
        let errors = match self.0.uncaptured.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => return Err(Error::Gpu("the GPU error log is poisoned".into())),
        };
        match errors.first() {
            None => Ok(()),
            Some(first) => Err(Error::Gpu(format!(
                "{} GPU error(s); the first: {first}",
                errors.len()
            ))),
        }
    }
}
