//! GPU timing: timestamp queries around each compute pass where the adapter supports
//! them, wall-clock time of submit + wait otherwise.

use super::context::Gpu;
use crate::error::Result;
use serde::Serialize;

/// Times of one submission.
#[derive(Clone, Debug, Serialize)]
pub struct PassTimes {
    /// Seconds from submit to completion, measured on the host.
    pub wall_s: f64,
    /// Seconds from the first pass's start to the last pass's end (GPU clock), if timed.
    pub gpu_s: Option<f64>,
    /// Per dispatch: ("shader::entry point", seconds), if timed.
    pub passes: Vec<(String, f64)>,
}

impl PassTimes {
    pub fn wall_only(wall_s: f64) -> Self {
        PassTimes {
            wall_s,
            gpu_s: None,
            passes: Vec::new(),
        }
    }
    /// GPU time where measured, else wall time.
    pub fn best_s(&self) -> f64 {
        self.gpu_s.unwrap_or(self.wall_s)
    }
    pub fn source(&self) -> &'static str {
        if self.gpu_s.is_some() {
            "gpu-timestamps"
        } else {
            "wall-clock"
        }
    }
}

pub(crate) struct Timestamps {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    capacity: u32,
    /// Index of the first timed pass (passes before it and past first + capacity untimed).
    first: usize,
    /// Whether a partial window is wanted (set by `starting_at`).
    window: bool,
    period_ns: f64,
}

impl Timestamps {
    pub fn new(gpu: &Gpu, max_passes: u32) -> Self {
        // WebGPU caps a query set at 4096 queries: two per pass.
        let capacity = max_passes.clamp(1, 2048);
        let set = gpu.device().create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("pixembed timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: capacity * 2,
        });
        let resolve = gpu.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamp resolve"),
            size: capacity as u64 * 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Timestamps {
            set,
            resolve,
            capacity,
            first: 0,
            window: false,
            period_ns: gpu.queue().get_timestamp_period() as f64,
        }
    }

    /// Time passes `first ..` instead of `0 ..` (profiling work of more passes than one
    /// query set holds, one window per run).
    pub fn starting_at(mut self, first: usize) -> Self {
        self.first = first;
        self.window = true;
        self
    }

    pub fn writes(&self, pass: usize) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let pass = pass.checked_sub(self.first)?;
        (pass < self.capacity as usize).then(|| wgpu::ComputePassTimestampWrites {
            query_set: &self.set,
            beginning_of_pass_write_index: Some(2 * pass as u32),
            end_of_pass_write_index: Some(2 * pass as u32 + 1),
        })
    }

    pub fn resolve(&self, enc: &mut wgpu::CommandEncoder, passes: usize) {
        let n = (passes
            .saturating_sub(self.first)
            .min(self.capacity as usize)
            * 2) as u32;
        if n > 0 {
            enc.resolve_query_set(&self.set, 0..n, &self.resolve, 0);
        }
    }

    pub fn read(&self, gpu: &Gpu, labels: &[(&str, &str)], wall_s: f64) -> Result<PassTimes> {
        // More passes than query slots: a partial GPU span would understate the time (a
        // window starting past pass 0 is partial on purpose and reported as such).
        if labels.len() <= self.first || (!self.window && labels.len() > self.capacity as usize) {
            return Ok(PassTimes::wall_only(wall_s));
        }
        let labels = &labels[self.first..labels.len().min(self.first + self.capacity as usize)];
        let n = labels.len();
        let bytes = super::readback::read_bytes(gpu, &self.resolve, n as u64 * 16)?;
        let ticks: &[u64] = bytemuck::cast_slice(&bytes);
        let s = |t: u64| t as f64 * self.period_ns * 1e-9;
        let passes = (0..n)
            .map(|i| {
                (
                    format!("{}::{}", labels[i].0, labels[i].1),
                    s(ticks[2 * i + 1].saturating_sub(ticks[2 * i])),
                )
            })
            .collect();
        let span = ticks[2 * n - 1].saturating_sub(ticks[0]);
        Ok(PassTimes {
            wall_s,
            gpu_s: Some(s(span)),
            passes,
        })
    }
}
