//! The residual output of the bitwise convolution: the integer engine's residual thresholds
//! (code = q(BN(acc) + step * s), folded per channel and shortcut code s) fused into the
//! convolution. Math: shaders/bconv_residual.wgsl; unfused kernel and reference:
//! [`crate::ops::residual_threshold`], [`crate::reference::lut::residual_threshold`].

use crate::error::{Error, Result};
use crate::gpu::{DType, Tensor};
use crate::ops::layout::{words_for, ConvGeom};
use crate::ops::threshold::{check_bits, levels};

/// Thresholds of a residual unit and its shortcut input.
#[derive(Clone, Copy, Debug)]
pub struct Residual<'a> {
    /// I32 `[O, n+1, n]` (`n = 2^bits - 1`): row s of channel o, ascending, for shortcut code s.
    pub thresholds: &'a Tensor,
    /// I32 `[O, n+1]`: 1 `#{t : acc >= t}`, -1 `#{t : acc <= t}`, 0 constant `t_0`.
    pub flags: &'a Tensor,
    /// The block input, Bits `[N, H, W, bits, ceil(cin/32)]`; output pixel (oy, ox) takes
    /// the codes at (oy stride, ox stride), channels `o >= cin` take code 0 (option-A shortcut).
    pub input: &'a Tensor,
    pub cin: usize,
    pub stride: usize,
    /// Code width of the block input and of the output.
    pub bits: u32,
}

impl Residual<'_> {
    /// Error unless the tensors fit a convolution of geometry `g`.
    pub(super) fn check(&self, g: &ConvGeom) -> Result<()> {
        check_bits("residual thresholds", self.bits)?;
        let [n, ho, wo, o] = g.output_shape();
        let x = self.input.shape();
        let n_lv = levels(self.bits);
        let ok = self.input.dtype() == DType::Bits
            && x.len() == 5
            && x[0] == n
            && self.stride > 0
            && x[1].div_ceil(self.stride) == ho
            && x[2].div_ceil(self.stride) == wo
            && x[3] == self.bits as usize
            && x[4] == words_for(self.cin)
            && self.cin <= o;
        if !ok {
            return Err(Error::shape(format!(
                "residual shortcut: input {:?} ({} channels, {}-bit codes, stride {}) for output [{n},{ho},{wo},{o}]",
                self.input, self.cin, self.bits, self.stride
            )));
        }
        self.thresholds
            .check_shape("residual thresholds", DType::I32, &[o, n_lv + 1, n_lv])?;
        self.flags
            .check_shape("residual flags", DType::I32, &[o, n_lv + 1])
    }
}
