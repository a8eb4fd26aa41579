//! curves.png: training loss and accuracy per epoch, drawn with plotters; and what every
//! picture of pixembed shares: the bundled font (DejaVu Sans, assets/fonts, so that no
//! system font is needed) and atomic PNG writing.

use super::metrics::EpochMetrics;
use crate::error::{Error, Result};
use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// DejaVu Sans (Bitstream Vera license: assets/fonts/DejaVuSans-LICENSE.txt).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Register the bundled font as "sans-serif" (once).
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            log::warn!("the bundled font could not be registered: pictures have no text");
        }
    });
}

/// The error of a failed drawing into `path`.
pub fn err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::data(path, format!("drawing the plot failed: {e}"))
}

/// Draw a `size` picture with `draw` into memory, then encode it and write it atomically: a
/// reader never sees half a picture, and an interrupted run leaves the previous one.
pub fn write_png(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Result<()>,
) -> Result<()> {
    register_font();
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(path, e))?;
        draw(&root)?;
        root.present().map_err(|e| err(path, e))?;
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| err(path, e))?;
    crate::io::write_atomic(path, &png)
}

/// Draw the loss (left) and train/test top-1 and test top-5 accuracy (right).
pub fn write_curves(path: &Path, history: &[EpochMetrics]) -> Result<()> {
    if history.is_empty() {
        return Ok(());
    }
    write_png(path, (1000, 400), |root| draw(path, history, root))
}

fn draw(
    path: &Path,
    history: &[EpochMetrics],
    root: &DrawingArea<BitMapBackend, Shift>,
) -> Result<()> {
    let (left, right) = root.split_horizontally(500);
    let last = history.last().map_or(1, |m| m.epoch).max(1) as f64;
    let max_loss = history
        .iter()
        .map(|m| m.train_loss)
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.05;

    let mut b = ChartBuilder::on(&left);
    b.margin(15).x_label_area_size(30).y_label_area_size(45);
    b.caption("training loss", ("sans-serif", 18));
    let mut chart = b
        .build_cartesian_2d(0.0..last, 0.0..max_loss)
        .map_err(|e| err(path, e))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .draw()
        .map_err(|e| err(path, e))?;
    chart
        .draw_series(LineSeries::new(
            history.iter().map(|m| (m.epoch as f64, m.train_loss)),
            RED.stroke_width(2),
        ))
        .map_err(|e| err(path, e))?;

    let mut b = ChartBuilder::on(&right);
    b.margin(15).x_label_area_size(30).y_label_area_size(45);
    b.caption(
        "accuracy (train top-1 red, test top-1 blue, test top-5 green)",
        ("sans-serif", 14),
    );
    let mut chart = b
        .build_cartesian_2d(0.0..last, 0.0..1.0)
        .map_err(|e| err(path, e))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .draw()
        .map_err(|e| err(path, e))?;
    for (color, f) in [
        (
            RED,
            (|m: &EpochMetrics| m.train_top1) as fn(&EpochMetrics) -> f64,
        ),
        (BLUE, |m| m.test_top1),
        (GREEN, |m| m.test_top5),
    ] {
        chart
            .draw_series(LineSeries::new(
                history.iter().map(|m| (m.epoch as f64, f(m))),
                color.stroke_width(2),
            ))
            .map_err(|e| err(path, e))?;
    }
    Ok(())
}
