//! Preparing image files for the model: decode (any format the `image` crate reads), convert
//! to the model's channels (RGB, or grey by luma), resize so the shorter side matches the
//! model's input (bilinear), then crop the centre to exactly H x W.

use crate::error::{Error, Result};
use image::imageops::FilterType;
use std::path::Path;

/// HWC u8 pixels of `path` prepared for an input of `h x w x c` (c = 1 or 3).
pub fn load_for_model(path: &Path, h: usize, w: usize, c: usize) -> Result<Vec<u8>> {
    let img = image::ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?
        .decode()
        .map_err(|e| Error::data(path, format!("cannot decode image: {e}")))?;
    let (iw, ih) = (img.width() as f64, img.height() as f64);
    if iw < 1.0 || ih < 1.0 {
        return Err(Error::data(path, "empty image"));
    }
    let scale = (w as f64 / iw).max(h as f64 / ih);
    let (rw, rh) = (
        ((iw * scale).round() as u32).max(w as u32),
        ((ih * scale).round() as u32).max(h as u32),
    );
    let resized = if (rw, rh) == (img.width(), img.height()) {
        img
    } else {
        img.resize_exact(rw, rh, FilterType::Triangle)
    };
    let (x0, y0) = ((rw - w as u32) / 2, (rh - h as u32) / 2);
    let crop = resized.crop_imm(x0, y0, w as u32, h as u32);
    Ok(match c {
        1 => crop.to_luma8().into_raw(),
        3 => crop.to_rgb8().into_raw(),
        _ => {
            return Err(Error::Invalid(format!(
                "models take 1 or 3 channels, not {c}"
            )))
        }
    })
}
