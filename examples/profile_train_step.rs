//! GPU time of one ResNet-20 training step (pixel-embedding first layer, binary last),
//! summed per kernel entry point from timestamp queries, largest first.
//!
//!     cargo run --release --example profile_train_step -- [BATCH]

use pixembed::bench::network::{bench_train_config, profiled_step};
use pixembed::gpu::{AdapterRequest, Gpu, Recorder};
use pixembed::nn::Model;
use pixembed::ops::loss;
use pixembed::train::optimizer;
use std::collections::HashMap;

fn main() -> pixembed::Result<()> {
    let batch: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(128);
    let gpu = Gpu::new(&AdapterRequest::default())?;
    let (cfg, pixels, labels) = profiled_step(&gpu, batch)?;
    let mut model = Model::new(&gpu, &cfg, 1)?;
    let tc = bench_train_config(batch);
    // One untimed step (pipelines, optimizer state), then steps timing successive windows of
    // 2048 dispatches until every dispatch was timed once.
    let mut per: HashMap<String, (f64, usize)> = HashMap::new();
    let (mut first, mut step, mut wall) = (0usize, 0u64, Vec::new());
    loop {
        step += 1;
        let timed = step > 1;
        let mut rec = Recorder::new(&gpu);
        if timed {
            rec = rec.with_timing_window(first, 2048);
        }
        let logits = model.forward(&mut rec, &pixels, true)?;
        let out = loss::softmax_xent(&mut rec, &logits, &labels)?;
        model.backward(&mut rec, &out.dlogits)?;
        optimizer::apply(&mut rec, &mut model, &tc, step, 1e-3)?;
        let dispatches = rec.dispatch_count();
        let t = rec.submit_timed()?;
        if !timed {
            continue;
        }
        wall.push(t.wall_s);
        for (name, s) in &t.passes {
            let e = per.entry(name.clone()).or_default();
            e.0 += s;
            e.1 += 1;
        }
        first += t.passes.len();
        if t.passes.is_empty() || first >= dispatches {
            println!(
                "{dispatches} dispatches per step, timed over {} steps",
                wall.len()
            );
            break;
        }
    }
    wall.sort_by(|a, b| a.total_cmp(b));
    let total: f64 = per.values().map(|v| v.0).sum();
    println!(
        "batch {batch}: median wall {:.3} s per step ({:.1} img/s), sum of passes {:.3} s",
        wall[wall.len() / 2],
        batch as f64 / wall[wall.len() / 2],
        total
    );
    let mut rows: Vec<_> = per.into_iter().collect();
    rows.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    for (name, (s, n)) in rows {
        println!(
            "{name:28} {n:5} {:9.1} ms {:5.1}%",
            s * 1e3,
            100.0 * s / total
        );
    }
    Ok(())
}
