//! The register-blocked bitwise convolution (shaders/_bconv_block.wgsl, with the epilogues of
//! bconv_blocked.wgsl and bconv_residual.wgsl): each invocation computes 4 neighbouring
//! output pixels x `4 qv` output channels (a channel group). Weights (and scales, thresholds
//! or residual threshold rows) of a range of groups are first staged into 64 KiB uniform
//! buffers by shaders/bconv_stage.wgsl; when all groups do not fit, the convolution runs as
//! several dispatches over ranges ("chunks") of groups.

use super::{output_tensor, Output, Residual};
use crate::error::Result;
use crate::gpu::{grid, grid_for, Arg, DType, Gpu, Kernel, Recorder, Tensor};
use crate::ops::layout::{words_for, ConvGeom};
use crate::ops::threshold::{levels, Thresholds};

/// u32 words of one staged uniform buffer (64 KiB, the size the kernel declares).
const STAGE_WORDS: usize = 16384;
/// Output pixels per invocation (PB in the kernel).
const PIXELS: usize = 4;
/// Invocations per workgroup.
const WG: usize = 64;

/// How the blocked kernel covers one convolution.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plan {
    geom: ConvGeom,
    bits: u32,
    /// vec4 channel blocks per invocation: a group has `4 qv` channels.
    qv: usize,
    /// Channel groups in all: ceil(O / 4 qv).
    groups: usize,
    /// Groups staged and computed per dispatch.
    groups_per_chunk: usize,
    /// The kernel's DEFER mode (deferred byte sums for narrow 2-bit inputs).
    defer: u32,
}

impl Plan {
    /// The plan, or `None` when even one channel group's staging does not fit a uniform buffer.
    pub(super) fn new(
        gpu: &Gpu,
        geom: &ConvGeom,
        bits: u32,
        out: Output,
        widest_block: usize,
    ) -> Option<Plan> {
        // The kernel binds 64 KiB uniform buffers and reads the input as vec4 (16 bytes at least).
        let input_words = geom.n * geom.h * geom.w * bits as usize * words_for(geom.c);
        if (gpu.limits().max_uniform_buffer_binding_size as usize) < STAGE_WORDS * 4
            || input_words < 4
        {
            return None;
        }
        let taps = geom.kh * geom.kw;
        let cw = words_for(geom.c);
        // Largest block first: all channels (up to 64) in one group, then smaller groups.
        // Block widths are powers of two so that few pipeline variants exist.
        let widest = geom.o.div_ceil(4).next_power_of_two().min(widest_block);
        [16, 8, 4, 2, 1]
            .into_iter()
            .filter(|&qv| qv <= widest)
            .find_map(|qv| {
                let qb = 4 * qv;
                let groups = geom.o.div_ceil(qb);
                // Packed output words must not be shared by two groups.
                let packed = matches!(out, Output::Threshold(_) | Output::Residual(_));
                if packed && groups > 1 && qb % 32 != 0 {
                    return None;
                }
                let weight_words = taps * cw * qb;
                let aux_words = match out {
                    Output::I32 => 0,
                    Output::Scaled(_) => qb,
                    Output::Threshold(th) => qb << th.bits,
                    // A row of 2^bits words per (channel, shortcut code).
                    Output::Residual(r) => qb << (2 * r.bits),
                };
                let per_chunk = (STAGE_WORDS / weight_words)
                    .min(STAGE_WORDS.checked_div(aux_words).unwrap_or(usize::MAX));
                (per_chunk > 0).then_some(Plan {
                    geom: *geom,
                    bits,
                    qv,
                    groups,
                    groups_per_chunk: per_chunk.min(groups),
                    defer: deferred_mode(gpu, geom, bits),
                })
            })
    }
}

/// The widest channel block (vec4 blocks per invocation, QV) a plan may use: 16 (64
/// channels), or 8 on software adapters unless `wide`. On lavapipe 16 blocks compiled twice
/// as long as 8 (2.4 s against 1.1 s for ResNet-20's 64-channel layer, a large part of a
/// cold start) and ran no faster: 64 vec4 accumulators spill either way.
pub(super) fn widest_block(gpu: &Gpu, wide: bool) -> usize {
    if gpu.is_software() && !wide {
        8
    } else {
        16
    }
}

/// DEFER of shaders/_bconv_block.wgsl: 2-bit inputs of one word per plane keep per-tap byte
/// counts, which must stay below 256: 8 per tap with both planes in one word (at most 16
/// channels), 24 per tap otherwise. Only on software adapters, where `countOneBits` is
/// emulated (it halved the time of ResNet-20's 16- and 32-channel layers on lavapipe); GPUs
/// with a native popcount keep the plain sums.
fn deferred_mode(gpu: &Gpu, geom: &ConvGeom, bits: u32) -> u32 {
    let taps = geom.kh * geom.kw;
    if !gpu.is_software() {
        return 0;
    }
    match (bits, words_for(geom.c)) {
        (2, 1) if geom.c <= 16 && taps <= 31 => 1,
        (2, 1) if taps <= 10 => 2,
        _ => 0,
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    pad: u32,
    o: u32,
    xblocks: u32,
    blocks: u32,
    wg_per_group: u32,
    o_base: u32,
    ow: u32,
    groups: u32,
    kh: u32,
    _pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct StageParams {
    total: u32,
    o: u32,
    o_base: u32,
    qb: u32,
    taps: u32,
    cw: u32,
    levels: u32,
    _pad: u32,
}

pub(super) fn forward(
    rec: &mut Recorder,
    plan: &Plan,
    x: &Tensor,
    w: &Tensor,
    out: Output,
) -> Result<Tensor> {
    let g = &plan.geom;
    let y = output_tensor(rec, g, out)?;
    let qb = 4 * plan.qv;
    let xblocks = g.wo().div_ceil(PIXELS);
    let blocks = g.n * g.ho() * xblocks;
    let wg_per_group = blocks.div_ceil(WG);
    let mut constants = vec![
        ("CW", words_for(g.c) as f64),
        ("BITS", plan.bits as f64),
        ("KW", g.kw as f64),
        ("STRIDE", g.stride as f64),
        ("QV", plan.qv as f64),
        ("DEFER", plan.defer as f64),
    ];
    let (shader, entry) = match out {
        Output::I32 => ("bconv_blocked", "forward_i32"),
        Output::Scaled(_) => ("bconv_blocked", "forward_scaled"),
        Output::Threshold(th) => {
            constants.push(("KOUT", th.bits as f64));
            ("bconv_blocked", "forward_threshold")
        }
        Output::Residual(r) => {
            constants.push(("KOUT", r.bits as f64));
            constants.push(("RSTRIDE", r.stride as f64));
            ("bconv_residual", "forward_residual")
        }
    };
    // The shortcut's shape (residual output only).
    let shortcut = match out {
        Output::Residual(r) => {
            let s = r.input.shape();
            [s[1], s[2], r.cin, s[4]].map(|v| v as u32)
        }
        _ => [0; 4],
    };
    let mut first = 0;
    while first < plan.groups {
        let groups = plan.groups_per_chunk.min(plan.groups - first);
        let o_base = first * qb;
        let staged_w = stage(rec, plan, Stage::Weights(w), o_base, groups)?;
        let aux = match out {
            Output::I32 => None,
            Output::Scaled(scale) => {
                Some(stage(rec, plan, Stage::Channels(scale), o_base, groups)?)
            }
            Output::Threshold(th) => Some(stage(rec, plan, Stage::Thresholds(th), o_base, groups)?),
            Output::Residual(r) => Some(stage(rec, plan, Stage::Residual(r), o_base, groups)?),
        };
        let p = Params {
            h: g.h as u32,
            w: g.w as u32,
            ho: g.ho() as u32,
            wo: g.wo() as u32,
            pad: g.pad as u32,
            o: g.o as u32,
            xblocks: xblocks as u32,
            blocks: blocks as u32,
            wg_per_group: wg_per_group as u32,
            o_base: o_base as u32,
            ow: words_for(g.o) as u32,
            groups: groups as u32,
            kh: g.kh as u32,
            _pad: [0; 3],
        };
        let mut args = vec![
            Arg::Params(bytemuck::bytes_of(&p)),
            Arg::T(x),
            Arg::T(x),
            Arg::Uniform(&staged_w),
            Arg::T(&y),
        ];
        if let Some(aux) = &aux {
            args.push(Arg::Uniform(aux));
        }
        if let Output::Residual(r) = out {
            args.push(Arg::T(r.input));
            args.push(Arg::Params(bytemuck::cast_slice(&shortcut)));
        }
        rec.dispatch(
            &Kernel::new(shader, entry).with(&constants),
            &args,
            grid(rec.gpu(), (groups * wg_per_group) as u32),
        )?;
        first += groups;
    }
    Ok(y)
}

/// What a staging dispatch copies.
enum Stage<'a> {
    Weights(&'a Tensor),
    Channels(&'a Tensor),
    Thresholds(&'a Thresholds),
    Residual(Residual<'a>),
}

/// Stage the data of `groups` channel groups from channel `o_base` into a fresh 64 KiB
/// buffer, in the order the blocked kernel reads it.
fn stage(
    rec: &mut Recorder,
    plan: &Plan,
    what: Stage,
    o_base: usize,
    groups: usize,
) -> Result<Tensor> {
    let g = &plan.geom;
    let (taps, cw) = (g.kh * g.kw, words_for(g.c));
    let channels = groups * 4 * plan.qv;
    let (entry, words, levels, src): (_, _, _, Vec<&Tensor>) = match what {
        Stage::Weights(w) => ("stage_weights", channels * taps * cw, 0, vec![w]),
        Stage::Channels(t) => ("stage_channels", channels, 0, vec![t]),
        Stage::Thresholds(th) => (
            "stage_thresholds",
            channels << th.bits,
            levels(th.bits),
            vec![&th.values, &th.flags],
        ),
        Stage::Residual(r) => (
            "stage_residual",
            channels << (2 * r.bits),
            levels(r.bits),
            vec![r.thresholds, r.flags],
        ),
    };
    let p = StageParams {
        total: words as u32,
        o: g.o as u32,
        o_base: o_base as u32,
        qb: (4 * plan.qv) as u32,
        taps: taps as u32,
        cw: cw as u32,
        levels: levels as u32,
        _pad: 0,
    };
    let dst = Tensor::empty(rec.gpu(), DType::Bits, &[STAGE_WORDS])?;
    let mut args = vec![Arg::Params(bytemuck::bytes_of(&p))];
    args.extend(src.into_iter().map(Arg::T));
    args.push(Arg::T(&dst));
    rec.dispatch(
        &Kernel::new("bconv_stage", entry),
        &args,
        grid_for(rec.gpu(), words, 64),
    )?;
    Ok(dst)
}
