//! The two kernels of the fused float first layer: the blocked one (weights and thresholds in
//! uniform buffers, one dispatch per channel group) and the general one (any shape).

use super::{FirstConv, GENERAL_MAX_C};
use crate::error::{Error, Result};
use crate::gpu::{grid, grid_for, Arg, Kernel, Recorder, Tensor};
use crate::ops::layout::{words_for, ConvGeom};
use crate::ops::threshold::levels;

impl FirstConv {
    pub(super) fn run_blocked(
        &self,
        rec: &mut Recorder,
        g: &ConvGeom,
        px: usize,
        pixels: &Tensor,
        out: &Tensor,
    ) -> Result<()> {
        let xblocks = g.wo().div_ceil(px);
        let blocks = g.n * g.ho() * xblocks;
        let mut mean = [0.0f32; 4];
        mean[..self.c].copy_from_slice(&self.mean_raw);
        for gr in &self.groups {
            let p = BlockedParams {
                h: g.h as u32,
                w: g.w as u32,
                ho: g.ho() as u32,
                wo: g.wo() as u32,
                pad: g.pad as u32,
                xblocks: xblocks as u32,
                blocks: blocks as u32,
                ow: words_for(self.o) as u32,
                word0: (gr.o0 / 32) as u32,
                channels: gr.count as u32,
                _pad: [0; 2],
                mean,
            };
            let constants = [
                ("C", self.c as f64),
                ("K", self.k as f64),
                ("S", self.stride as f64),
                ("KOUT", self.bits as f64),
                ("OB", gr.count as f64),
                ("PX", px as f64),
            ];
            rec.dispatch(
                &Kernel::new(blocked_shader(self.k)?, "forward").with(&constants),
                &[
                    Arg::Params(bytemuck::bytes_of(&p)),
                    Arg::T(pixels),
                    Arg::Uniform(&gr.weights),
                    Arg::Uniform(&gr.thresholds),
                    Arg::T(out),
                ],
                grid(rec.gpu(), blocks.div_ceil(64) as u32),
            )?;
        }
        Ok(())
    }

    pub(super) fn run_general(
        &self,
        rec: &mut Recorder,
        g: &ConvGeom,
        pixels: &Tensor,
        out: &Tensor,
    ) -> Result<()> {
        let (w, t) = self
            .general
            .as_ref()
            .ok_or_else(|| Error::Invalid("first conv: general plan without weights".into()))?;
        let ow = words_for(self.o);
        let total = g.n * g.ho() * g.wo() * ow;
        let mut mean = [[0.0f32; 4]; GENERAL_MAX_C / 4];
        for (i, &m) in self.mean_raw.iter().enumerate() {
            mean[i / 4][i % 4] = m;
        }
        let p = GeneralParams {
            h: g.h as u32,
            w: g.w as u32,
            ho: g.ho() as u32,
            wo: g.wo() as u32,
            c: self.c as u32,
            k: self.k as u32,
            stride: self.stride as u32,
            pad: g.pad as u32,
            o: self.o as u32,
            ow: ow as u32,
            bits: self.bits,
            levels: levels(self.bits) as u32,
            total: total as u32,
            _pad: [0; 3],
            mean,
        };
        rec.dispatch(
            &Kernel::new("first_conv_general", "forward"),
            &[
                Arg::Params(bytemuck::bytes_of(&p)),
                Arg::T(pixels),
                Arg::T(w),
                Arg::T(t),
                Arg::T(out),
            ],
            grid_for(rec.gpu(), total, 64),
        )
    }
}

/// The blocked kernel's shader for a k x k kernel (one file per size, see the shader).
fn blocked_shader(k: usize) -> Result<&'static str> {
    Ok(match k {
        1 => "first_conv_k1",
        3 => "first_conv_k3",
        5 => "first_conv_k5",
        7 => "first_conv_k7",
        _ => {
            return Err(Error::Invalid(format!(
                "first conv: no blocked kernel for {k}x{k}"
            )))
        }
    })
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct BlockedParams {
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    pad: u32,
    xblocks: u32,
    blocks: u32,
    ow: u32,
    word0: u32,
    channels: u32,
    _pad: [u32; 2],
    mean: [f32; 4],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GeneralParams {
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    c: u32,
    k: u32,
    stride: u32,
    pad: u32,
    o: u32,
    ow: u32,
    bits: u32,
    levels: u32,
    total: u32,
    _pad: [u32; 3],
    mean: [[f32; 4]; GENERAL_MAX_C / 4],
}
