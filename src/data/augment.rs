//! Training augmentation: random crop with zero padding and horizontal flip, drawn
//! from a seeded stream so that image `index` of epoch `epoch` always gets the same.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use strum::{Display, EnumMessage, EnumString, IntoStaticStr, VariantArray};

/// Which training augmentation a run uses (`--augment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray, EnumMessage)]
#[strum(serialize_all = "kebab-case")]
pub enum AugmentKind {
    /// Chosen from the run and the data: none for a one-epoch run (every image is seen
    /// once, so there is nothing to overfit and augmentation only slows learning); else
    /// crop-flip for colour images and crop for grayscale ones (digits, letters and
    /// clothing are not classes a mirror leaves alone).
    Auto,
    /// None: every image as stored.
    None,
    /// Random crop of the zero-padded image.
    Crop,
    /// Random crop, then a horizontal flip with probability 1/2.
    CropFlip,
}

impl AugmentKind {
    /// The augmentation for a run of `epochs` over `h x w x c` images: `Auto` resolved,
    /// padding as in [`Augment::standard`].
    pub fn resolve(self, epochs: usize, h: usize, w: usize, c: usize) -> Option<Augment> {
        let kind = match self {
            AugmentKind::Auto if epochs <= 1 => AugmentKind::None,
            AugmentKind::Auto if c == 1 => AugmentKind::Crop,
            AugmentKind::Auto => AugmentKind::CropFlip,
            k => k,
        };
        let standard = Augment::standard(h, w);
        match kind {
            AugmentKind::None => None,
            AugmentKind::Crop => Some(Augment {
                flip: false,
                ..standard
            }),
            _ => Some(standard),
        }
    }

    /// The resolved choice in words, for the start of a run.
    pub fn describe(self, epochs: usize, h: usize, w: usize, c: usize) -> String {
        let chosen = match self.resolve(epochs, h, w, c) {
            None => "none".to_string(),
            Some(a) if a.flip => format!("random crop (pad {}) + horizontal flip", a.pad),
            Some(a) => format!("random crop (pad {}), no flips", a.pad),
        };
        if self == AugmentKind::Auto {
            format!("{chosen} (auto: {epochs} epoch(s) of {c}-channel images)")
        } else {
            chosen
        }
    }
}

/// Reads `augment` as an [`AugmentKind`], or as the boolean older run files stored
/// (true: the standard crop + flip, false: none).
pub fn deserialize_augment<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<AugmentKind, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Flag(bool),
        Kind(AugmentKind),
    }
    Ok(match Stored::deserialize(d)? {
        Stored::Flag(true) => AugmentKind::CropFlip,
        Stored::Flag(false) => AugmentKind::None,
        Stored::Kind(k) => k,
    })
}

/// A random crop of an image padded by `pad` zero pixels on every side, then a
/// horizontal flip with probability 1/2 (when `flip`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Augment {
    pub pad: usize,
    pub flip: bool,
}

/// One image's draw: crop offsets into the padded image (0..=2*pad) and the flip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Draw {
    pub dy: usize,
    pub dx: usize,
    pub flip: bool,
}

impl Augment {
    /// The usual CIFAR recipe, scaled: pad = round(min(h, w) / 8) (4 for 32x32 and
    /// 28x28, 2 for 16x16), with flips.
    pub fn standard(h: usize, w: usize) -> Self {
        Augment {
            pad: (h.min(w) + 4) / 8,
            flip: true,
        }
    }

    /// The draw for image `index` in epoch `epoch`: a function of (seed, epoch, index)
    /// only, so any batch can be rebuilt alone (resume) and in any order.
    pub fn draw(&self, seed: u64, epoch: u64, index: usize) -> Draw {
        let mut rng = stream(seed, epoch, index as u64, *b"augment\0");
        let span = 2 * self.pad as u64 + 1;
        let dy = below(rng.next_u64(), span) as usize;
        let dx = below(rng.next_u64(), span) as usize;
        let flip = self.flip && rng.next_u64() >> 63 == 1;
        Draw { dy, dx, flip }
    }

    /// Write the augmented `h x w x c` image `src` to `out`:
    ///   out[y, x] = padded[y + dy, xs + dx],  xs = (w - 1 - x) if flip else x,
    ///   padded[Y, X] = src[Y - pad, X - pad] inside the image, 0 outside.
    pub fn apply(&self, src: &[u8], (h, w, c): (usize, usize, usize), d: Draw, out: &mut [u8]) {
        for y in 0..h {
            // Source row: sy = y + dy - pad (outside 0..h: a padding row).
            let sy = (y + d.dy).checked_sub(self.pad).filter(|&sy| sy < h);
            for x in 0..w {
                let xs = if d.flip { w - 1 - x } else { x };
                let sx = (xs + d.dx).checked_sub(self.pad).filter(|&sx| sx < w);
                let o = (y * w + x) * c;
                match (sy, sx) {
                    (Some(sy), Some(sx)) => {
                        let s = (sy * w + sx) * c;
                        out[o..o + c].copy_from_slice(&src[s..s + c]);
                    }
                    _ => out[o..o + c].fill(0),
                }
            }
        }
    }
}

/// A ChaCha8 stream keyed by (seed, a, b, tag): independent streams for every
/// (epoch, image) and purpose, fixed by the ChaCha8 definition (not by `rand`'s
/// helpers, whose algorithms may change between versions).
pub(crate) fn stream(seed: u64, a: u64, b: u64, tag: [u8; 8]) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&a.to_le_bytes());
    key[16..24].copy_from_slice(&b.to_le_bytes());
    key[24..].copy_from_slice(&tag);
    ChaCha8Rng::from_seed(key)
}

/// A value in 0..n from 64 random bits: floor(x * n / 2^64) (bias below n / 2^64).
pub(crate) fn below(x: u64, n: u64) -> u64 {
    ((x as u128 * n as u128) >> 64) as u64
}
