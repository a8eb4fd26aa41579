//! Decode image files to RGB pixels on all cores.

use super::resize::prepare_image;
use crate::{Error, Result};
use image::ImageReader;
use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Width and height of the image at `path`, from its header.
pub(crate) fn image_size(path: &Path) -> Result<(u32, u32)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    reader
        .into_dimensions()
        .map_err(|e| Error::data(path, format!("cannot read image: {e}")))
}

/// What every decoded image must become.
pub(crate) struct Target<'a> {
    pub width: u32,
    pub height: u32,
    /// Resize images of another size (else they are an error).
    pub resize: bool,
    /// The image whose size set the target, named when another one differs.
    pub like: &'a Path,
}

/// Decode the image files at `files` into one NHWC buffer of RGB pixels
/// (`files.len() * h * w * 3` bytes), splitting the files into one contiguous run per thread
/// (2 or more threads). The first failure stops the other threads and is returned.
pub(crate) fn decode_images<P: AsRef<Path> + Sync>(
    files: &[P],
    target: &Target,
) -> Result<Vec<u8>> {
    let image_len = super::size::pixel_bytes(
        "decoded images",
        1,
        target.height as usize,
        target.width as usize,
        3,
    )?;
    let total = super::size::pixel_bytes(
        "decoded images",
        files.len(),
        target.height as usize,
        target.width as usize,
        3,
    )?;
    let mut out = vec![0u8; total];
    if files.is_empty() {
        return Ok(out);
    }
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 16)
        .min(files.len());
    let per_thread = files.len().div_ceil(threads);
    let failed = AtomicBool::new(false);
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(per_thread)
            .zip(out.chunks_mut(per_thread * image_len))
            .map(|(chunk, buf)| {
                let failed = &failed;
                let handle = s.spawn(move || {
                    for (file, pixels) in chunk.iter().zip(buf.chunks_exact_mut(image_len)) {
                        if failed.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Err(e) = decode_into(file.as_ref(), target, pixels) {
                            failed.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                    Ok(())
                });
                (handle, chunk[0].as_ref())
            })
            .collect();
        handles
            .into_iter()
            .map(|(h, first)| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::data(
                        first,
                        "the image decoder panicked on this run of files",
                    ))
                })
            })
            .collect()
    });
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(out)
}

/// Decode one file to RGB at the target size into `out` (h * w * 3 bytes).
fn decode_into(path: &Path, target: &Target, out: &mut [u8]) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    let image = reader
        .decode()
        .map_err(|e| Error::data(path, format!("cannot decode image: {e}")))?;
    let (w, h) = (image.width(), image.height());
    if (w, h) != (target.width, target.height) && !target.resize {
        return Err(Error::data(
            path,
            format!(
                "image is {w}x{h}, but {} is {}x{}: all images must have one size, \
                 or give a resize target",
                target.like.display(),
                target.width,
                target.height
            ),
        ));
    }
    let pixels = prepare_image(image, target.width, target.height, 3)
        .map_err(|e| Error::data(path, e.to_string()))?;
    out.copy_from_slice(&pixels);
    Ok(())
}
