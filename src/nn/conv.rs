//! Convolution layers of the training graph.
//!
//! A binary conv binarizes its latent weights (sign, +1 for w >= 0) and convolves them with
//! integer codes: acc = sum codes * sign(w), an exact integer in f32 below 2^24, identical to
//! the packed popcount kernel of the integer engine. The per-channel weight scale is left out:
//! the batch-norm that follows absorbs any positive per-channel scale.
//! Backward (straight-through): dcodes = conv_bwd_data(dacc, sign(w));
//! dsign = conv_bwd_weight(codes, dacc); dw = dsign * 1[|w| <= 1], a mask that is always 1
//! here because the optimizer clips latent weights to [-1, 1] after every update.

use super::param::{kaiming_uniform, latent_uniform, Param, ParamKind};
use crate::error::Result;
use crate::gpu::{Gpu, Recorder, Tensor};
use crate::ops::layout::ConvGeom;
use crate::ops::{binarize, binconv, conv};
use rand::Rng;

/// Kernel size, stride, padding, channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvSpec {
    pub c: usize,
    pub o: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvSpec {
    pub fn same(c: usize, o: usize, k: usize, stride: usize) -> Self {
        ConvSpec {
            c,
            o,
            k,
            stride,
            pad: k / 2,
        }
    }
    pub fn geom(&self, x: &[usize]) -> ConvGeom {
        ConvGeom {
            n: x[0],
            h: x[1],
            w: x[2],
            c: self.c,
            o: self.o,
            kh: self.k,
            kw: self.k,
            stride: self.stride,
            pad: self.pad,
        }
    }
    pub fn weight_shape(&self) -> [usize; 4] {
        [self.o, self.k, self.k, self.c]
    }
}

struct Saved {
    x: Tensor,
    w_eff: Tensor,
    geom: ConvGeom,
}

/// A convolution with binary (sign) weights, or float weights for the float first layer.
pub struct ConvLayer {
    pub spec: ConvSpec,
    pub w: Param,
    pub binary: bool,
    /// Whether backward computes the input gradient (false for a layer fed by data).
    pub needs_dx: bool,
    /// For binary layers fed by integer codes below 2^bits: the forward pass may run the
    /// packed popcount kernel (same exact sums, see ops::binconv).
    pub in_bits: Option<u32>,
    saved: Option<Saved>,
}

impl ConvLayer {
    pub fn new(
        gpu: &Gpu,
        name: &str,
        spec: ConvSpec,
        binary: bool,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let shape = spec.weight_shape();
        let n: usize = shape.iter().product();
        let (kind, data) = if binary {
            (
                ParamKind::Latent,
                latent_uniform(rng, spec.k * spec.k * spec.c, n),
            )
        } else {
            (
                ParamKind::Weight,
                kaiming_uniform(rng, spec.k * spec.k * spec.c, n),
            )
        };
        Ok(ConvLayer {
            spec,
            w: Param::new(gpu, &format!("{name}.weight"), kind, &shape, &data)?,
            binary,
            needs_dx: true,
            in_bits: None,
            saved: None,
        })
    }

    /// Mark the input as integer codes of `bits` bits (enables the packed forward path).
    pub fn with_codes(mut self, bits: u32) -> Self {
        self.in_bits = Some(bits);
        self
    }

    /// The weights the convolution uses: sign(w) for binary layers, w for float ones.
    pub fn effective_weight(&self, rec: &mut Recorder) -> Result<Tensor> {
        if self.binary {
            binarize::signs(rec, &self.w.value)
        } else {
            Ok(self.w.value.clone())
        }
    }

    pub fn forward(&mut self, rec: &mut Recorder, x: &Tensor, train: bool) -> Result<Tensor> {
        let geom = self.spec.geom(x.shape());
        geom.check()?;
        let w_eff = self.effective_weight(rec)?;
        let y = match (self.binary, self.in_bits) {
            (true, Some(bits)) => binconv::forward(rec, &geom, bits, x, &w_eff)?,
            _ => conv::forward(rec, &geom, x, &w_eff)?,
        };
        self.saved = train.then(|| Saved {
            x: x.clone(),
            w_eff,
            geom,
        });
        Ok(y)
    }

    /// Sets the weight gradient; returns the input gradient when `needs_dx`.
    pub fn backward(&mut self, rec: &mut Recorder, dy: &Tensor) -> Result<Option<Tensor>> {
        let s = self
            .saved
            .take()
            .ok_or_else(|| crate::Error::Invalid("conv backward before forward".into()))?;
        let dw_eff = conv::backward_weight(rec, &s.geom, &s.x, dy)?;
        self.w.grad = Some(if self.binary {
            binarize::backward(rec, &self.w.value, &dw_eff)?
        } else {
            dw_eff
        });
        if self.needs_dx {
            Ok(Some(conv::backward_data(rec, &s.geom, dy, &s.w_eff)?))
        } else {
            Ok(None)
        }
    }

    pub fn visit(&mut self, f: &mut dyn FnMut(&mut Param)) {
        f(&mut self.w);
    }
}
