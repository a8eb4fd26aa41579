//! Model configuration: architecture, quantization, first- and last-layer variants.
//! Serialized into checkpoints and exported models.

use crate::reference::QuantSpec;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumMessage, EnumString, IntoStaticStr, VariantArray};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray, EnumMessage)]
#[strum(serialize_all = "kebab-case")]
pub enum Arch {
    /// CIFAR-style ResNet (depth 6n+2, widths w, 2w, 4w, parameter-free shortcuts).
    Resnet,
    /// ImageNet-style ResNet-18 (strided stem, four stages) for larger images.
    Resnet18,
    /// A plain VGG-style stack with max pooling.
    VggSmall,
}

/// How the first layer sees the u8 pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray, EnumMessage)]
#[strum(serialize_all = "kebab-case")]
pub enum FirstLayerKind {
    /// Normalised float pixels, float weights (the usual baseline).
    Float,
    /// Raw 8-bit pixel values times binary weights.
    Int8,
    /// Pixels quantized to k = `embed_bits` bits (--naive-bits): v >> (8 - k), binary weights.
    Naive,
    /// The 8 bits of v as 8 binary planes weighted 2^b, binary weights.
    Bitplane,
    /// Thermometer code with `embed_dim` levels per channel (--thermometer-levels), binary
    /// weights.
    Thermometer,
    /// Pixel embedding: a trainable [256, D] table per channel (or shared), D = `embed_dim`,
    /// values in (0, `act_max`) quantized to `embed_bits` bits, binary weights.
    Embed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray, EnumMessage)]
#[strum(serialize_all = "kebab-case")]
pub enum TableKind {
    Shared,
    PerChannel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray, EnumMessage)]
#[strum(serialize_all = "kebab-case")]
pub enum LastLayer {
    /// Float weights and bias.
    Float,
    /// Binary weights followed by a per-class batch-norm (an affine at inference).
    Binary,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub arch: Arch,
    pub depth: usize,
    pub width: usize,
    pub act_bits: u32,
    /// The activations' clip maximum, and the range of the embedding table's values.
    pub act_max: f32,
    pub first_layer: FirstLayerKind,
    /// Embed: the table's dimension D. Thermometer: its number of levels.
    pub embed_dim: usize,
    /// Embed: bits of the table's quantized values. Naive: bits each pixel keeps.
    pub embed_bits: u32,
    pub embed_table: TableKind,
    pub last_layer: LastLayer,
    /// Input height, width, channels.
    pub input: [usize; 3],
    pub classes: usize,
    pub class_names: Vec<String>,
}

impl ModelConfig {
    /// The architecture as the command lines print it: `Resnet depth 20`, `VggSmall`.
    pub fn arch_label(&self) -> String {
        match self.arch {
            Arch::Resnet => format!("{:?} depth {}", self.arch, self.depth),
            other => format!("{other:?}"),
        }
    }

    pub fn act(&self) -> QuantSpec {
        QuantSpec {
            bits: self.act_bits,
            max: self.act_max,
        }
    }
    /// The quantizer of the embedding table (and the naive input's bit width).
    pub fn embed_spec(&self) -> QuantSpec {
        QuantSpec {
            bits: self.embed_bits,
            max: self.act_max,
        }
    }

    /// The first convolution's kernel size: 7 for the ImageNet-style stem, else 3.
    pub fn first_kernel(&self) -> usize {
        if self.arch == Arch::Resnet18 {
            7
        } else {
            3
        }
    }
    /// The first convolution's stride: 2 for the ImageNet-style stem, else 1.
    pub fn first_stride(&self) -> usize {
        if self.arch == Arch::Resnet18 {
            2
        } else {
            1
        }
    }

    /// Check the configuration before any GPU work.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |m: String| Err(crate::Error::Invalid(m));
        QuantSpec::new(self.act_bits, self.act_max).map_err(crate::Error::Invalid)?;
        QuantSpec::new(self.embed_bits, self.act_max).map_err(crate::Error::Invalid)?;
        if self.arch == Arch::Resnet && (self.depth < 8 || !(self.depth - 2).is_multiple_of(6)) {
            return bad(format!(
                "--depth for resnet must be 6n+2 (8, 14, 20, 32, 44, 56, ...), got {}",
                self.depth
            ));
        }
        if self.width == 0 || self.width > 1024 {
            return bad(format!("--width must be in 1..=1024, got {}", self.width));
        }
        if self.embed_dim == 0 || self.embed_dim > 64 {
            return bad(format!(
                "--embed-dim must be in 1..=64, got {}",
                self.embed_dim
            ));
        }
        let [h, w, c] = self.input;
        if h < 8 || w < 8 || !(c == 1 || c == 3) {
            return bad(format!(
                "input must be at least 8x8 with 1 or 3 channels, got {h}x{w}x{c}"
            ));
        }
        if self.classes < 2 {
            return bad(format!("need at least 2 classes, got {}", self.classes));
        }
        Ok(())
    }
}
