//! The fused float first layer: u8 pixels `[N, H, W, C]` -> per-channel normalisation ->
//! f32 convolution (odd K x K, stride 1 or 2, zero "same" padding) -> per-channel float
//! thresholds -> packed k-bit bit-planes `[N, Ho, Wo, k, ceil(O / 32)]` (the layout of
//! [`crate::ops::pack::quantize_pack`]), in one dispatch per group of 32 output channels.
//! Semantics: [`crate::reference::first_conv`]; kernels: shaders/first_conv_k*.wgsl and _first_conv.wgsl (fast,
//! weights in a uniform buffer) and shaders/first_conv_general.wgsl (any shape).
//!
//! Host folding (done once, in f64, rounded to f32): with `m_c = 255 mean_c` and the channel's
//! direction `s_o` (+1 increasing, -1 decreasing),
//!   `y = sum w (v / 255 - mean_c) / std_c = sum w / (255 std_c) (v - m_c)`,
//!   `w' = s_o w / (255 std_c)`, `t' = s_o t`, and the kernels compute
//!   `code = #{ j : sum w' (v - m_c) >= t'_j }`.
//! A constant channel (flag 0) gets zero weights and thresholds `-MAX` for the levels below
//! its code and `+MAX` above, so the same count yields the constant.

mod dispatch;
mod fold;

use crate::error::{Error, Result};
use crate::gpu::{DType, Gpu, Recorder, Tensor};
use crate::ops::layout::{words_for, ConvGeom};
use crate::ops::threshold::{check_bits, levels};

/// Floats of the fast kernel's weight uniform buffer (64 KiB, the size it declares).
const WEIGHT_FLOATS: usize = 16384;
/// Floats of its threshold uniform buffer: 16 slots for each of up to 64 channels.
const THRESHOLD_FLOATS: usize = 1024;
const THRESHOLD_SLOTS: usize = 16;
/// Largest kernel, input channel count and code width of the fast kernel.
const FAST_MAX_K: usize = 7;
const FAST_MAX_C: usize = 3;
const FAST_MAX_BITS: u32 = 4;
/// Floats of the fast kernel's local copy of the input rows it reads (K x segment x C).
const SEGMENT_FLOATS: usize = 448;
/// Input channels the general kernel's parameter block holds means for.
const GENERAL_MAX_C: usize = 256;

/// Floats of one channel's weights in the fast kernel's uniform buffer: its taps rounded up
/// to a whole vec4, so that every channel's weights start at a vec4 (TAPS4 in the kernel).
fn padded_taps(k: usize, c: usize) -> usize {
    (k * k * c).div_ceil(4) * 4
}

/// Float thresholds per output channel: `values` `[O, 2^bits - 1]` ascending, `flags` `[O]`
/// (1 increasing, -1 decreasing, 0 constant = `values[o][0]`), as in
/// [`crate::reference::first_conv::float_threshold_code`].
#[derive(Clone, Debug, PartialEq)]
pub struct FloatThresholds {
    pub bits: u32,
    pub values: Vec<f32>,
    pub flags: Vec<i32>,
}

impl FloatThresholds {
    pub fn new(bits: u32, values: Vec<f32>, flags: Vec<i32>) -> Result<Self> {
        check_bits("float threshold", bits)?;
        let o = flags.len();
        if o == 0 || values.len() != o * levels(bits) {
            return Err(Error::shape(format!(
                "float thresholds: {} values for {o} channels of {bits}-bit codes",
                values.len()
            )));
        }
        Ok(FloatThresholds {
            bits,
            values,
            flags,
        })
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.flags.len()
    }
}

/// Which kernel runs the layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstConvPlan {
    /// shaders/_first_conv.wgsl: `pixels` output pixels of a row (4, 8 or 16) x a group of up to
    /// `group` (32 or 64) channels per invocation, weights and thresholds in uniform buffers.
    Blocked { pixels: usize, group: usize },
    /// shaders/first_conv_general.wgsl: one output word per invocation, any shape.
    General,
}

/// What the layer computes: `c` input channels, `k x k` kernel, `stride`, normalisation
/// `mean`/`std` per input channel (applied to v / 255), weights `[O, k, k, c]`, thresholds.
#[derive(Clone, Copy, Debug)]
pub struct FirstConvSpec<'a> {
    pub c: usize,
    pub k: usize,
    pub stride: usize,
    pub mean: &'a [f32],
    pub std: &'a [f32],
    pub weights: &'a [f32],
    pub thresholds: &'a FloatThresholds,
}

/// One dispatch of the blocked kernel: channels `o0 .. o0 + count`.
struct Group {
    o0: usize,
    count: usize,
    weights: Tensor,
    thresholds: Tensor,
}

/// The layer, folded and uploaded, ready to run on any batch and image size.
pub struct FirstConv {
    c: usize,
    o: usize,
    k: usize,
    stride: usize,
    bits: u32,
    plan: FirstConvPlan,
    /// m_c = 255 mean_c.
    mean_raw: Vec<f32>,
    groups: Vec<Group>,
    /// General plan: w' `[O, k, k, c]` and t' `[O, levels]`.
    general: Option<(Tensor, Tensor)>,
}

impl FirstConv {
    /// Fold and upload the layer; the fast plan wherever it applies.
    pub fn new(gpu: &Gpu, spec: &FirstConvSpec) -> Result<Self> {
        let plan = Self::choose(gpu, spec);
        Self::with_plan(gpu, spec, plan)
    }

    /// The fast plan when the shape, code width and adapter allow it, else the general one.
    pub fn choose(gpu: &Gpu, spec: &FirstConvSpec) -> FirstConvPlan {
        let fits = |group: usize| group * padded_taps(spec.k, spec.c) <= WEIGHT_FLOATS;
        let fast = spec.k <= FAST_MAX_K
            && spec.c <= FAST_MAX_C
            && spec.stride <= 2
            && spec.thresholds.bits <= FAST_MAX_BITS
            && gpu.limits().max_uniform_buffer_binding_size as usize >= WEIGHT_FLOATS * 4
            && fits(32);
        if !fast {
            return FirstConvPlan::General;
        }
        FirstConvPlan::Blocked {
            // Larger kernels: fewer pixels per invocation keep the unrolled code small.
            // 16 pixels for kernels up to 3x3 (fewer weight reads per MAC).
            pixels: match spec.k {
                7.. => 4,
                4..=6 => 8,
                _ => 16,
            },
            // Up to 64 channels per invocation, one input load for all of them (the kernel
            // loops over channels, so the width costs no compile time).
            group: if fits(64) { 64 } else { 32 },
        }
    }

    /// [`FirstConv::new`] with an explicit plan (tests and benchmarks compare plans).
    pub fn with_plan(gpu: &Gpu, spec: &FirstConvSpec, plan: FirstConvPlan) -> Result<Self> {
        let th = spec.thresholds;
        let (c, k, o) = (spec.c, spec.k, th.channels());
        check_bits("first conv", th.bits)?;
        let taps = k * k * c;
        if c == 0
            || k % 2 == 0
            || !(1..=2).contains(&spec.stride)
            || spec.mean.len() != c
            || spec.std.len() != c
            || spec.weights.len() != o * taps
            || th.values.len() != o * levels(th.bits)
        {
            return Err(Error::shape(format!(
                "first conv: {c} channels, {k}x{k} kernel, stride {}, {} means, {} stds, {} \
                 weights, {} channels of thresholds (need odd k, stride 1 or 2, weights [O,k,k,C])",
                spec.stride,
                spec.mean.len(),
                spec.std.len(),
                spec.weights.len(),
                o
            )));
        }
        if c > GENERAL_MAX_C || spec.std.iter().any(|&s| !(s.is_finite() && s != 0.0)) {
            return Err(Error::Invalid(format!(
                "first conv: at most {GENERAL_MAX_C} input channels and finite nonzero stds"
            )));
        }
        let (w, t) = fold::fold(spec);
        let mut layer = FirstConv {
            c,
            o,
            k,
            stride: spec.stride,
            bits: th.bits,
            plan,
            mean_raw: spec
                .mean
                .iter()
                .map(|&m| (255.0 * m as f64) as f32)
                .collect(),
            groups: Vec::new(),
            general: None,
        };
        match plan {
            FirstConvPlan::Blocked { pixels, group } => {
                let taps4 = padded_taps(k, c);
                let fits = group * taps4 <= WEIGHT_FLOATS
                    && matches!(group, 32 | 64)
                    && matches!(pixels, 4 | 8 | 16)
                    && k * ((pixels - 1) * spec.stride + k) * c <= SEGMENT_FLOATS
                    && k <= FAST_MAX_K
                    && c <= FAST_MAX_C
                    && th.bits <= FAST_MAX_BITS;
                if !fits {
                    return Err(Error::Invalid(format!(
                        "first conv: plan {plan:?} does not support {c} channels, {k}x{k}, \
                         {} bits",
                        th.bits
                    )));
                }
                let n = levels(th.bits);
                for o0 in (0..o).step_by(group) {
                    let count = group.min(o - o0);
                    let mut wu = vec![0.0f32; WEIGHT_FLOATS];
                    for i in 0..count {
                        wu[i * taps4..i * taps4 + taps]
                            .copy_from_slice(&w[(o0 + i) * taps..(o0 + i + 1) * taps]);
                    }
                    let mut tu = vec![0.0f32; THRESHOLD_FLOATS];
                    for i in 0..count {
                        tu[i * THRESHOLD_SLOTS..i * THRESHOLD_SLOTS + n]
                            .copy_from_slice(&t[(o0 + i) * n..(o0 + i + 1) * n]);
                    }
                    layer.groups.push(Group {
                        o0,
                        count,
                        weights: Tensor::from_slice(gpu, &[WEIGHT_FLOATS], &wu)?,
                        thresholds: Tensor::from_slice(gpu, &[THRESHOLD_FLOATS], &tu)?,
                    });
                }
            }
            FirstConvPlan::General => {
                layer.general = Some((
                    Tensor::from_slice(gpu, &[o, k, k, c], &w)?,
                    Tensor::from_slice(gpu, &[o, levels(th.bits)], &t)?,
                ));
            }
        }
        Ok(layer)
    }

    pub fn plan(&self) -> FirstConvPlan {
        self.plan
    }

    /// Output channels.
    pub fn channels(&self) -> usize {
        self.o
    }

    /// The convolution geometry on `n` images of `h x w`.
    pub fn geom(&self, n: usize, h: usize, w: usize) -> ConvGeom {
        ConvGeom {
            n,
            h,
            w,
            c: self.c,
            o: self.o,
            kh: self.k,
            kw: self.k,
            stride: self.stride,
            pad: self.k / 2,
        }
    }

    /// What runs, in words (for benchmark tables).
    pub fn describe(&self) -> String {
        match self.plan {
            FirstConvPlan::Blocked { pixels, group } => format!(
                "fused f32 conv + thresholds + pack ({pixels} px x {} ch per invocation)",
                group.min(self.o)
            ),
            FirstConvPlan::General => {
                "fused f32 conv + thresholds + pack (general: 1 output word per invocation)".into()
            }
        }
    }

    /// Packed codes `Bits [N, Ho, Wo, bits, ceil(O / 32)]` of u8 pixels `[N, H, W, C]`.
    pub fn forward(&self, rec: &mut Recorder, pixels: &Tensor) -> Result<Tensor> {
        let s = pixels.shape();
        if pixels.dtype() != DType::U8 || s.len() != 4 || s[3] != self.c {
            return Err(Error::shape(format!(
                "first conv: expected u8 pixels [N,H,W,{}], got {pixels:?}",
                self.c
            )));
        }
        let g = self.geom(s[0], s[1], s[2]);
        g.check()?;
        let ow = words_for(self.o);
        let out_words = g.n * g.ho() * g.wo() * self.bits as usize * ow;
        if pixels.numel().max(out_words) >= u32::MAX as usize / 2 {
            return Err(Error::shape(format!(
                "first conv: {pixels:?} is too large for 32-bit indexing"
            )));
        }
        let out = Tensor::empty(
            rec.gpu(),
            DType::Bits,
            &[g.n, g.ho(), g.wo(), self.bits as usize, ow],
        )?;
        match self.plan {
            FirstConvPlan::Blocked { pixels: px, .. } => {
                self.run_blocked(rec, &g, px, pixels, &out)?
            }
            FirstConvPlan::General => self.run_general(rec, &g, pixels, &out)?,
        }
        Ok(out)
    }
}
