//! `pixembed bench first-layer`: each first-layer variant as it runs at inference, from u8
//! pixels to the next layer's packed k-bit input (same shape and layout for every variant).
//!
//! * float: one fused kernel: normalisation, f32 conv, batch-norm + quantizer folded into
//!   float thresholds, packing (ops::first_conv)
//! * float-split: the same layer as normalize -> f32 conv -> batch-norm -> quantize + pack
//! * int8, naive, bitplane, thermometer, embed: every exact implementation of
//!   [`crate::ops::first_table`] (gather to packed bit-planes -> bitwise conv fused with
//!   thresholds; folded tables), one row each; `*` marks the one the adapter's choice picks

use super::{time_op, Timing};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, Recorder, Tensor};
use crate::nn::FirstLayerKind;
use crate::ops::first_conv::{FirstConv, FirstConvSpec, FloatThresholds};
use crate::ops::first_table::{CodeTableConv, Impl};
use crate::ops::layout::{words_for, ConvGeom};
use crate::ops::threshold::Thresholds;
use crate::ops::{bn, conv, encode, pack};
use crate::reference::encode::thermometer_threshold;
use crate::reference::QuantSpec;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Benchmark shapes: input \[N,H,W,C\], kernel, stride.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub k: usize,
    pub stride: usize,
    pub default_batch: usize,
}

impl std::str::FromStr for Shape {
    type Err = String;
    /// `cifar` (32x32x3, 3x3/1), `imagenet` (224x224x3, 7x7/2), `imagenet3` (224x224x3,
    /// 3x3/2), or `HxWxC` (3x3/1).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "cifar" => Shape {
                h: 32,
                w: 32,
                c: 3,
                k: 3,
                stride: 1,
                default_batch: 256,
            },
            "imagenet" => Shape {
                h: 224,
                w: 224,
                c: 3,
                k: 7,
                stride: 2,
                default_batch: 16,
            },
            "imagenet3" => Shape {
                h: 224,
                w: 224,
                c: 3,
                k: 3,
                stride: 2,
                default_batch: 16,
            },
            other => {
                let p: Vec<&str> = other.split(['x', 'X']).collect();
                let n = |v: &str| {
                    v.parse::<usize>().map_err(|_| {
                        format!("bad shape {other:?}: expected cifar, imagenet, imagenet3 or HxWxC")
                    })
                };
                if p.len() != 3 {
                    return Err(format!(
                        "bad shape {other:?}: expected cifar, imagenet, imagenet3 or HxWxC"
                    ));
                }
                let (h, w, c) = (n(p[0])?, n(p[1])?, n(p[2])?);
                if h < 3 || w < 3 || !(c == 1 || c == 3) {
                    return Err(format!(
                        "bad shape {other:?}: need H, W >= 3 and C = 1 or 3"
                    ));
                }
                Shape {
                    h,
                    w,
                    c,
                    k: 3,
                    stride: 1,
                    default_batch: 64,
                }
            }
        })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct FirstLayerRow {
    pub variant: String,
    /// What ran (kernels chosen).
    pub implementation: String,
    pub timing: Timing,
    /// Multiply-accumulates at the encoded channel count.
    pub macs: u64,
    /// Bytes read and written by all dispatches (inputs, weights, tables, intermediates, output).
    pub bytes: u64,
    pub speedup_vs_float: f64,
    /// Output shape [N, Ho, Wo, k, Ow] (identical for every variant).
    pub output: Vec<usize>,
}

/// The integer-code table of a variant for C channels: (codes \[C,256,D\], D, bits).
pub fn variant_table(
    variant: FirstLayerKind,
    c: usize,
    embed_dim: usize,
    embed_bits: u32,
    rng: &mut impl Rng,
) -> (Vec<u32>, usize, u32) {
    let mut t = Vec::new();
    let (d, bits) = match variant {
        FirstLayerKind::Int8 => (1, 8),
        FirstLayerKind::Naive => (1, embed_bits),
        FirstLayerKind::Bitplane => (8, 8),
        FirstLayerKind::Thermometer => (embed_dim, 1),
        FirstLayerKind::Embed | FirstLayerKind::Float => (embed_dim, embed_bits),
    };
    for _ in 0..c {
        for v in 0..256u32 {
            for k in 0..d {
                t.push(match variant {
                    FirstLayerKind::Int8 => v,
                    FirstLayerKind::Naive => v >> (8 - embed_bits),
                    FirstLayerKind::Bitplane => ((v >> k) & 1) << k,
                    FirstLayerKind::Thermometer => {
                        (v >= thermometer_threshold(k as u32, embed_dim as u32)) as u32
                    }
                    _ => rng.random_range(0..(1u32 << bits)),
                });
            }
        }
    }
    (t, d, bits)
}

fn sorted_thresholds(rng: &mut impl Rng, o: usize, bits: u32, spread: i32) -> (Vec<i32>, Vec<i32>) {
    let n = (1usize << bits) - 1;
    let mut values = Vec::with_capacity(o * n);
    for _ in 0..o {
        let mut t: Vec<i32> = (0..n).map(|_| rng.random_range(-spread..=spread)).collect();
        t.sort();
        values.extend(t);
    }
    (values, vec![1; o])
}

/// Time every variant on `shape` with `batch` images and `o` output channels: the
/// implementation the adapter's choice picks, or with `all_impls` every implementation.
/// Tables of D = 10 dimensions (thermometer levels) of 2-bit codes.
pub fn run(
    gpu: &Gpu,
    shape: Shape,
    batch: usize,
    o: usize,
    reps: usize,
    all_impls: bool,
) -> Result<Vec<FirstLayerRow>> {
    run_with_table(gpu, shape, batch, o, reps, all_impls, (10, 2))
}

/// [`run`] with tables of `embed_dim` dimensions (thermometer levels) of `embed_bits`-bit
/// codes (naive: `embed_bits`-bit pixels).
pub fn run_with_table(
    gpu: &Gpu,
    shape: Shape,
    batch: usize,
    o: usize,
    reps: usize,
    all_impls: bool,
    (embed_dim, embed_bits): (usize, u32),
) -> Result<Vec<FirstLayerRow>> {
    if batch == 0 || o == 0 {
        return Err(Error::Invalid(
            "--batch and --out-channels must be at least 1".into(),
        ));
    }
    let spec = QuantSpec::default();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    let px: Vec<u8> = (0..batch * shape.h * shape.w * shape.c)
        .map(|_| rng.random())
        .collect();
    let pixels = Tensor::from_slice(gpu, &[batch, shape.h, shape.w, shape.c], &px)?;
    let geom = |c: usize| ConvGeom {
        n: batch,
        h: shape.h,
        w: shape.w,
        c,
        o,
        kh: shape.k,
        kw: shape.k,
        stride: shape.stride,
        pad: shape.k / 2,
    };
    let g0 = geom(shape.c);
    let out_bytes = (g0.n * g0.ho() * g0.wo() * spec.bits as usize * words_for(o) * 4) as u64;
    let px_bytes = px.len() as u64;
    let mut rows = Vec::new();

    // Float baseline: the fused kernel (normalisation, f32 conv, BN + quantizer folded into
    // float thresholds, packing); with `all_impls` also the same layer as four separate ops.
    {
        let g = g0;
        let c = shape.c;
        let wv: Vec<f32> = (0..o * shape.k * shape.k * shape.c)
            .map(|_| rng.random_range(-0.5f32..0.5))
            .collect();
        let (gamma, beta, mean, var) = (
            vec![0.2f32; o],
            vec![1.0f32; o],
            vec![0.0f32; o],
            vec![1.0f32; o],
        );
        let (px_mean, px_std) = (vec![0.5f32; c], vec![0.25f32; c]);
        let (values, flags) = crate::reference::first_conv::bn_float_thresholds(
            &gamma, &beta, &mean, &var, 1e-5, spec,
        );
        let th = FloatThresholds::new(spec.bits, values, flags)?;
        let layer = FirstConv::new(
            gpu,
            &FirstConvSpec {
                c,
                k: shape.k,
                stride: shape.stride,
                mean: &px_mean,
                std: &px_std,
                weights: &wv,
                thresholds: &th,
            },
        )?;
        let mut out = Vec::new();
        let timing = time_op(gpu, 1, reps, |rec: &mut Recorder| {
            out = layer.forward(rec, &pixels)?.shape().to_vec();
            Ok(())
        })?;
        let groups = o.div_ceil(64) as u64;
        rows.push(FirstLayerRow {
            variant: "float".into(),
            implementation: layer.describe(),
            timing,
            macs: g.macs(),
            // Pixels are read once per channel group; weights and thresholds once.
            bytes: groups * px_bytes + (wv.len() * 4 + th.values.len() * 4) as u64 + out_bytes,
            speedup_vs_float: 1.0,
            output: out,
        });

        // The unfused form, for comparison (--all-implementations).
        if all_impls {
            let w = Tensor::from_slice(gpu, &g.weight_shape(), &wv)?;
            let gamma = Tensor::from_slice(gpu, &[o], &gamma)?;
            let beta = Tensor::from_slice(gpu, &[o], &beta)?;
            let mean = Tensor::from_slice(gpu, &[o], &mean)?;
            let var = Tensor::from_slice(gpu, &[o], &var)?;
            let mut out = Vec::new();
            let timing = time_op(gpu, 1, reps, |rec: &mut Recorder| {
                let x = encode::normalize(rec, &pixels, &px_mean, &px_std)?;
                let y = conv::forward(rec, &g, &x, &w)?;
                let z = bn::forward_infer(rec, &y, &gamma, &beta, &mean, &var, 1e-5)?;
                out = pack::quantize_pack(rec, spec, &z)?.shape().to_vec();
                Ok(())
            })?;
            let f32_in = (batch * shape.h * shape.w * shape.c * 4) as u64;
            let f32_out = (g.n * g.ho() * g.wo() * o * 4) as u64;
            rows.push(FirstLayerRow {
                variant: "float-split".into(),
                implementation: "normalize -> f32 conv -> batch-norm -> quantize+pack".into(),
                timing,
                macs: g.macs(),
                bytes: px_bytes
                    + 2 * f32_in
                    + (o * shape.k * shape.k * shape.c * 4) as u64
                    + 4 * f32_out
                    + out_bytes,
                speedup_vs_float: 0.0,
                output: out,
            });
        }
    }

    for variant in [
        FirstLayerKind::Int8,
        FirstLayerKind::Naive,
        FirstLayerKind::Bitplane,
        FirstLayerKind::Thermometer,
        FirstLayerKind::Embed,
    ] {
        let (table, d, bits) = variant_table(variant, shape.c, embed_dim, embed_bits, &mut rng);
        let cin = shape.c * d;
        let g = geom(cin);
        let table_t = Tensor::from_slice(gpu, &[shape.c, 256, d], &table)?;
        let signs: Vec<f32> = (0..o * shape.k * shape.k * cin)
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect();
        let mut rec = Recorder::new(gpu);
        let w_packed = pack::pack_signs(
            &mut rec,
            &Tensor::from_slice(gpu, &g.weight_shape(), &signs)?,
        )?;
        rec.submit();
        let acc_spread = (shape.k * shape.k * cin) as i32 * ((1 << bits) - 1) / 8;
        let (values, flags) = sorted_thresholds(&mut rng, o, spec.bits, acc_spread.max(1));
        let th = Thresholds::from_host(gpu, spec.bits, &values, &flags)?;
        let layer = CodeTableConv::new(
            gpu,
            &table_t,
            bits,
            shape.c,
            &w_packed,
            &th,
            shape.k,
            shape.stride,
            shape.k / 2,
        )?;
        let picked = layer.choose(gpu, pixels.shape())?;
        let planes = (batch * shape.h * shape.w * bits as usize * words_for(cin) * 4) as u64;
        let impls = layer.impls();
        for imp in impls.into_iter().filter(|&i| all_impls || i == picked) {
            let mut out = Vec::new();
            let timing = time_op(gpu, 1, reps, |rec: &mut Recorder| {
                out = layer.forward_with(rec, &pixels, imp)?.shape().to_vec();
                Ok(())
            })?;
            let (what, bytes) = match imp {
                Impl::Gather => (
                    format!("lut gather ({d} codes x {bits} bits per value) -> bitwise conv + thresholds"),
                    (table.len() * 4) as u64 + 2 * planes + w_packed.byte_len(),
                ),
                Impl::Folded(_) => (
                    "folded table (tap, channel, value) -> sums + thresholds + pack, one kernel".into(),
                    layer.stored_bytes(imp),
                ),
            };
            let mark = if imp == picked { "*" } else { " " };
            rows.push(FirstLayerRow {
                variant: format!("{variant:?}").to_lowercase(),
                implementation: format!("{mark}{}: {what}", imp.name()),
                timing,
                macs: g.macs(),
                bytes: px_bytes + bytes + out_bytes,
                speedup_vs_float: 0.0,
                output: out,
            });
        }
    }
    let float_s = rows[0].timing.median_s;
    for r in &mut rows {
        r.speedup_vs_float = float_s / r.timing.median_s;
    }
    Ok(rows)
}
