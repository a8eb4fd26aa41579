//! The in-memory dataset: u8 pixels in NHWC order and one label per image.

use super::resize::fit_to;
use crate::{Error, Result};

/// `n` images of `h` x `w` pixels with `c` channels, stored NHWC:
/// pixel (i, y, x, ch) is at `images[((i * h + y) * w + x) * c + ch]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dataset {
    pub images: Vec<u8>,
    pub labels: Vec<u32>,
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    /// Class names; every label is `< classes.len()`.
    pub classes: Vec<String>,
}

impl Dataset {
    /// Build a dataset, checking that the buffers agree with the shape and that every
    /// label names a class.
    pub fn new(
        images: Vec<u8>,
        labels: Vec<u32>,
        (h, w, c): (usize, usize, usize),
        classes: Vec<String>,
    ) -> Result<Self> {
        let n = labels.len();
        let d = Dataset {
            images,
            labels,
            n,
            h,
            w,
            c,
            classes,
        };
        d.check()?;
        Ok(d)
    }

    /// Check the invariants: buffer lengths match `n*h*w*c` and `n`, labels in range.
    pub fn check(&self) -> Result<()> {
        let image_len = self.h * self.w * self.c;
        let pixels = self.n.checked_mul(image_len);
        if self.labels.len() != self.n || pixels != Some(self.images.len()) {
            return Err(Error::shape(format!(
                "dataset of {} images of {}x{}x{} needs {} pixel bytes and {} labels, has {} and {}",
                self.n,
                self.h,
                self.w,
                self.c,
                self.n as u128 * image_len as u128,
                self.n,
                self.images.len(),
                self.labels.len()
            )));
        }
        if let Some((i, &l)) = self
            .labels
            .iter()
            .enumerate()
            .find(|(_, &l)| l as usize >= self.classes.len())
        {
            return Err(Error::shape(format!(
                "image {i} has label {l} but the dataset has {} classes",
                self.classes.len()
            )));
        }
        Ok(())
    }

    /// Bytes per image: `h * w * c`.
    pub fn image_len(&self) -> usize {
        self.h * self.w * self.c
    }

    /// The pixels of image `i` (HWC), or `None` past the end.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let len = self.image_len();
        self.images.get(i * len..(i + 1) * len)
    }

    /// Keep the first `n` images (no-op when there are fewer).
    pub fn truncate(&mut self, n: usize) {
        if n < self.n {
            self.n = n;
            self.labels.truncate(n);
            self.images.truncate(n * self.image_len());
        }
    }

    /// How many images each class has.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// Every image brought to `width` x `height` (cover, then center crop; see
    /// [`super::LoadOptions::resize`]). Works for 1 or 3 channels.
    pub fn resized(self, width: u32, height: u32) -> Result<Self> {
        if (self.w, self.h) == (width as usize, height as usize) {
            return Ok(self);
        }
        if width == 0 || height == 0 {
            return Err(Error::Invalid(format!(
                "resize target {width}x{height} must be at least 1x1"
            )));
        }
        let bytes = super::size::pixel_bytes(
            &format!("resizing to {height}x{width}"),
            self.n,
            height as usize,
            width as usize,
            self.c,
        )?;
        let mut images = Vec::with_capacity(bytes);
        for i in 0..self.n {
            let src = &self.images[i * self.image_len()..(i + 1) * self.image_len()];
            let (w, h) = (self.w as u32, self.h as u32);
            let out = match self.c {
                1 => {
                    let img = image::GrayImage::from_raw(w, h, src.to_vec());
                    img.map(|img| fit_to(&img, width, height).into_raw())
                }
                3 => {
                    let img = image::RgbImage::from_raw(w, h, src.to_vec());
                    img.map(|img| fit_to(&img, width, height).into_raw())
                }
                c => {
                    return Err(Error::Invalid(format!(
                        "cannot resize images with {c} channels (only 1 or 3)"
                    )))
                }
            };
            let out = out.ok_or_else(|| Error::shape("image buffer does not match its size"))?;
            images.extend_from_slice(&out);
        }
        Dataset::new(
            images,
            self.labels,
            (height as usize, width as usize, self.c),
            self.classes,
        )
    }
}
