//! Text tables of the benchmarks, as `pixembed bench` prints them (`--json` prints the rows).

use super::first_layer::{FirstLayerRow, Shape};
use super::network::NetworkRow;
use super::OpRate;
use crate::gpu::AdapterSummary;
use std::fmt::Write;

fn header(out: &mut String, adapter: &AdapterSummary, source: &str) {
    let _ = writeln!(
        out,
        "adapter: {} ({}); times: {source}, median of repeated runs",
        adapter.name, adapter.backend
    );
}

/// `bench ops`: op, shape, median time and rate.
pub fn ops(adapter: &AdapterSummary, rows: &[OpRate]) -> String {
    let mut out = String::new();
    header(
        &mut out,
        adapter,
        rows.first().map_or("-", |r| r.timing.source),
    );
    let _ = writeln!(
        out,
        "{:<36} {:<34} {:>10} {:>12}",
        "op", "shape", "median ms", "rate"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<36} {:<34} {:>10.2} {:>8.1} {}",
            r.op,
            r.shape,
            r.timing.median_s * 1e3,
            r.rate(),
            r.unit
        );
    }
    out
}

/// `bench first-layer`: every variant's time, work, traffic and speedup over float.
pub fn first_layer(
    adapter: &AdapterSummary,
    shape: Shape,
    batch: usize,
    out_channels: usize,
    rows: &[FirstLayerRow],
) -> String {
    let mut out = String::new();
    header(
        &mut out,
        adapter,
        rows.first().map_or("-", |r| r.timing.source),
    );
    let _ = writeln!(
        out,
        "input [{batch},{},{},{}], {}x{} stride {}, {out_channels} output channels, output {:?}",
        shape.h,
        shape.w,
        shape.c,
        shape.k,
        shape.k,
        shape.stride,
        rows.first().map(|r| r.output.clone()).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "{:<12} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9}  implementation",
        "variant", "median ms", "min ms", "max ms", "GMAC", "MB moved", "vs float"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<12} {:>10.2} {:>10.2} {:>10.2} {:>10.3} {:>9.1} {:>8.2}x  {}",
            r.variant,
            r.timing.median_s * 1e3,
            r.timing.min_s * 1e3,
            r.timing.max_s * 1e3,
            r.macs as f64 / 1e9,
            r.bytes as f64 / 1e6,
            r.speedup_vs_float,
            r.implementation
        );
    }
    out
}

/// `bench network`: images/s per row and the eight largest layer shares.
pub fn network(adapter: &AdapterSummary, rows: &[NetworkRow]) -> String {
    let mut out = String::new();
    header(
        &mut out,
        adapter,
        rows.first().map_or("-", |r| r.timing.source),
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<30} batch {:>4}: {:>9.1} images/s  (median of {} runs after {} warm-up: {:.1} ms, min {:.1}, max {:.1})",
            r.what,
            r.batch,
            r.images_per_sec,
            r.timing.runs,
            r.warmup,
            r.timing.median_s * 1e3,
            r.timing.min_s * 1e3,
            r.timing.max_s * 1e3
        );
        if let Some(s) = r.first_step_s {
            let _ = writeln!(
                out,
                "    first step (model built, pipelines created): {s:.1} s"
            );
        }
        let mut shares = r.layers.clone();
        shares.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
        for l in shares.iter().take(8) {
            let _ = writeln!(
                out,
                "    {:<24} {:>7.2} ms  {:>5.1}%",
                l.layer,
                l.seconds * 1e3,
                100.0 * l.share
            );
        }
    }
    out
}
