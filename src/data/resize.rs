//! Bring an image to a target size without distorting it: scale so it covers the
//! target, then cut out the center.

use image::imageops::{self, FilterType};
use image::{ImageBuffer, Pixel};

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
