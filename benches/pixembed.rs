//! `cargo bench`: the same measurements as `pixembed bench ops | first-layer | network`, with
//! their defaults, on the adapter wgpu selects (WGPU_BACKEND / WGPU_ADAPTER_NAME choose
//! another). `cargo bench -- first-layer` runs one of them; the report says which adapter
//! and which clock produced the numbers. Read them as ratios within one run.

use pixembed::bench::{first_layer, network, ops, report};
use pixembed::gpu::{AdapterRequest, Gpu};
use pixembed::nn::Arch;

fn main() -> anyhow::Result<()> {
    // cargo passes `--bench`; anything else names the benchmarks to run.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let runs = |name: &str| wanted.is_empty() || wanted.iter().any(|w| name.contains(w.as_str()));
    let gpu = Gpu::new(&AdapterRequest::default())?;
    if runs("ops") {
        let rows = ops::run_all(&gpu, 5)?;
        print!("{}", report::ops(gpu.summary(), &rows));
    }
    if runs("first-layer") {
        let shape: first_layer::Shape = "cifar".parse().map_err(anyhow::Error::msg)?;
        let rows = first_layer::run(&gpu, shape, shape.default_batch, 64, 5, false)?;
        print!(
            "{}",
            report::first_layer(gpu.summary(), shape, shape.default_batch, 64, &rows)
        );
    }
    if runs("network") {
        let rows = network::run(&gpu, Arch::Resnet, 20, 16, [32, 32, 3], 256, 32, 3)?;
        print!("{}", report::network(gpu.summary(), &rows));
    }
    Ok(())
}
