//! Recording a step: many dispatches into one command encoder, one submit.
//!
//! Each dispatch binds its arguments in order as `@group(0) @binding(0..)`. Small parameter
//! blocks (shapes, scalars) are packed into one uniform buffer per step at aligned offsets
//! and uploaded once at submit; tensors are bound as storage buffers (or as a uniform, for
//! small tables that kernels read at the same address on every lane).

use super::context::Gpu;
use super::pool::PooledBuffer;
use super::registry::Kernel;
use super::tensor::Tensor;
use super::timing::{PassTimes, Timestamps};
use crate::error::{Error, Result};
use std::sync::Arc;
use std::time::Instant;

/// Bytes per parameter block (one uniform buffer); blocks are filled then chained.
const PARAM_BLOCK: u64 = 64 * 1024;

/// One binding of a dispatch.
pub enum Arg<'a> {
    /// A tensor bound as a storage buffer (read or read_write, as the shader declares).
    T(&'a Tensor),
    /// A tensor bound as a uniform buffer (must fit the adapter's uniform binding limit).
    Uniform(&'a Tensor),
    /// `size` bytes of a tensor from byte `offset` bound as a uniform buffer (`offset` a
    /// multiple of the adapter's uniform offset alignment, `size` within its binding limit).
    UniformRange(&'a Tensor, u64, u64),
    /// A small parameter block copied into the step's uniform arena.
    Params(&'a [u8]),
    /// A texture read with `textureLoad` (from [`Recorder::texture_of`]).
    Texture(&'a wgpu::TextureView),
}

/// Workgroup counts for `n` workgroups in one dimension, folded into x and y so that no
/// dimension exceeds the adapter limit. Kernels recover the linear workgroup index as
/// `wid.x + wid.y * nwg.x` and must guard against the round-up.
pub fn grid(gpu: &Gpu, n: u32) -> [u32; 3] {
    let max = gpu.limits().max_compute_workgroups_per_dimension.max(1);
    if n <= max {
        [n.max(1), 1, 1]
    } else {
        [max, n.div_ceil(max), 1]
    }
}

/// Workgroups of `wg` invocations needed for `n` items.
pub fn grid_for(gpu: &Gpu, n: usize, wg: u32) -> [u32; 3] {
    grid(gpu, (n as u64).div_ceil(wg as u64) as u32)
}

pub struct Recorder<'g> {
    gpu: &'g Gpu,
    encoder: wgpu::CommandEncoder,
    keep: Vec<Arc<PooledBuffer>>,
    blocks: Vec<(Arc<PooledBuffer>, Vec<u8>)>,
    align: u64,
    timestamps: Option<Timestamps>,
    /// (shader, entry point) of each dispatch, for the timing report.
    labels: Vec<(&'static str, &'static str)>,
    dispatches: usize,
}

impl<'g> Recorder<'g> {
    pub fn new(gpu: &'g Gpu) -> Self {
        let encoder = gpu.device().create_command_encoder(&Default::default());
        let align = gpu.limits().min_uniform_buffer_offset_alignment.max(16) as u64;
        Recorder {
            gpu,
            encoder,
            keep: Vec::new(),
            blocks: Vec::new(),
            align,
            timestamps: None,
            labels: Vec::new(),
            dispatches: 0,
        }
    }

    /// Record GPU timestamps around up to `max_passes` dispatches, where the adapter can.
    pub fn with_timing(mut self, max_passes: u32) -> Self {
        if self.gpu.features().timestamp_query {
            self.timestamps = Some(Timestamps::new(self.gpu, max_passes));
        }
        self
    }

    /// Record GPU timestamps around dispatches `first .. first + max_passes` only (profiling
    /// work of more dispatches than one query set holds, one window per run); the times
    /// returned by [`Recorder::submit_timed`] cover that window.
    pub fn with_timing_window(mut self, first: usize, max_passes: u32) -> Self {
        if self.gpu.features().timestamp_query {
            self.timestamps = Some(Timestamps::new(self.gpu, max_passes).starting_at(first));
        }
        self
    }

    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// Number of dispatches recorded so far.
    pub fn dispatch_count(&self) -> usize {
        self.dispatches
    }

    /// Reserve an aligned slot for a parameter block: (block index, offset, size).
    fn param_slot(&mut self, bytes: &[u8]) -> Result<(usize, u64, u64)> {
        let size = (bytes.len() as u64).max(16).div_ceil(16) * 16;
        let need_new = match self.blocks.last() {
            Some((_, data)) => {
                (data.len() as u64).div_ceil(self.align) * self.align + size > PARAM_BLOCK
            }
            None => true,
        };
        if need_new {
            let buf = self.gpu.pool().get(
                PARAM_BLOCK,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                || "a block of kernel parameters".into(),
            )?;
            self.blocks.push((buf, Vec::new()));
        }
        let align = self.align;
        let index = self.blocks.len() - 1;
        let data = &mut self.blocks[index].1;
        let offset = (data.len() as u64).div_ceil(align) * align;
        data.resize(offset as usize, 0);
        data.extend_from_slice(bytes);
        data.resize((offset + size) as usize, 0);
        Ok((index, offset, size))
    }

    /// Record one compute dispatch.
    pub fn dispatch(&mut self, kernel: &Kernel, args: &[Arg], groups: [u32; 3]) -> Result<()> {
        let created_before = self.gpu.registry().pipeline_count();
        let pipeline = self.gpu.registry().pipeline(kernel)?;
        if self.gpu.registry().pipeline_count() > created_before {
            self.flush_for_compilation();
        }
        let mut params = Vec::new();
        for a in args {
            match a {
                Arg::T(t) | Arg::Uniform(t) | Arg::UniformRange(t, ..) => {
                    self.keep.push(t.pooled().clone())
                }
                Arg::Params(p) => params.push(self.param_slot(p)?),
                Arg::Texture(_) => {}
            }
        }
        let mut params = params.into_iter();
        let entries: Vec<wgpu::BindGroupEntry> = args
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let resource = match a {
                    Arg::T(t) | Arg::Uniform(t) => {
                        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: t.buffer(),
                            offset: 0,
                            size: std::num::NonZeroU64::new(t.byte_len().max(4)),
                        })
                    }
                    Arg::UniformRange(t, offset, size) => {
                        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: t.buffer(),
                            offset: *offset,
                            size: std::num::NonZeroU64::new(*size),
                        })
                    }
                    Arg::Texture(view) => wgpu::BindingResource::TextureView(view),
                    Arg::Params(_) => {
                        let (block, offset, size) = params.next().expect("one slot per Params");
                        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: self.blocks[block].0.buffer(),
                            offset,
                            size: std::num::NonZeroU64::new(size),
                        })
                    }
                };
                wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource,
                }
            })
            .collect();
        let scope = self
            .gpu
            .device()
            .push_error_scope(wgpu::ErrorFilter::Validation);
        let bind_group = self
            .gpu
            .device()
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(kernel.entry),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!(
                "binding {}::{}: {e}",
                kernel.shader, kernel.entry
            )));
        }
        let timestamp_writes = self
            .timestamps
            .as_ref()
            .and_then(|t| t.writes(self.labels.len()));
        {
            let mut pass = self
                .encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(kernel.entry),
                    timestamp_writes,
                });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        }
        log::trace!(
            "dispatch {} {}",
            self.dispatches,
            crate::gpu::registry::kernel_line(kernel)
        );
        self.labels.push((kernel.shader, kernel.entry));
        self.dispatches += 1;
        Ok(())
    }

    /// Copy all of `src` into `dst` (same byte length).
    pub fn copy(&mut self, src: &Tensor, dst: &Tensor) -> Result<()> {
        if src.byte_len() != dst.byte_len() {
            return Err(Error::shape(format!("copy {src:?} -> {dst:?}")));
        }
        self.keep.push(src.pooled().clone());
        self.keep.push(dst.pooled().clone());
        self.encoder
            .copy_buffer_to_buffer(src.buffer(), 0, dst.buffer(), 0, src.byte_len());
        Ok(())
    }

    /// Copy `words` u32 words from `src` at word `src_word` to `dst` at word `dst_word`
    /// (any dtypes: a raw copy of 4-byte elements).
    pub fn copy_words(
        &mut self,
        src: &Tensor,
        src_word: usize,
        dst: &Tensor,
        dst_word: usize,
        words: usize,
    ) -> Result<()> {
        let (so, d_o, len) = (src_word as u64 * 4, dst_word as u64 * 4, words as u64 * 4);
        if so + len > src.byte_len() || d_o + len > dst.byte_len() {
            return Err(Error::shape(format!(
                "copy of {words} words out of range: {src:?} -> {dst:?}"
            )));
        }
        self.keep.push(src.pooled().clone());
        self.keep.push(dst.pooled().clone());
        self.encoder
            .copy_buffer_to_buffer(src.buffer(), so, dst.buffer(), d_o, len);
        Ok(())
    }

    /// A copy of `t` as a 2-D `rgba32uint` texture of `width` x `height` texels (16 bytes
    /// each; texel (x, r) holds bytes `(r * width + x) * 16 ..` of `t`), for kernels that
    /// read with `textureLoad`. Needs `width * 16` to be a multiple of 256 (the row pitch
    /// of buffer-to-texture copies), both sizes within the adapter's 2-D texture limit and
    /// `t` at least `width * height * 16` bytes.
    pub fn texture_of(&mut self, t: &Tensor, width: u32, height: u32) -> Result<wgpu::TextureView> {
        let max = self.gpu.limits().max_texture_dimension_2d;
        let pitch = width as u64 * 16;
        if width == 0
            || height == 0
            || width > max
            || height > max
            || !pitch.is_multiple_of(256)
            || pitch * height as u64 > t.byte_len()
        {
            return Err(Error::shape(format!(
                "texture of {width} x {height} texels from {t:?} (limit {max}, row pitch a \
                 multiple of 256 bytes)"
            )));
        }
        let size = wgpu::Extent3d {
            width,
            height,
            depth_or_array_layers: 1,
        };
        let texture = self.gpu.device().create_texture(&wgpu::TextureDescriptor {
            label: Some("tensor texture"),
            size,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Uint,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        self.keep.push(t.pooled().clone());
        self.encoder.copy_buffer_to_texture(
            wgpu::TexelCopyBufferInfo {
                buffer: t.buffer(),
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(pitch as u32),
                    rows_per_image: None,
                },
            },
            texture.as_image_copy(),
            size,
        );
        Ok(texture.create_view(&Default::default()))
    }

    /// Set every bit of `t` to zero.
    pub fn zero(&mut self, t: &Tensor) {
        self.keep.push(t.pooled().clone());
        self.encoder.clear_buffer(t.buffer(), 0, Some(t.byte_len()));
    }

    /// Submit the work recorded so far when a new pipeline is about to be used, on software
    /// adapters and untimed recorders only. Such adapters compile a pipeline's shader when
    /// its first dispatch runs, on the queue's thread: submitting early lets that thread
    /// compile the kernels recorded so far while this one creates the next pipelines (about
    /// 2 s of a cold first training step on lavapipe). Order is unchanged: submissions run in
    /// order, and the parameter blocks written so far are uploaded before them.
    fn flush_for_compilation(&mut self) {
        if self.timestamps.is_some() || self.dispatches == 0 || !self.gpu.is_software() {
            return;
        }
        let encoder = self
            .gpu
            .device()
            .create_command_encoder(&Default::default());
        let encoder = std::mem::replace(&mut self.encoder, encoder);
        for (buf, data) in &self.blocks {
            self.gpu.queue().write_buffer(buf.buffer(), 0, data);
        }
        self.gpu.queue().submit([encoder.finish()]);
        self.keep.clear();
        self.blocks.clear();
    }

    /// The command buffers, timestamps and labels, plus every buffer the commands use: the
    /// caller drops those only after submitting, so that the pool cannot hand one to another
    /// thread (whose queued writes would land before these commands run) in between.
    #[allow(clippy::type_complexity)]
    fn finish(
        mut self,
    ) -> (
        Vec<wgpu::CommandBuffer>,
        Option<Timestamps>,
        Vec<(&'static str, &'static str)>,
        Vec<Arc<PooledBuffer>>,
    ) {
        for (buf, data) in &self.blocks {
            self.gpu.queue().write_buffer(buf.buffer(), 0, data);
        }
        if let Some(t) = &self.timestamps {
            t.resolve(&mut self.encoder, self.labels.len());
        }
        let mut held = self.keep;
        held.extend(self.blocks.into_iter().map(|(buf, _)| buf));
        (
            vec![self.encoder.finish()],
            self.timestamps,
            self.labels,
            held,
        )
    }

    /// Submit the recorded work (does not wait).
    pub fn submit(self) {
        let gpu = self.gpu;
        let (cmds, _, _, held) = self.finish();
        gpu.queue().submit(cmds);
        drop(held);
    }

    /// Submit, wait, and time the work: GPU timestamps per dispatch where the adapter has
    /// them, otherwise the wall time of submit + wait.
    pub fn submit_timed(self) -> Result<PassTimes> {
        let gpu = self.gpu;
        let (cmds, ts, labels, held) = self.finish();
        let start = Instant::now();
        gpu.queue().submit(cmds);
        drop(held);
        gpu.wait()?;
        let wall = start.elapsed().as_secs_f64();
        match ts {
            Some(ts) => ts.read(gpu, &labels, wall),
            None => Ok(PassTimes::wall_only(wall)),
        }
    }
}
