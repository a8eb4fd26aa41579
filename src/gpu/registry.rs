//! The shader registry and the compute-pipeline cache.
//!
//! Every `shaders/*.wgsl` file is embedded at compile time (see build.rs). A file may pull in
//! shared helpers with a line `//#include NAME` (NAME a file stem, e.g. `_quant`); files whose
//! stem starts with `_` hold only helpers. Pipelines are created once per
//! (shader, entry point, override constants) and cached; shapes reach kernels through
//! uniforms or `override` constants, never by editing WGSL text per call.
//!
//! With `PIXEMBED_KERNEL_LOG=FILE` set, every pipeline created is appended to FILE as one
//! line (see [`kernel_line`]): the override values the code really uses, which the no-GPU
//! translation test (tests/portability.rs) reads from tests/data/kernel_overrides.txt.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::Mutex;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/shaders.rs"));
}

/// Names of all embedded shader files (stems), sorted.
pub fn shader_names() -> impl Iterator<Item = &'static str> {
    embedded::SHADERS.iter().map(|(n, _)| *n)
}

fn raw_source(name: &str) -> Result<&'static str> {
    embedded::SHADERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
        .ok_or_else(|| Error::UnknownShader(name.to_string()))
}

/// The WGSL text of a shader with its `//#include` lines expanded (each file once).
pub fn shader_source(name: &str) -> Result<String> {
    let mut out = String::new();
    let mut seen = Vec::new();
    expand(name, &mut out, &mut seen)?;
    Ok(out)
}

fn expand(name: &str, out: &mut String, seen: &mut Vec<String>) -> Result<()> {
    if seen.iter().any(|s| s == name) {
        return Ok(());
    }
    seen.push(name.to_string());
    for line in raw_source(name)?.lines() {
        match line.trim().strip_prefix("//#include ") {
            Some(inc) => expand(inc.trim(), out, seen)?,
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    Ok(())
}

/// Parse and validate WGSL with naga, no GPU needed.
pub fn validate_wgsl(source: &str) -> std::result::Result<naga::Module, String> {
    let module = naga::front::wgsl::parse_str(source).map_err(|e| e.emit_to_string(source))?;
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .map_err(|e| e.emit_to_string(source))?;
    Ok(module)
}

/// Which pipeline: shader file, entry point, and `override` constant values.
#[derive(Clone, Debug)]
pub struct Kernel<'a> {
    pub shader: &'static str,
    pub entry: &'static str,
    pub constants: &'a [(&'static str, f64)],
}

impl<'a> Kernel<'a> {
    pub const fn new(shader: &'static str, entry: &'static str) -> Self {
        Kernel {
            shader,
            entry,
            constants: &[],
        }
    }
    pub fn with(self, constants: &'a [(&'static str, f64)]) -> Self {
        Kernel { constants, ..self }
    }
}

type Key = (&'static str, &'static str, Vec<(&'static str, u64)>);

/// One kernel as a line of text: `shader entry NAME=VALUE ...`, constants sorted by name.
/// This is the format of `PIXEMBED_KERNEL_LOG` and of tests/data/kernel_overrides.txt.
pub fn kernel_line(k: &Kernel) -> String {
    let mut constants: Vec<_> = k.constants.to_vec();
    constants.sort_by(|a, b| a.0.cmp(b.0));
    let mut line = format!("{} {}", k.shader, k.entry);
    for (name, value) in constants {
        line.push_str(&format!(" {name}={value}"));
    }
    line
}

/// A parsed [`kernel_line`]: shader, entry point and override constants.
pub type KernelLine = (String, String, Vec<(String, f64)>);

/// Parse a [`kernel_line`].
pub fn parse_kernel_line(line: &str) -> Option<KernelLine> {
    let mut parts = line.split_whitespace();
    let shader = parts.next()?.to_string();
    let entry = parts.next()?.to_string();
    let mut constants = Vec::new();
    for part in parts {
        let (name, value) = part.split_once('=')?;
        constants.push((name.to_string(), value.parse().ok()?));
    }
    Some((shader, entry, constants))
}

/// Append a kernel to the `PIXEMBED_KERNEL_LOG` file, when that is set. One `write` per
/// line on a file opened for appending, so parallel tests do not interleave lines.
fn log_kernel(k: &Kernel) {
    use std::io::Write;
    let Some(path) = std::env::var_os("PIXEMBED_KERNEL_LOG").filter(|p| !p.is_empty()) else {
        return;
    };
    let line = format!("{}\n", kernel_line(k));
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        log::warn!("PIXEMBED_KERNEL_LOG {}: {e}", path.to_string_lossy());
    }
}

pub struct Registry {
    device: wgpu::Device,
    modules: Mutex<HashMap<&'static str, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<Key, wgpu::ComputePipeline>>,
}

impl Registry {
    pub fn new(device: wgpu::Device) -> Self {
        Self {
            device,
            modules: Default::default(),
            pipelines: Default::default(),
        }
    }

    /// Number of pipelines created so far (for tests of the cache).
    pub fn pipeline_count(&self) -> usize {
        self.pipelines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// The cached pipeline for a kernel, created on first use.
    pub fn pipeline(&self, k: &Kernel) -> Result<wgpu::ComputePipeline> {
        let key: Key = (
            k.shader,
            k.entry,
            k.constants.iter().map(|(n, v)| (*n, v.to_bits())).collect(),
        );
        if let Some(p) = self
            .pipelines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(p.clone());
        }
        let module = self.module(k.shader)?;
        let started = std::time::Instant::now();
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(k.entry),
                layout: None,
                module: &module,
                entry_point: Some(k.entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: k.constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!(
                "pipeline {}::{}: {e}",
                k.shader, k.entry
            )));
        }
        log::debug!(
            "pipeline {}::{} {:?} built in {:.0} ms",
            k.shader,
            k.entry,
            k.constants,
            started.elapsed().as_secs_f64() * 1e3
        );
        log_kernel(k);
        self.pipelines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, pipeline.clone());
        Ok(pipeline)
    }

    fn module(&self, name: &'static str) -> Result<wgpu::ShaderModule> {
        if let Some(m) = self
            .modules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Ok(m.clone());
        }
        let source = shader_source(name)?;
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!("shader {name}: {e}")));
        }
        self.modules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, module.clone());
        Ok(module)
    }
}
