//! The code table with the first binary convolution ([`CodeTableConv`]): u8 pixels -> code table
//! `[T, 256, D]` -> binary conv over C*D channels -> integer thresholds -> packed codes
//! `[N, Ho, Wo, k_out, ceil(O/32)]`, by one of several exact implementations:
//!
//! * [`Impl::Gather`]: codes gathered to packed bit-planes (per-(channel, value) plane words,
//!   shaders/lut_planes.wgsl, or [`lut::gather_packed`] for wide inputs), then
//!   [`bconv::forward_threshold`];
//! * [`Impl::Folded`]: the table and the conv's signs folded at load time into one integer
//!   table per (tap, channel, value) (math: [`crate::reference::first_table`]), summed per
//!   output pixel in 8- or 16-bit SWAR lanes, thresholded and packed in the same kernel
//!   (shaders/first_table.wgsl).
//!
//! All give the same bits (tests/first_table.rs); [`CodeTableConv::choose`] times them once per
//! (adapter, shape) and caches the fastest. `PIXEMBED_FIRST_TABLE=gather|folded8|folded16`
//! forces one.

mod fold;
mod select;
pub use select::forced as forced_impl;

pub use fold::Width;

use crate::error::{Error, Result};
use crate::gpu::{grid_for, Arg, DType, Gpu, Kernel, Recorder, Tensor};
use crate::ops::layout::{words_for, ConvGeom};
use crate::ops::threshold::{check_bits, Thresholds};
use crate::ops::{bconv, lut};
use crate::reference::first_table::fold_table;
use fold::{Layout, GROUP, TH_WORDS};

/// One exact implementation of the code-table first layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Impl {
    /// Gather codes to packed bit-planes, then the bitwise conv with fused thresholds.
    Gather,
    /// The folded table, entries of this width.
    Folded(Width),
}

impl Impl {
    pub fn name(&self) -> &'static str {
        match self {
            Impl::Gather => "gather+bconv",
            Impl::Folded(Width::W8) => "folded-8bit",
            Impl::Folded(Width::W16) => "folded-16bit",
        }
    }
}

/// A folded table stored for the kernel.
struct Folded {
    layout: Layout,
    table: Tensor,
    thresholds: Tensor,
}

/// The code table with the first conv: codes, the conv's packed signs and thresholds, and
/// the folded forms that fit.
pub struct CodeTableConv {
    codes: Tensor,
    code_bits: u32,
    c: usize,
    d: usize,
    weights: Tensor,
    th: Thresholds,
    o: usize,
    k: usize,
    stride: usize,
    pad: usize,
    folded: Vec<Folded>,
    /// Per (channel, value) bit-plane words for the gather (when a pixel has <= 8 words).
    planes: Option<Tensor>,
}

/// Words `[C, 256, bits, Cw]`: word (c, v, b, j) has bit i set when channel 32 j + i belongs
/// to input channel c (32 j + i = c D + d) and bit b of code[t(c)][v][d] is 1.
fn plane_words(codes: &[u32], tables: usize, c: usize, d: usize, bits: u32) -> Vec<u32> {
    let cw = words_for(c * d);
    let wpx = bits as usize * cw;
    let mut out = vec![0u32; c * 256 * wpx];
    for ch in 0..c {
        let t = if tables == 1 { 0 } else { ch };
        for v in 0..256 {
            for k in 0..d {
                let code = codes[(t * 256 + v) * d + k];
                let lane = ch * d + k;
                for b in 0..bits as usize {
                    if (code >> b) & 1 == 1 {
                        out[(ch * 256 + v) * wpx + b * cw + lane / 32] |= 1 << (lane % 32);
                    }
                }
            }
        }
    }
    out
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    pad: u32,
    pixels: u32,
    ow: u32,
    group: u32,
    word0: u32,
    valid: u32,
    offset: u32,
    _pad: u32,
}

impl CodeTableConv {
    /// `codes` Bits `[T, 256, D]` (T = 1 or `c`) of `code_bits`-bit codes for `c` pixel
    /// channels; `weights` Bits `[O, k, k, ceil(c D / 32)]`; thresholds of O channels. Reads
    /// the operands back once and folds them (load time).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        gpu: &Gpu,
        codes: &Tensor,
        code_bits: u32,
        c: usize,
        weights: &Tensor,
        th: &Thresholds,
        k: usize,
        stride: usize,
        pad: usize,
    ) -> Result<Self> {
        check_bits("code-table first layer codes", code_bits)?;
        let t = codes.shape();
        if codes.dtype() != DType::Bits || t.len() != 3 || t[1] != 256 || !(t[0] == 1 || t[0] == c)
        {
            return Err(Error::shape(format!(
                "code-table first layer: codes {codes:?} for {c} channels (expected [1 or C, 256, D])"
            )));
        }
        let (tables, d) = (t[0], t[2]);
        let o = weights.shape().first().copied().unwrap_or(0);
        let cin = c * d;
        weights.check_shape(
            "code-table first layer weights",
            DType::Bits,
            &[o, k, k, words_for(cin)],
        )?;
        th.check(o)?;
        let geom = ConvGeom::same(1, k, k, cin, o, k, stride);
        geom.check()?;
        let host_codes = codes.to_vec::<u32>(gpu)?;
        let packed = weights.to_vec::<u32>(gpu)?;
        let cw = words_for(cin);
        let signs: Vec<i32> = (0..o * k * k * cin)
            .map(|i| {
                let (row, ch) = (i / cin, i % cin);
                if (packed[row * cw + ch / 32] >> (ch % 32)) & 1 == 1 {
                    1
                } else {
                    -1
                }
            })
            .collect();
        let values = th.values.to_vec::<i32>(gpu)?;
        let flags = th.flags.to_vec::<i32>(gpu)?;
        let table = fold_table(&geom, &host_codes, tables, d, &signs);
        let m = table.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
        let taps = k * k;
        let fits_uniform = gpu.limits().max_uniform_buffer_binding_size as usize >= TH_WORDS * 4;
        let mut folded = Vec::new();
        for width in [Width::W8, Width::W16] {
            let Some(layout) = Layout::new(width, o, taps, c, m) else {
                continue;
            };
            if !fits_uniform {
                continue;
            }
            let words = layout.pack_table(&table, taps, c, o);
            let staged = fold::stage_thresholds(&values, &flags, th.bits, layout.groups);
            folded.push(Folded {
                layout,
                table: Tensor::from_slice(gpu, &[words.len()], &words)?,
                thresholds: Tensor::from_slice(gpu, &[staged.len()], &staged)?,
            });
        }
        let planes = if code_bits as usize * words_for(cin) <= 8 {
            let words = plane_words(&host_codes, tables, c, d, code_bits);
            Some(Tensor::from_slice(gpu, &[words.len()], &words)?)
        } else {
            None
        };
        Ok(CodeTableConv {
            planes,
            codes: codes.clone(),
            code_bits,
            c,
            d,
            weights: weights.clone(),
            th: th.clone(),
            o,
            k,
            stride,
            pad,
            folded,
        })
    }

    /// The implementations available for this layer (the folded forms whose sums fit).
    pub fn impls(&self) -> Vec<Impl> {
        let mut v = vec![Impl::Gather];
        v.extend(self.folded.iter().map(|f| Impl::Folded(f.layout.width)));
        v
    }

    /// Bytes of the operands `imp` reads besides the pixels (tables, weights, thresholds).
    pub fn stored_bytes(&self, imp: Impl) -> u64 {
        match imp {
            Impl::Gather => {
                self.codes.byte_len() + self.weights.byte_len() + self.th.values.byte_len()
            }
            Impl::Folded(w) => self
                .folded
                .iter()
                .find(|f| f.layout.width == w)
                .map_or(0, |f| f.table.byte_len() + f.thresholds.byte_len()),
        }
    }

    /// Output code width.
    pub fn out_bits(&self) -> u32 {
        self.th.bits
    }

    /// The first conv's geometry on `n` images of `h x w` (its input: C*D channels).
    pub fn geom(&self, n: usize, h: usize, w: usize) -> ConvGeom {
        ConvGeom {
            n,
            h,
            w,
            c: self.c * self.d,
            o: self.o,
            kh: self.k,
            kw: self.k,
            stride: self.stride,
            pad: self.pad,
        }
    }

    /// Packed codes by the implementation [`CodeTableConv::choose`] picks for this shape.
    pub fn forward(&self, rec: &mut Recorder, pixels: &Tensor) -> Result<Tensor> {
        let imp = self.choose(rec.gpu(), pixels.shape())?;
        self.forward_with(rec, pixels, imp)
    }

    /// Packed codes Bits `[N, Ho, Wo, k_out, ceil(O/32)]` of u8 pixels `[N, H, W, C]` by `imp`.
    pub fn forward_with(&self, rec: &mut Recorder, pixels: &Tensor, imp: Impl) -> Result<Tensor> {
        let s = pixels.shape();
        if pixels.dtype() != DType::U8 || s.len() != 4 || s[3] != self.c {
            return Err(Error::shape(format!(
                "code-table first layer: pixels {pixels:?} (expected u8 [N, H, W, {}])",
                self.c
            )));
        }
        let g = self.geom(s[0], s[1], s[2]);
        g.check()?;
        match imp {
            Impl::Gather => {
                let x = match &self.planes {
                    Some(planes) => self.gather_planes(rec, pixels, planes)?,
                    None => lut::gather_packed(rec, pixels, &self.codes, self.code_bits)?,
                };
                bconv::forward_threshold(
                    rec,
                    &g,
                    self.code_bits,
                    &x,
                    &self.weights,
                    &self.th,
                    self.th.bits,
                )
            }
            Impl::Folded(width) => {
                let f = self
                    .folded
                    .iter()
                    .find(|f| f.layout.width == width)
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "code-table first layer: the {} form cannot hold this table's sums",
                            imp.name()
                        ))
                    })?;
                self.folded_forward(rec, pixels, &g, f)
            }
        }
    }

    /// Packed bit-planes `[N, H, W, bits, Cw]` of the gathered codes (shaders/lut_planes.wgsl).
    fn gather_planes(
        &self,
        rec: &mut Recorder,
        pixels: &Tensor,
        planes: &Tensor,
    ) -> Result<Tensor> {
        let s = pixels.shape();
        let cw = words_for(self.c * self.d);
        let wpx = self.code_bits as usize * cw;
        let n = s[0] * s[1] * s[2];
        let out = Tensor::empty(
            rec.gpu(),
            DType::Bits,
            &[s[0], s[1], s[2], self.code_bits as usize, cw],
        )?;
        let p = [n as u32, 0, 0, 0];
        let constants = [("C", self.c as f64), ("WPX", wpx as f64)];
        rec.dispatch(
            &Kernel::new("lut_planes", "gather_planes").with(&constants),
            &[
                Arg::Params(bytemuck::bytes_of(&p)),
                Arg::T(pixels),
                Arg::T(planes),
                Arg::T(&out),
            ],
            grid_for(rec.gpu(), n, 64),
        )?;
        Ok(out)
    }

    fn folded_forward(
        &self,
        rec: &mut Recorder,
        pixels: &Tensor,
        g: &ConvGeom,
        f: &Folded,
    ) -> Result<Tensor> {
        let l = &f.layout;
        let kout = self.th.bits;
        let ow = words_for(self.o);
        let pixels_out = g.n * g.ho() * g.wo();
        let y = Tensor::empty(
            rec.gpu(),
            DType::Bits,
            &[g.n, g.ho(), g.wo(), kout as usize, ow],
        )?;
        let constants = [
            ("C", self.c as f64),
            ("KH", self.k as f64),
            ("KW", self.k as f64),
            ("STRIDE", self.stride as f64),
            ("NB", l.nb as f64),
            ("WIDE", (l.width == Width::W16) as u32 as f64),
            ("TPW", l.tpw as f64),
            ("KOUT", kout as f64),
        ];
        let offset = (self.k * self.k * self.c) as u64 * l.m as u64;
        for group in 0..l.groups {
            let p = Params {
                h: g.h as u32,
                w: g.w as u32,
                ho: g.ho() as u32,
                wo: g.wo() as u32,
                pad: g.pad as u32,
                pixels: pixels_out as u32,
                ow: ow as u32,
                group: group as u32,
                word0: (group * GROUP / 32) as u32,
                valid: (self.o - group * GROUP).min(GROUP) as u32,
                offset: offset as u32,
                _pad: 0,
            };
            let th_bytes = (TH_WORDS * 4) as u64;
            rec.dispatch(
                &Kernel::new("first_table", "forward").with(&constants),
                &[
                    Arg::Params(bytemuck::bytes_of(&p)),
                    Arg::T(pixels),
                    Arg::T(&f.table),
                    Arg::UniformRange(&f.thresholds, group as u64 * th_bytes, th_bytes),
                    Arg::T(&y),
                ],
                grid_for(rec.gpu(), pixels_out, 64),
            )?;
        }
        Ok(y)
    }
}
