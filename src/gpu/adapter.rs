//! Adapter selection: which GPU (or software rasterizer) pixembed runs on.
//!
//! Order of precedence: explicit request (`--backend`, `--adapter`, `--cpu`), then the
//! environment (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`), then the best adapter: discrete GPU >
//! integrated > virtual > other > software (CPU). Unlike
//! `wgpu::util::initialize_adapter_from_env`, a name that matches nothing is an error listing
//! the adapters that exist, never a panic.

use crate::error::{Error, Result};
use serde::Serialize;

/// What the user asked for.
#[derive(Clone, Debug, Default)]
pub struct AdapterRequest {
    /// Backend name: vulkan, metal, dx12, gl (None: all; `WGPU_BACKEND` if set).
    pub backend: Option<String>,
    /// Case-insensitive substring of the adapter name (`WGPU_ADAPTER_NAME` if None).
    pub name: Option<String>,
    /// Prefer a software (CPU) adapter such as lavapipe.
    pub prefer_cpu: bool,
    /// Which limits to request: `adapter` or `webgpu` (`PIXEMBED_LIMITS` if None).
    pub limits: Option<String>,
}

/// The device limits pixembed requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitsMode {
    /// Everything the adapter offers (the default).
    #[default]
    Adapter,
    /// Only the WebGPU baseline, `wgpu::Limits::default()`: 8 storage buffers per stage,
    /// 16 KiB workgroup memory, 256 invocations per workgroup, 128 MiB storage and 64 KiB
    /// uniform bindings. What runs under it runs on every Vulkan, Metal and DX12 device wgpu
    /// supports, whatever this adapter's own limits are.
    WebGpu,
}

impl LimitsMode {
    pub fn parse(name: &str) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "adapter" | "" => Ok(LimitsMode::Adapter),
            "webgpu" | "default" | "baseline" => Ok(LimitsMode::WebGpu),
            other => Err(Error::Invalid(format!(
                "unknown limits {other:?} (expected adapter or webgpu)"
            ))),
        }
    }

    /// The limits to request from an adapter offering `offered`.
    pub fn limits(self, offered: &wgpu::Limits) -> wgpu::Limits {
        match self {
            LimitsMode::Adapter => offered.clone(),
            LimitsMode::WebGpu => wgpu::Limits::default(),
        }
    }
}

/// A serialisable description of one adapter.
#[derive(Clone, Debug, Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub vendor: u32,
    pub device: u32,
}

impl AdapterSummary {
    pub fn of(info: &wgpu::AdapterInfo) -> Self {
        Self {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend).to_lowercase(),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            vendor: info.vendor,
            device: info.device,
        }
    }
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {}, driver {} {})",
            self.name, self.backend, self.device_type, self.driver, self.driver_info
        )
    }
}

/// Parse a backend name as the CLI accepts it.
pub fn parse_backend(name: &str) -> Result<wgpu::Backends> {
    match name.trim().to_ascii_lowercase().as_str() {
        "vulkan" | "vk" => Ok(wgpu::Backends::VULKAN),
        "metal" | "mtl" => Ok(wgpu::Backends::METAL),
        "dx12" | "d3d12" => Ok(wgpu::Backends::DX12),
        "gl" | "gles" | "opengl" => Ok(wgpu::Backends::GL),
        other => Err(Error::UnknownBackend(other.to_string())),
    }
}

impl AdapterRequest {
    fn backends(&self) -> Result<wgpu::Backends> {
        match self
            .backend
            .clone()
            .or_else(|| env_nonempty("WGPU_BACKEND"))
        {
            Some(list) => {
                let mut b = wgpu::Backends::empty();
                for part in list.split(',') {
                    b |= parse_backend(part)?;
                }
                Ok(b)
            }
            None => Ok(wgpu::Backends::all()),
        }
    }

    /// The limits mode: the request's, else `PIXEMBED_LIMITS`, else the adapter's own.
    pub fn limits_mode(&self) -> Result<LimitsMode> {
        match self
            .limits
            .clone()
            .or_else(|| env_nonempty("PIXEMBED_LIMITS"))
        {
            Some(name) => LimitsMode::parse(&name),
            None => Ok(LimitsMode::Adapter),
        }
    }

    fn name(&self) -> Option<String> {
        self.name
            .clone()
            .or_else(|| env_nonempty("WGPU_ADAPTER_NAME"))
    }
}

fn env_nonempty(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|s| !s.trim().is_empty())
}

/// Rank an adapter: higher is preferred.
fn rank(info: &wgpu::AdapterInfo, prefer_cpu: bool) -> i32 {
    use wgpu::DeviceType::*;
    let ty = match info.device_type {
        DiscreteGpu => 50,
        IntegratedGpu => 40,
        VirtualGpu => 30,
        Other => 20,
        Cpu => 10,
    };
    let ty = if prefer_cpu && info.device_type == Cpu {
        100
    } else {
        ty
    };
    // GL is the fallback of last resort: fewer features, slower compute.
    let backend = match info.backend {
        wgpu::Backend::Gl => 0,
        _ => 5,
    };
    ty + backend
}

/// The wgpu instance for a request.
pub fn instance_for(req: &AdapterRequest) -> Result<wgpu::Instance> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = req.backends()?;
    Ok(wgpu::Instance::new(desc))
}

/// Every adapter the instance can see.
pub fn enumerate(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
}

/// Pick the adapter for a request, with the reason it was chosen.
pub fn select(instance: &wgpu::Instance, req: &AdapterRequest) -> Result<(wgpu::Adapter, String)> {
    let adapters = enumerate(instance);
    if adapters.is_empty() {
        return Err(Error::NoAdapter);
    }
    let wanted = req.name();
    let mut candidates: Vec<(wgpu::Adapter, wgpu::AdapterInfo)> = adapters
        .into_iter()
        .map(|a| {
            let info = a.get_info();
            (a, info)
        })
        .collect();
    let all: Vec<String> = candidates
        .iter()
        .map(|(_, i)| format!("  - {}", AdapterSummary::of(i)))
        .collect();
    if let Some(name) = &wanted {
        let lower = name.to_lowercase();
        candidates.retain(|(_, i)| i.name.to_lowercase().contains(&lower));
        if candidates.is_empty() {
            return Err(Error::AdapterNotFound {
                wanted: format!("name {name:?}"),
                available: all.join("\n"),
            });
        }
    }
    if req.prefer_cpu
        && !candidates
            .iter()
            .any(|(_, i)| i.device_type == wgpu::DeviceType::Cpu)
    {
        return Err(Error::AdapterNotFound {
            wanted: "--cpu (a software adapter)".into(),
            available: format!(
                "{}\n(install one with `apt-get install mesa-vulkan-drivers`)",
                all.join("\n")
            ),
        });
    }
    candidates.sort_by_key(|(_, i)| -rank(i, req.prefer_cpu));
    let (adapter, info) = candidates.swap_remove(0);
    let mut why = Vec::new();
    if let Some(n) = &wanted {
        why.push(format!("name contains {n:?}"));
    }
    if let Some(b) = req.backend.clone().or_else(|| env_nonempty("WGPU_BACKEND")) {
        why.push(format!("backend {b}"));
    }
    if req.prefer_cpu {
        why.push("--cpu prefers a software adapter".into());
    }
    why.push(format!(
        "best ranked ({:?} on {:?})",
        info.device_type, info.backend
    ));
    Ok((adapter, why.join("; ")))
}
