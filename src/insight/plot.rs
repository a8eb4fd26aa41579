//! `pixembed plot table`: the first layer's code table drawn as heat maps. For each input
//! channel, pixel value (0..255, x) against embedding dimension (y), coloured by the
//! quantized code the exported model stores; beside it the float table the codes come from
//! (for a run directory or checkpoint of an embed model). The thermometer and naive
//! encodings of the same D and bits can be drawn below, the same way, for comparison.
//!
//! The codes are read from the bytes `pixembed export` writes for the model (`lut.codes`),
//! so the picture shows exactly what inference uses.

use super::summary::{self, Source};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::nn::{FirstLayerKind, Model, ModelConfig};
use crate::train::plot::{err, write_png};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// How a panel's values map to colours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// Integer codes 0..=max (a legend box per code when there are few).
    Codes { max: u32 },
    /// Float values in lo..=hi (a colour bar).
    Float { lo: f32, hi: f32 },
}

/// One heat map: 256 pixel values x `dims` dimensions, row-major by pixel value.
#[derive(Clone, Debug)]
pub struct Panel {
    pub title: String,
    pub dims: usize,
    /// values\[v * dims + d\].
    pub values: Vec<f32>,
    pub scale: Scale,
}

/// Width and height of one panel in pixels.
pub const PANEL: (u32, u32) = (760, 270);

/// The codes of the exported file `bytes`: (\[C, 256, D\] as C tables of 256 x D, D, bits).
fn lut_codes(bytes: &[u8]) -> Result<(Vec<Vec<f32>>, usize, u32)> {
    let bad = |m: &str| Error::Invalid(format!("exported model: {m}"));
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(&e.to_string()))?;
    let t = st
        .tensor("lut.codes")
        .map_err(|_| bad("the float first layer has no code table to draw"))?;
    let [_, n, d] = t.shape() else {
        return Err(bad("lut.codes is not [C, 256, D]"));
    };
    if *n != 256 {
        return Err(bad("lut.codes is not [C, 256, D]"));
    }
    let words: Vec<f32> = t
        .data()
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
        .collect();
    let (_, header) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(&e.to_string()))?;
    let bits = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("lut_bits"))
        .and_then(|b| b.parse().ok())
        .ok_or_else(|| bad("no lut_bits"))?;
    let per = 256 * d;
    Ok((words.chunks(per).map(|c| c.to_vec()).collect(), *d, bits))
}

/// How many of the codes of a trained embed model's exported file `bytes` differ from those
/// of the initial table (the soft thermometer every run starts from): (changed, total).
/// None for other first layers.
pub fn codes_changed(gpu: &Gpu, cfg: &ModelConfig, bytes: &[u8]) -> Result<Option<(usize, usize)>> {
    if cfg.first_layer != FirstLayerKind::Embed {
        return Ok(None);
    }
    let (now, ..) = lut_codes(bytes)?;
    let (init, ..) = lut_codes(&summary::export_bytes(gpu, Model::new(gpu, cfg, 0)?)?)?;
    let (now, init) = (now.concat(), init.concat());
    let changed = now.iter().zip(&init).filter(|(a, b)| a != b).count();
    Ok(Some((changed, now.len())))
}

/// [`codes_changed`] of a model from any [`Source`].
pub fn table_changes(gpu: &Gpu, source: &Source) -> Result<Option<(usize, usize)>> {
    let (model, bytes, _) = summary::load(gpu, source)?;
    codes_changed(gpu, &model.cfg, &bytes)
}

fn codes_scale(values: &[Vec<f32>]) -> Scale {
    let max = values.iter().flatten().fold(0.0f32, |a, &b| a.max(b)) as u32;
    Scale::Codes { max: max.max(1) }
}

fn variant_title(cfg: &ModelConfig, bits: u32, trained: bool) -> String {
    match cfg.first_layer {
        FirstLayerKind::Embed if trained => format!("learned table, {bits}-bit codes"),
        FirstLayerKind::Embed => format!("initial table, {bits}-bit codes"),
        FirstLayerKind::Thermometer => format!("thermometer, {} levels", cfg.embed_dim),
        FirstLayerKind::Naive => format!("naive, {}-bit pixels", cfg.embed_bits),
        FirstLayerKind::Int8 => "int8 pixel value".into(),
        FirstLayerKind::Bitplane => "bit planes: 1 where bit b is set (code 2^b)".into(),
        FirstLayerKind::Float => "float".into(),
    }
}

fn channel_name(cfg: &ModelConfig, ch: usize, tables: usize) -> String {
    if cfg.input[2] == 1 {
        "gray".into()
    } else if tables == 1 {
        "every channel".into()
    } else {
        format!("channel {ch}")
    }
}

/// The panels of a model: per channel its codes, and beside them the float table when
/// `float_table` (embed models from a run); then, with `compare`, the thermometer and
/// naive encodings of the same D and bits. Returns the panels and the number of columns.
pub fn panels(
    gpu: &Gpu,
    source: &Source,
    compare: bool,
) -> Result<(Vec<Panel>, usize, ModelConfig)> {
    let (model, bytes, _) = summary::load(gpu, source)?;
    let cfg = model.cfg.clone();
    if cfg.first_layer == FirstLayerKind::Float {
        return Err(Error::Invalid(
            "the float first layer has no code table to draw (try --first-layer embed, \
             thermometer, naive, int8 or bitplane)"
                .into(),
        ));
    }
    let from_run = matches!(source, Source::Path(p) if !summary::is_exported(p));
    let float_table = match (&model.first.table, from_run) {
        (Some(t), true) => Some(t.value.to_vec::<f32>(gpu)?),
        _ => None,
    };
    let (mut codes, d, bits) = lut_codes(&bytes)?;
    let trained = !matches!(source, Source::Config(_));
    let changed = match trained {
        true => codes_changed(gpu, &cfg, &bytes)?,
        false => None,
    };
    if cfg.first_layer == FirstLayerKind::Bitplane {
        // Plane b holds 0 or 2^b: drawn as bits, so that the low planes are visible.
        codes
            .iter_mut()
            .flatten()
            .for_each(|v| *v = (*v > 0.0) as u32 as f32);
    }
    // Channels that share one table (or one fixed encoding) are drawn once.
    let float_tables = float_table.as_ref().map_or(1, |f| f.len() / (256 * d));
    if float_tables == 1 && codes.iter().all(|c| *c == codes[0]) {
        codes.truncate(1);
    }
    let scale = codes_scale(&codes);
    let cols = if float_table.is_some() || compare {
        2
    } else {
        1
    };
    let mut out = Vec::new();
    for (ch, values) in codes.iter().enumerate() {
        out.push(Panel {
            title: format!(
                "{}: {}{}",
                channel_name(&cfg, ch, codes.len()),
                variant_title(&cfg, bits, trained),
                changed.map_or(String::new(), |(n, total)| format!(
                    " ({n} of {total} differ from the initial table)"
                ))
            ),
            dims: d,
            values: values.clone(),
            scale,
        });
        if let Some(f) = &float_table {
            let tables = f.len() / (256 * d);
            let t = ch.min(tables - 1);
            out.push(Panel {
                title: format!(
                    "{}: float table E before quantization",
                    channel_name(&cfg, ch, tables)
                ),
                dims: d,
                values: f[t * 256 * d..(t + 1) * 256 * d].to_vec(),
                scale: Scale::Float {
                    lo: 0.0,
                    hi: cfg.act_max,
                },
            });
        } else if cols == 2 {
            out.push(Panel {
                title: String::new(),
                dims: 0,
                values: Vec::new(),
                scale,
            });
        }
    }
    if compare {
        for v in [FirstLayerKind::Thermometer, FirstLayerKind::Naive] {
            let mut c = cfg.clone();
            c.first_layer = v;
            let bytes = summary::export_bytes(gpu, Model::new(gpu, &c, 0)?)?;
            let (codes, d, bits) = lut_codes(&bytes)?;
            out.push(Panel {
                title: format!("for comparison: {}", variant_title(&c, bits, false)),
                dims: d,
                values: codes[0].clone(),
                scale: codes_scale(&codes),
            });
        }
    }
    Ok((out, cols, cfg))
}

/// Draw the table picture of `source` into `path` (see [`panels`]); returns its size.
pub fn write_table(gpu: &Gpu, source: &Source, compare: bool, path: &Path) -> Result<(u32, u32)> {
    let (panels, cols, _) = panels(gpu, source, compare)?;
    write_panels(path, &panels, cols)
}

/// Draw `panels` in a grid of `cols` columns; returns the picture's size.
pub fn write_panels(path: &Path, panels: &[Panel], cols: usize) -> Result<(u32, u32)> {
    let rows = panels.len().div_ceil(cols.max(1));
    let size = (PANEL.0 * cols as u32, PANEL.1 * rows as u32);
    write_png(path, size, |root| {
        let areas = root.split_evenly((rows, cols));
        for (p, area) in panels.iter().zip(areas.iter()) {
            if p.dims > 0 {
                draw_panel(path, p, area)?;
            }
        }
        Ok(())
    })?;
    Ok(size)
}

fn color(scale: Scale, v: f32) -> RGBColor {
    let (lo, hi) = match scale {
        Scale::Codes { max } => (0.0, max as f32),
        Scale::Float { lo, hi } => (lo, hi),
    };
    ViridisRGB.get_color_normalized(v.clamp(lo, hi), lo, hi)
}

fn draw_panel(path: &Path, p: &Panel, area: &DrawingArea<BitMapBackend, Shift>) -> Result<()> {
    let e = |x| err(path, x);
    let (plot, legend) = area.split_horizontally(PANEL.0 - 130);
    let d = p.dims as f64;
    let mut chart = ChartBuilder::on(&plot)
        .caption(&p.title, ("sans-serif", 17))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..256.0, -0.5..d - 0.5)
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(9)
        .x_label_formatter(&|v| format!("{}", *v as i64))
        .y_labels(p.dims.min(16))
        .y_label_formatter(&|v| format!("{}", v.round() as i64))
        .x_desc("pixel value")
        .y_desc("dimension")
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    chart
        .draw_series((0..256).flat_map(|v| {
            (0..p.dims).map(move |k| {
                let c = color(p.scale, p.values[v * p.dims + k]);
                let (x, y) = (v as f64, k as f64);
                Rectangle::new([(x, y - 0.5), (x + 1.0, y + 0.5)], c.filled())
            })
        }))
        .map_err(e)?;
    draw_legend(path, p.scale, &legend)
}

/// A legend of code values (one box per code, up to 16) or a colour bar with its range.
fn draw_legend(path: &Path, scale: Scale, area: &DrawingArea<BitMapBackend, Shift>) -> Result<()> {
    let e = |x| err(path, x);
    let font = ("sans-serif", 13).into_font();
    let (title, top) = match scale {
        Scale::Codes { .. } => ("code", 40),
        Scale::Float { .. } => ("value", 40),
    };
    area.draw(&Text::new(title, (10, top - 20), font.clone()))
        .map_err(e)?;
    match scale {
        Scale::Codes { max } if max < 16 => {
            let step = (170 / (max as i32 + 1)).clamp(10, 22);
            for code in 0..=max {
                // Highest code on top, as on the heat map's colour order.
                let y = top + (max - code) as i32 * step;
                area.draw(&Rectangle::new(
                    [(10, y), (30, y + step - 3)],
                    color(scale, code as f32).filled(),
                ))
                .map_err(e)?;
                area.draw(&Rectangle::new([(10, y), (30, y + step - 3)], BLACK))
                    .map_err(e)?;
                area.draw(&Text::new(code.to_string(), (36, y), font.clone()))
                    .map_err(e)?;
            }
        }
        _ => {
            let (lo, hi) = match scale {
                Scale::Codes { max } => (0.0, max as f32),
                Scale::Float { lo, hi } => (lo, hi),
            };
            let h = 160;
            for i in 0..h {
                let v = hi - (hi - lo) * i as f32 / (h - 1) as f32;
                area.draw(&Rectangle::new(
                    [(10, top + i), (30, top + i + 1)],
                    color(scale, v).filled(),
                ))
                .map_err(e)?;
            }
            area.draw(&Rectangle::new([(10, top), (30, top + h)], BLACK))
                .map_err(e)?;
            let label = |v: f32| {
                if matches!(scale, Scale::Codes { .. }) {
                    format!("{}", v.round() as i64)
                } else {
                    format!("{v:.2}")
                }
            };
            for (v, y) in [(hi, top), ((lo + hi) / 2.0, top + h / 2), (lo, top + h)] {
                area.draw(&Text::new(label(v), (36, y - 7), font.clone()))
                    .map_err(e)?;
            }
        }
    }
    Ok(())
}
