//! Where a cold start's time goes: one ResNet-20 training step (pixel-embedding first
//! layer, binary last) run twice with GPU timestamps around every dispatch. Software
//! adapters compile a pipeline's shader when its first dispatch runs, so the first step's
//! time minus the second's, per dispatch, is that kernel's compile time. Run it with an
//! empty driver cache, e.g. `MESA_SHADER_CACHE_DIR=$(mktemp -d)`; with
//! `RUST_LOG=pixembed::gpu::recorder=trace` each dispatch index is logged with its
//! override constants. `NOTIME=1` leaves the first step untimed (the recorder then submits
//! early to overlap compilation with recording) and prints only the step times.
//!
//!     cargo run --release --example cold_start
use pixembed::bench::network::{bench_train_config, profiled_step};
use pixembed::gpu::{AdapterRequest, Gpu, Recorder};
use pixembed::nn::Model;
use pixembed::ops::loss;
use pixembed::train::optimizer;

/// CPU seconds this process has used (all threads; Linux only, else 0): compilation is
/// CPU-bound, so this is what a cold start costs on a machine that other work shares.
fn cpu_s() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let fields: Vec<f64> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields.iter().sum::<f64>() / 100.0
}

fn main() -> pixembed::Result<()> {
    env_logger::Builder::from_default_env()
        .format_timestamp_millis()
        .init();
    let batch = 32;
    let gpu = Gpu::new(&AdapterRequest::default())?;
    let (cfg, pixels, labels) = profiled_step(&gpu, batch)?;
    let t0 = std::time::Instant::now();
    let mut model = Model::new(&gpu, &cfg, 1)?;
    println!("model new {:.2}", t0.elapsed().as_secs_f64());
    let tc = bench_train_config(batch);
    let mut runs = Vec::new();
    for step in 1..=2u64 {
        let t = std::time::Instant::now();
        let mut rec = if std::env::var("NOTIME").is_ok() {
            Recorder::new(&gpu)
        } else {
            Recorder::new(&gpu).with_timing_window(0, 2048)
        };
        let logits = model.forward(&mut rec, &pixels, true)?;
        let out = loss::softmax_xent(&mut rec, &logits, &labels)?;
        model.backward(&mut rec, &out.dlogits)?;
        optimizer::apply(&mut rec, &mut model, &tc, step, 1e-3)?;
        println!(
            "step {step}: {} dispatches, recorded {:.2}",
            rec.dispatch_count(),
            t.elapsed().as_secs_f64()
        );
        let pt = rec.submit_timed()?;
        println!(
            "step {step}: wall {:.2} total {:.2} process cpu {:.2}",
            pt.wall_s,
            t.elapsed().as_secs_f64(),
            cpu_s()
        );
        runs.push(pt.passes);
    }
    if runs[0].is_empty() {
        return Ok(());
    }
    let mut tot = 0.0;
    for (i, ((name, c), (_, w))) in runs[0].iter().zip(runs[1].iter()).enumerate() {
        tot += c - w;
        if c - w > 0.01 {
            println!("{i:5} {name:40} cold {:8.3} warm {:8.3}", c, w);
        }
    }
    println!("sum diff {tot:.2}");
    Ok(())
}
