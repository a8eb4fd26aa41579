//! `pixembed bench ops | first-layer | network`: run a benchmark and print its report or JSON.

use crate::args::{BenchCommand, DeviceArgs};
use anyhow::{Context, Result};
use pixembed::gpu::Gpu;

/// Run one benchmark on the adapter the device options select.
pub fn bench(dev: &DeviceArgs, b: BenchCommand) -> Result<()> {
    let gpu = Gpu::new(&dev.request())?;
    match b {
        BenchCommand::Ops { reps, json } => {
            let rows = pixembed::bench::ops::run_all(&gpu, reps)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "adapter": gpu.summary(), "ops": rows.iter().map(|r| serde_json::json!({"op": r.op, "shape": r.shape, "timing": r.timing, "rate": r.rate(), "unit": r.unit})).collect::<Vec<_>>() })
                );
            } else {
                print!("{}", pixembed::bench::report::ops(gpu.summary(), &rows));
            }
        }
        BenchCommand::FirstLayer {
            shape,
            batch,
            out_channels,
            reps,
            all_implementations,
            json,
        } => {
            let batch = batch.unwrap_or(shape.default_batch);
            let rows = pixembed::bench::first_layer::run(
                &gpu,
                shape,
                batch,
                out_channels,
                reps,
                all_implementations,
            )?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "adapter": gpu.summary(), "batch": batch, "rows": rows })
                );
            } else {
                print!(
                    "{}",
                    pixembed::bench::report::first_layer(
                        gpu.summary(),
                        shape,
                        batch,
                        out_channels,
                        &rows
                    )
                );
            }
        }
        BenchCommand::Network {
            model,
            depth,
            width,
            input,
            batch,
            train_batch,
            reps,
            json,
        } => {
            let dims: Vec<usize> = input
                .split(['x', 'X'])
                .map(|v| v.trim().parse())
                .collect::<std::result::Result<_, _>>()
                .context("--input must be HxWxC, e.g. 32x32x3")?;
            let [h, w, c]: [usize; 3] = dims
                .try_into()
                .map_err(|_| anyhow::anyhow!("--input must be HxWxC, e.g. 32x32x3"))?;
            let rows = pixembed::bench::network::run(
                &gpu,
                model,
                depth,
                width,
                [h, w, c],
                batch,
                train_batch,
                reps,
            )?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "adapter": gpu.summary(), "rows": rows })
                );
            } else {
                print!("{}", pixembed::bench::report::network(gpu.summary(), &rows));
            }
        }
    }
    Ok(())
}
