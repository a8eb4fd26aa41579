//! Wall time of a ResNet-20 training step (pixel-embedding first layer, binary last) with
//! and without one environment setting, alternating the two step by step in one process,
//! so that a busy machine slows both arms alike.
//!
//!     cargo run --release --example ab_train_step -- BATCH PAIRS VAR=VALUE
//!
//! e.g. `-- 128 6 PIXEMBED_CONV_TEXTURE=0`: arm A runs with the setting, arm B without.

use pixembed::bench::network::{bench_train_config, profiled_step};
use pixembed::gpu::{AdapterRequest, Gpu, Recorder};
use pixembed::nn::Model;
use pixembed::ops::loss;
use pixembed::train::optimizer;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> pixembed::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let batch: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(128);
    let pairs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(6);
    let setting = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "PIXEMBED_CONV_TEXTURE=0".into());
    let (var, value) = setting
        .split_once('=')
        .ok_or_else(|| pixembed::Error::Invalid(format!("expected VAR=VALUE, got {setting}")))?;
    let gpu = Gpu::new(&AdapterRequest::default())?;
    let (cfg, pixels, labels) = profiled_step(&gpu, batch)?;
    let mut model = Model::new(&gpu, &cfg, 1)?;
    let tc = bench_train_config(batch);
    let mut step = 0u64;
    let mut run_step = |with: bool| -> pixembed::Result<(f64, usize)> {
        if with {
            std::env::set_var(var, value);
        } else {
            std::env::remove_var(var);
        }
        step += 1;
        let start = std::time::Instant::now();
        let mut rec = Recorder::new(&gpu);
        let logits = model.forward(&mut rec, &pixels, true)?;
        let out = loss::softmax_xent(&mut rec, &logits, &labels)?;
        model.backward(&mut rec, &out.dlogits)?;
        optimizer::apply(&mut rec, &mut model, &tc, step, 1e-3)?;
        let dispatches = rec.dispatch_count();
        rec.submit();
        gpu.wait()?;
        Ok((start.elapsed().as_secs_f64(), dispatches))
    };
    // One untimed step per arm: pipelines and per-adapter choices.
    let (_, da) = run_step(true)?;
    let (_, db) = run_step(false)?;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..pairs {
        a.push(run_step(true)?.0);
        b.push(run_step(false)?.0);
    }
    let (ma, mb) = (median(&mut a), median(&mut b));
    println!(
        "batch {batch}, {pairs} pairs, record + submit + wait per step\n\
         A {setting}: {:.3} s ({:.1} img/s), {da} dispatches\n\
         B without: {:.3} s ({:.1} img/s), {db} dispatches\n\
         B / A = {:.2}",
        ma,
        batch as f64 / ma,
        mb,
        batch as f64 / mb,
        mb / ma
    );
    Ok(())
}
