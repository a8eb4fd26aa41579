//! Bring an image to a target size without distorting it: scale so it covers the
//! target, then cut out the center.

use crate::{Error, Result};
use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageBuffer, Pixel};

/// The one way a decoded image becomes model input, for training data (image folders) and
/// for `pixembed infer` alike: first convert to `c` channels at 8 bits (3: RGB, alpha
/// dropped; 1: grey by luma), then cover `tw` x `th` and crop the centre (`fit_to`).
/// Returns HWC u8 pixels.
pub fn prepare_image(img: DynamicImage, tw: u32, th: u32, c: usize) -> Result<Vec<u8>> {
    if img.width() == 0 || img.height() == 0 {
        return Err(Error::Invalid("empty image".into()));
    }
    Ok(match c {
        1 => fit_to(&img.into_luma8(), tw, th).into_raw(),
        3 => fit_to(&img.into_rgb8(), tw, th).into_raw(),
        _ => {
            return Err(Error::Invalid(format!(
                "models take 1 or 3 channels, not {c}"
            )))
        }
    })
}

/// Scale `img` (w x h) by `s = max(tw / w, th / h)`, so the side that is shorter
/// relative to the target matches it and the other side overhangs, then crop the
/// centered `tw` x `th` window: x0 = (w * s - tw) / 2, y0 = (h * s - th) / 2.
/// An image already of the target size is returned as is.
pub(crate) fn fit_to<P>(
    img: &ImageBuffer<P, Vec<P::Subpixel>>,
    tw: u32,
    th: u32,
) -> ImageBuffer<P, Vec<P::Subpixel>>
where
    P: Pixel + 'static,
{
    let (w, h) = img.dimensions();
    if (w, h) == (tw, th) {
        return img.clone();
    }
    let s = f64::max(tw as f64 / w as f64, th as f64 / h as f64);
    // Rounded, but never below the target (which would leave nothing to crop).
    let sw = ((w as f64 * s).round() as u32).max(tw);
    let sh = ((h as f64 * s).round() as u32).max(th);
    let scaled = imageops::resize(img, sw, sh, FilterType::Triangle);
    let (x0, y0) = ((sw - tw) / 2, (sh - th) / 2);
    imageops::crop_imm(&scaled, x0, y0, tw, th).to_image()
}
