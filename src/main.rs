//! The `pixembed` command line: parse, call the library, print.

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use pixembed::gpu::{self, AdapterRequest, Gpu};

#[derive(Parser)]
#[command(
    name = "pixembed",
    version,
    about = "Fully quantized CNNs with pixel embedding on any GPU"
)]
struct Cli {
    #[command(flatten)]
    device: DeviceArgs,
    #[command(subcommand)]
    command: Command,
}

/// Which adapter to run on (global flags).
#[derive(Args, Clone)]
struct DeviceArgs {
    /// Backend: vulkan, metal, dx12 or gl (default: all; WGPU_BACKEND is honoured)
    #[arg(long, global = true)]
    backend: Option<String>,
    /// Use the adapter whose name contains this (case-insensitive; WGPU_ADAPTER_NAME)
    #[arg(long, global = true)]
    adapter: Option<String>,
    /// Prefer a software adapter (e.g. lavapipe)
    #[arg(long, global = true)]
    cpu: bool,
}

impl DeviceArgs {
    fn request(&self) -> AdapterRequest {
        AdapterRequest {
            backend: self.backend.clone(),
            name: self.adapter.clone(),
            prefer_cpu: self.cpu,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// List adapters, show the selected one, its features and limits
    Info {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Info { json } => info(&cli.device, json),
    }
}

fn info(dev: &DeviceArgs, json: bool) -> Result<()> {
    let req = dev.request();
    let instance = gpu::adapter::instance_for(&req)?;
    let all: Vec<_> = gpu::adapter::enumerate(&instance)
        .iter()
        .map(|a| gpu::AdapterSummary::of(&a.get_info()))
        .collect();
    let gpu = Gpu::new(&req)?;
    if json {
        let v = serde_json::json!({
            "adapters": all,
            "selected": gpu.summary(),
            "reason": gpu.reason(),
            "features": gpu.features(),
            "limits": gpu.key_limits(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("adapters:");
        for a in &all {
            println!("  {a}");
        }
        println!("selected: {}", gpu.summary());
        println!("  why: {}", gpu.reason());
        println!("  features: {:?}", gpu.features());
        println!("  limits: {:#?}", gpu.key_limits());
    }
    Ok(())
}
