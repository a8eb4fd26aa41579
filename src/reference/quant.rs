//! The quantizers: the executable spec that kernels, training, folding and export share.

/// Activation quantizer: k-bit unsigned codes on [0, max].
///
/// q(x) = round(clip(x, 0, max) * n / max) * max / n with n = 2^k - 1. The rounding is
/// half-to-even of one product (`clip(x) * scale`, scale = n / max as f32), which WGSL's
/// `round` computes identically and which no fused multiply-add can alter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantSpec {
    pub bits: u32,
    pub max: f32,
}

impl Default for QuantSpec {
    /// Blueoil's "linear mid-tread half" quantizer: 2 bits on [0, 2].
    fn default() -> Self {
        QuantSpec { bits: 2, max: 2.0 }
    }
}

impl QuantSpec {
    pub const SUPPORTED_BITS: [u32; 5] = [1, 2, 3, 4, 8];

    pub fn new(bits: u32, max: f32) -> Result<Self, String> {
        if !Self::SUPPORTED_BITS.contains(&bits) {
            return Err(format!(
                "activation bits must be one of 1, 2, 3, 4, 8 (got {bits})"
            ));
        }
        if !(max.is_finite() && max > 0.0) {
            return Err(format!(
                "quantizer max must be a positive number (got {max})"
            ));
        }
        Ok(QuantSpec { bits, max })
    }
    /// n = 2^k - 1, the largest code.
    pub fn levels(&self) -> u32 {
        (1u32 << self.bits) - 1
    }
    /// Codes per unit of input: n / max.
    pub fn scale(&self) -> f32 {
        self.levels() as f32 / self.max
    }
    /// Value of one code step: max / n.
    pub fn step(&self) -> f32 {
        self.max / self.levels() as f32
    }
    /// The integer code of x, 0..=n.
    pub fn code(&self, x: f32) -> u32 {
        (x.clamp(0.0, self.max) * self.scale()).round_ties_even() as u32
    }
    /// The quantized value of x.
    pub fn quantize(&self, x: f32) -> f32 {
        self.code(x) as f32 * self.step()
    }
    /// Straight-through gradient mask: 1 on the open interval (0, max).
    pub fn ste_mask(&self, x: f32) -> f32 {
        if x > 0.0 && x < self.max {
            1.0
        } else {
            0.0
        }
    }
}

/// Forward over a slice: codes as f32 (what the GPU kernel writes).
pub fn quant_forward(spec: QuantSpec, x: &[f32]) -> Vec<f32> {
    x.iter().map(|&v| spec.code(v) as f32).collect()
}

/// STE backward: dx = dvalue * 1\[0 < x < max\].
pub fn quant_backward(spec: QuantSpec, x: &[f32], dvalue: &[f32]) -> Vec<f32> {
    x.iter()
        .zip(dvalue)
        .map(|(&v, &g)| g * spec.ste_mask(v))
        .collect()
}

/// STE backward from the gradient w.r.t. codes: dx = dcodes * scale * 1\[0 < x < max\].
pub fn quant_backward_codes(spec: QuantSpec, x: &[f32], dcodes: &[f32]) -> Vec<f32> {
    x.iter()
        .zip(dcodes)
        .map(|(&v, &g)| g * spec.scale() * spec.ste_mask(v))
        .collect()
}
