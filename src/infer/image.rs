//! Preparing image files for the model: decode (any format the `image` crate reads), then
//! [`crate::data::prepare_image`], the same preparation image-folder training data gets
//! (convert to the model's channels, resize so the image covers the input, crop the centre),
//! so an image classified here gets the prediction `eval` gives it as part of a dataset.

use crate::error::{Error, Result};
use std::path::Path;

/// HWC u8 pixels of `path` prepared for an input of `h x w x c` (c = 1 or 3).
pub fn load_for_model(path: &Path, h: usize, w: usize, c: usize) -> Result<Vec<u8>> {
    let img = image::ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?
        .decode()
        .map_err(|e| Error::data(path, format!("cannot decode image: {e}")))?;
    let (w, h) = (
        u32::try_from(w).map_err(|_| Error::Invalid(format!("input width {w} is too large")))?,
        u32::try_from(h).map_err(|_| Error::Invalid(format!("input height {h} is too large")))?,
    );
    crate::data::prepare_image(img, w, h, c).map_err(|e| Error::data(path, e.to_string()))
}
