//! curves.png: training loss and accuracy per epoch, drawn with plotters.
//!
//! Text needs a TrueType font; the first of a few common system fonts is used. Without
//! one the curves are drawn with no labels.

use super::metrics::EpochMetrics;
use crate::error::{Error, Result};
use image::ImageEncoder;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

const FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Register a system font once; false when none could be loaded.
fn font_available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        FONTS.iter().any(|p| {
            std::fs::read(p).ok().is_some_and(|bytes| {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
            })
        })
    })
}

fn err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::data(path, format!("drawing the plot failed: {e}"))
}

/// Draw the loss (left) and train/test top-1 and test top-5 accuracy (right).
pub fn write_curves(path: &Path, history: &[EpochMetrics]) -> Result<()> {
    if history.is_empty() {
        return Ok(());
    }
    let text = font_available();
    // Drawn into memory, then encoded and written atomically: a reader never sees half a
    // picture, and an interrupted run leaves the previous one.
    let (width, height) = (1000u32, 400u32);
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    draw(path, history, text, &mut rgb, (width, height))?;
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| err(path, e))?;
    crate::io::write_atomic(path, &png)
}

fn draw(
    path: &Path,
    history: &[EpochMetrics],
    text: bool,
    rgb: &mut [u8],
    size: (u32, u32),
) -> Result<()> {
    let root = BitMapBackend::with_buffer(rgb, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    let (left, right) = root.split_horizontally(500);
    let last = history.last().map_or(1, |m| m.epoch).max(1) as f64;
    let max_loss = history
        .iter()
        .map(|m| m.train_loss)
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.05;

    let mut b = ChartBuilder::on(&left);
    b.margin(15)
        .x_label_area_size(if text { 30 } else { 0 })
        .y_label_area_size(if text { 45 } else { 0 });
    if text {
        b.caption("training loss", ("sans-serif", 18));
    }
    let mut chart = b
        .build_cartesian_2d(0.0..last, 0.0..max_loss)
        .map_err(|e| err(path, e))?;
    if text {
        chart
            .configure_mesh()
            .x_desc("epoch")
            .draw()
            .map_err(|e| err(path, e))?;
    }
    chart
        .draw_series(LineSeries::new(
            history.iter().map(|m| (m.epoch as f64, m.train_loss)),
            RED.stroke_width(2),
        ))
        .map_err(|e| err(path, e))?;

    let mut b = ChartBuilder::on(&right);
    b.margin(15)
        .x_label_area_size(if text { 30 } else { 0 })
        .y_label_area_size(if text { 45 } else { 0 });
    if text {
        b.caption(
            "accuracy (train top-1 red, test top-1 blue, test top-5 green)",
            ("sans-serif", 14),
        );
    }
    let mut chart = b
        .build_cartesian_2d(0.0..last, 0.0..1.0)
        .map_err(|e| err(path, e))?;
    if text {
        chart
            .configure_mesh()
            .x_desc("epoch")
            .draw()
            .map_err(|e| err(path, e))?;
    }
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
    root.present().map_err(|e| err(path, e))?;
    Ok(())
}
