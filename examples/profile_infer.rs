//! GPU time of one integer inference batch of the fully quantized ResNet-20 w16 (pixel-embedding
//! first layer, binary last), per kernel entry point and per layer from timestamp queries; for
//! the popcount convolutions, the achieved Gbit-op/s (MACs x activation bits).
//!
//!     cargo run --release --example profile_infer -- [BATCH] [RUNS]

use pixembed::bench::network::bench_config;
use pixembed::gpu::{AdapterRequest, Gpu, Recorder, Tensor};
use pixembed::infer::fold_model;
use pixembed::nn::{Arch, FirstLayerKind, LastLayer, Model};
use std::collections::HashMap;

fn main() -> pixembed::Result<()> {
    let arg = |i: usize, d: usize| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(d)
    };
    let (batch, runs) = (arg(1, 256), arg(2, 5).max(1));
    let gpu = Gpu::new(&AdapterRequest::default())?;
    let cfg = bench_config(
        Arch::Resnet,
        20,
        16,
        [32, 32, 3],
        FirstLayerKind::Embed,
        LastLayer::Binary,
    );
    let mut int = fold_model(&gpu, Model::new(&gpu, &cfg, 1)?)?;
    let px: Vec<u8> = (0..batch * 32 * 32 * 3)
        .map(|i| (i * 37 % 251) as u8)
        .collect();
    let pixels = Tensor::from_slice(&gpu, &[batch, 32, 32, 3], &px)?;
    let mut warm = Recorder::new(&gpu);
    int.record(&mut warm, &pixels, None)?;
    warm.submit();
    gpu.wait()?;
    // Timed runs; the one with the median GPU span is attributed.
    let mut timed = Vec::new();
    for _ in 0..runs {
        let mut marks = Vec::new();
        let mut rec = Recorder::new(&gpu).with_timing(2048);
        int.record(&mut rec, &pixels, Some(&mut marks))?;
        timed.push((rec.submit_timed()?, marks));
    }
    timed.sort_by(|a, b| a.0.best_s().total_cmp(&b.0.best_s()));
    let (t, marks) = &timed[timed.len() / 2];
    let total: f64 = t.passes.iter().map(|p| p.1).sum();
    println!(
        "batch {batch}, {} dispatches: GPU span {:.1} ms ({:.0} img/s), sum of passes {:.1} ms, wall {:.1} ms ({} of {runs} runs, span {:.1}-{:.1} ms)",
        t.passes.len(),
        t.best_s() * 1e3,
        batch as f64 / t.best_s(),
        total * 1e3,
        t.wall_s * 1e3,
        t.source(),
        timed[0].0.best_s() * 1e3,
        timed[timed.len() - 1].0.best_s() * 1e3,
    );
    let mut per: HashMap<&str, (f64, usize)> = HashMap::new();
    for (name, s) in &t.passes {
        let e = per.entry(name).or_default();
        e.0 += s;
        e.1 += 1;
    }
    let mut rows: Vec<_> = per.into_iter().collect();
    rows.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    println!("\n| kernel | dispatches | ms | share |\n|---|---|---|---|");
    for (name, (s, n)) in rows {
        println!(
            "| {name} | {n} | {:.1} | {:.1}% |",
            s * 1e3,
            100.0 * s / total
        );
    }
    // Per layer, with the popcount work of each conv unit (unit0 runs fused with the first
    // layer when the engine fuses them).
    println!("\n| layer | shape | ms | share | Gbit-op/s |\n|---|---|---|---|---|");
    let (mut h, mut w) = (32usize, 32usize);
    for (i, (name, start)) in marks.iter().enumerate() {
        let end = marks.get(i + 1).map_or(t.passes.len(), |m| m.1);
        let s: f64 = t.passes[*start..end].iter().map(|p| p.1).sum();
        let unit = name
            .strip_prefix("unit")
            .and_then(|r| r.split('.').next())
            .and_then(|k| k.parse::<usize>().ok())
            .map(|k| &int.units[k]);
        let (shape, rate) = match unit {
            Some(u) if u.desc.kind != "maxpool" => {
                let (ho, wo) = (
                    (h + 2 * u.desc.pad - u.desc.k) / u.desc.stride + 1,
                    (w + 2 * u.desc.pad - u.desc.k) / u.desc.stride + 1,
                );
                let bitops = (batch * ho * wo * u.desc.o * u.desc.k * u.desc.k * u.desc.c) as f64
                    * u.desc.in_bits as f64;
                let shape = format!(
                    "{h}x{w} {}x{}/{} {}->{}",
                    u.desc.k, u.desc.k, u.desc.stride, u.desc.c, u.desc.o
                );
                (h, w) = (ho, wo);
                (shape, format!("{:.0}", bitops / s / 1e9))
            }
            _ => (String::new(), String::new()),
        };
        println!(
            "| {name} | {shape} | {:.1} | {:.1}% | {rate} |",
            s * 1e3,
            100.0 * s / total
        );
    }
    Ok(())
}
