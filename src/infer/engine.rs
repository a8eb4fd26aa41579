//! The integer inference engine: u8 image -> code-table gather (packed; fused with the first conv
//! unit where possible, see [`CodeTableConv`]) -> [bitwise conv -> integer thresholds (residual
//! units: per shortcut code, fused into the conv) -> packed codes] per layer -> head -> class
//! scores.
//!
//! No float arithmetic runs between the input and the head, except for the float
//! first-layer variant, whose first layer is by definition a float convolution: it runs as
//! one fused kernel ([`crate::ops::first_conv`]: normalisation, f32 conv, batch-norm and
//! quantizer folded into float thresholds, packing). Its f32 sums are taken in another order
//! than the training graph's conv, so a code whose pre-activation lies within rounding of a
//! threshold may differ by one level (rare; tests/engine_trained.rs bounds how rare). Every
//! other variant's codes equal the graph's exactly. The head runs the training graph's own
//! ops on the integer codes, so scores, and therefore predictions, agree with the training
//! graph's evaluation wherever the codes do.

use super::export::{fuse_float_first, IntModel, IntUnit, UnitKind};
use crate::error::{Error, Result};
use crate::gpu::{DType, Gpu, Recorder, Tensor};
use crate::ops::first_table::CodeTableConv;
use crate::ops::layout::ConvGeom;
use crate::ops::threshold::Thresholds;
use crate::ops::{bconv, lut, pack, packed_pool};

/// The geometry of a unit on an input of `n` images of `h x w`.
fn geom(u: &IntUnit, n: usize, h: usize, w: usize) -> ConvGeom {
    ConvGeom {
        n,
        h,
        w,
        c: u.desc.c,
        o: u.desc.o,
        kh: u.desc.k,
        kw: u.desc.k,
        stride: u.desc.stride,
        pad: u.desc.pad,
    }
}

impl IntModel {
    /// Scores [N, K] for u8 pixels [N, H, W, C].
    pub fn scores(&mut self, gpu: &Gpu, pixels: &Tensor) -> Result<Tensor> {
        let [h, w, c] = self.cfg.input;
        let s = pixels.shape();
        if pixels.dtype() != DType::U8 || s.len() != 4 || s[1..] != [h, w, c] {
            return Err(Error::shape(format!(
                "the model expects u8 pixels [N,{h},{w},{c}], got {pixels:?}"
            )));
        }
        let mut rec = Recorder::new(gpu);
        let scores = self.record(&mut rec, pixels, None)?;
        rec.submit();
        Ok(scores)
    }

    /// Record the whole inference into `rec`. With `marks`, note (layer name, index of its
    /// first dispatch) for each layer, so timings can be attributed per layer.
    pub fn record(
        &mut self,
        rec: &mut Recorder,
        pixels: &Tensor,
        marks: Option<&mut Vec<(String, usize)>>,
    ) -> Result<Tensor> {
        self.record_traced(rec, pixels, marks, None)
    }

    /// [`IntModel::record`], also collecting with `trace` the packed codes (and their
    /// channels) after the first layer and after every unit, so tests can compare each
    /// layer's codes with the training graph's.
    pub fn record_traced(
        &mut self,
        rec: &mut Recorder,
        pixels: &Tensor,
        mut marks: Option<&mut Vec<(String, usize)>>,
        mut trace: Option<&mut Vec<(Tensor, usize)>>,
    ) -> Result<Tensor> {
        let n = pixels.shape()[0];
        let mut mark = |rec: &Recorder, name: String| {
            if let Some(m) = marks.as_deref_mut() {
                m.push((name, rec.dispatch_count()));
            }
        };
        mark(rec, "first".into());
        // Units the first layer already computed (the code table fused with the first conv).
        let mut done = 0;
        let mut x = match (&self.code_table, self.float_first.as_ref()) {
            (Some(_), _) => {
                let (x, units) = self.lut_first(rec, pixels)?;
                done = units;
                x
            }
            (None, Some(first)) => {
                if self.float_fused.is_none() {
                    self.float_fused = Some(fuse_float_first(rec.gpu(), first)?);
                }
                let fused = self.float_fused.as_ref().expect("built above");
                log::debug!("float first layer: {}", fused.describe());
                fused.forward(rec, pixels)?
            }
            (None, None) => {
                return Err(Error::Invalid("integer model without a first layer".into()))
            }
        };
        // The code table alone gives the encoded input, not a layer's codes: traced only when fused.
        if let Some(t) = trace.as_deref_mut() {
            if self.code_table.is_none() || done > 0 {
                t.push((
                    x.clone(),
                    self.units
                        .first()
                        .filter(|_| done > 0)
                        .map_or(self.cfg.width, |u| u.desc.o),
                ));
            }
        }
        let mut block_in: Option<(Tensor, usize)> = None;
        for (i, u) in self.units.iter().enumerate().skip(done) {
            mark(rec, format!("unit{i}.{}", u.desc.kind));
            let (hh, ww) = (x.shape()[1], x.shape()[2]);
            x = match &u.kind {
                UnitKind::Conv { thresholds, flags } => {
                    if u.desc.block_start {
                        block_in = Some((x.clone(), u.desc.c));
                    }
                    let th = Thresholds {
                        values: thresholds.clone(),
                        flags: flags.clone(),
                        bits: u.desc.out_bits,
                    };
                    bconv::forward_threshold(
                        rec,
                        &geom(u, n, hh, ww),
                        u.desc.in_bits,
                        &x,
                        &u.weights,
                        &th,
                        u.desc.out_bits,
                    )?
                }
                UnitKind::Residual {
                    thresholds,
                    flags,
                    stride,
                } => {
                    let (xin, cin) = block_in.take().ok_or_else(|| {
                        Error::Invalid("residual unit without a block input".into())
                    })?;
                    let res = bconv::Residual {
                        thresholds,
                        flags,
                        input: &xin,
                        cin,
                        stride: *stride,
                        bits: u.desc.out_bits,
                    };
                    bconv::forward_residual(
                        rec,
                        &geom(u, n, hh, ww),
                        u.desc.in_bits,
                        &x,
                        &u.weights,
                        res,
                    )?
                }
                UnitKind::MaxPool => packed_pool::max2x2(rec, &x)?,
            };
            if let Some(t) = trace.as_deref_mut() {
                t.push((x.clone(), u.desc.o));
            }
        }
        let c_last = self.units.last().map_or(self.cfg.width, |u| u.desc.o);
        mark(rec, "head".into());
        let codes = pack::unpack(rec, self.cfg.act_bits, c_last, &x)?;
        self.head.forward(rec, &codes, false)
    }
}

impl IntModel {
    /// The code-table first layer. When the first unit is a plain conv over the table's codes, the
    /// two run as one [`CodeTableConv`] (its fastest exact implementation for this adapter and
    /// shape): returns its packed output and 1 (units done); otherwise the gathered codes
    /// and 0.
    fn lut_first(&mut self, rec: &mut Recorder, pixels: &Tensor) -> Result<(Tensor, usize)> {
        let c = pixels.shape()[3];
        let Some(l) = self.code_table.as_mut() else {
            return Err(Error::Invalid("integer model without a code table".into()));
        };
        let d = l.codes.shape()[2];
        if let Some(u) = self.units.first() {
            if let UnitKind::Conv { thresholds, flags } = &u.kind {
                if !u.desc.block_start && u.desc.in_bits == l.bits && u.desc.c == c * d {
                    if l.fused.is_none() {
                        let th = Thresholds {
                            values: thresholds.clone(),
                            flags: flags.clone(),
                            bits: u.desc.out_bits,
                        };
                        l.fused = Some(CodeTableConv::new(
                            rec.gpu(),
                            &l.codes,
                            l.bits,
                            c,
                            &u.weights,
                            &th,
                            u.desc.k,
                            u.desc.stride,
                            u.desc.pad,
                        )?);
                    }
                    if let Some(f) = &l.fused {
                        let imp = f.choose(rec.gpu(), pixels.shape())?;
                        log::debug!("first layer + unit0: {}", imp.name());
                        return Ok((f.forward_with(rec, pixels, imp)?, 1));
                    }
                }
            }
        }
        Ok((lut::gather_packed(rec, pixels, &l.codes, l.bits)?, 0))
    }
}

/// Predictions of the integer engine on a dataset.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Predictions {
    pub top1: f64,
    pub top5: f64,
    pub n: usize,
    /// argmax per image (ties: lowest class index).
    pub classes: Vec<u32>,
    /// Images whose scores hold a NaN or infinity (counted as wrong).
    pub non_finite: usize,
}

/// Run the engine over a dataset in batches.
pub fn predict_dataset(
    gpu: &Gpu,
    m: &mut IntModel,
    data: &crate::data::Dataset,
    batch: usize,
) -> Result<Predictions> {
    let k = m.cfg.classes;
    let [h, w, c] = m.cfg.input;
    if [data.h, data.w, data.c] != [h, w, c] {
        return Err(Error::Invalid(format!(
            "the model takes {h}x{w}x{c} images, the data has {}x{}x{}",
            data.h, data.w, data.c
        )));
    }
    // Class indices must mean the same classes: same count, every label a model class.
    if data.classes.len() != k {
        return Err(Error::Invalid(format!(
            "the model has {k} classes, the data {}: it was not trained on this dataset",
            data.classes.len()
        )));
    }
    if let Some((i, &l)) = data
        .labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= k)
    {
        return Err(Error::Invalid(format!(
            "image {i} has label {l}, outside the model's {k} classes"
        )));
    }
    let mut classes = Vec::with_capacity(data.n);
    let (mut c1, mut c5, mut non_finite) = (0usize, 0usize, 0usize);
    let per = data.h * data.w * data.c;
    for start in (0..data.n).step_by(batch.max(1)) {
        let len = batch.min(data.n - start);
        let px = Tensor::from_slice(
            gpu,
            &[len, data.h, data.w, data.c],
            &data.images[start * per..(start + len) * per],
        )?;
        let scores = m.scores(gpu, &px)?.to_vec::<f32>(gpu)?;
        for i in 0..len {
            let row = &scores[i * k..(i + 1) * k];
            let label = data.labels[start + i] as usize;
            let best = (0..k).fold(0, |b, j| if row[j] > row[b] { j } else { b });
            classes.push(best as u32);
            // Same rule as the training graph's top-k: fewer than k scores strictly greater,
            // and a row with a NaN or infinite score is a miss.
            if row.iter().any(|s| !s.is_finite()) {
                non_finite += 1;
                continue;
            }
            let greater = row.iter().filter(|&&s| s > row[label]).count();
            c1 += (greater < 1) as usize;
            c5 += (greater < 5) as usize;
        }
    }
    if non_finite > 0 {
        log::warn!(
            "{non_finite} of {} images gave NaN or infinite scores (counted as wrong)",
            data.n
        );
    }
    let n = data.n.max(1) as f64;
    Ok(Predictions {
        top1: c1 as f64 / n,
        top5: c5 as f64 / n,
        n: data.n,
        classes,
        non_finite,
    })
}
