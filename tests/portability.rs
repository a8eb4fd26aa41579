//! Portability without a GPU: every shader, every entry point, translated by naga into the
//! language of each wgpu backend (SPIR-V for Vulkan, MSL for Metal, HLSL for DX12, GLSL for
//! GL), with its default override constants and with every set of override values the code
//! really uses (tests/data/kernel_overrides.txt, recorded with `PIXEMBED_KERNEL_LOG`).
//!
//! Each translation runs the way wgpu runs it: override constants substituted for the one
//! entry point (`process_overrides`), then the backend's writer for that entry point alone.
//! The target versions are the lowest each backend accepts for compute: SPIR-V 1.0, MSL 2.0,
//! HLSL shader model 5.1, GLSL ES 3.10.
//!
//! The same pass checks what each kernel asks of the device against the WebGPU baseline
//! (`wgpu::Limits::default()`): storage buffers per stage, workgroup memory and invocations.

use naga::back::{glsl, hlsl, msl, spv};
use naga::valid::{Capabilities, ValidationFlags, Validator};
use pixembed::gpu::registry::{parse_kernel_line, shader_names, shader_source};
use std::collections::{BTreeMap, BTreeSet};

const USED: &str = include_str!("data/kernel_overrides.txt");

type Constants = Vec<(String, f64)>;

/// The recorded override sets, by (shader, entry point).
fn used_overrides() -> BTreeMap<(String, String), Vec<Constants>> {
    let mut map: BTreeMap<(String, String), Vec<Constants>> = BTreeMap::new();
    for (i, line) in USED.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (shader, entry, constants) = parse_kernel_line(line)
            .unwrap_or_else(|| panic!("kernel_overrides.txt:{}: bad line {line:?}", i + 1));
        map.entry((shader, entry)).or_default().push(constants);
    }
    map
}

/// The shaders that are pipelines (helpers, stems starting with `_`, are included by them).
fn kernel_shaders() -> Vec<&'static str> {
    shader_names().filter(|n| !n.starts_with('_')).collect()
}

fn parse(name: &str) -> (naga::Module, naga::valid::ModuleInfo) {
    let src = shader_source(name).unwrap();
    let module = naga::front::wgsl::parse_str(&src)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&src)));
    let info = Validator::new(ValidationFlags::all(), Capabilities::all())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&src)));
    (module, info)
}

/// One backend's translation of one entry point of a module whose overrides are resolved.
fn translate(
    backend: &str,
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
    entry: &str,
) -> Result<(), String> {
    let stage = naga::ShaderStage::Compute;
    match backend {
        "SPIR-V" => {
            let options = spv::Options {
                lang_version: (1, 0),
                ..Default::default()
            };
            let pipeline = spv::PipelineOptions {
                shader_stage: stage,
                entry_point: entry.to_string(),
            };
            spv::write_vec(module, info, &options, Some(&pipeline))
                .map(drop)
                .map_err(|e| format!("{e:?}"))
        }
        "MSL" => {
            let options = msl::Options {
                lang_version: (2, 0),
                fake_missing_bindings: true,
                ..Default::default()
            };
            let pipeline = msl::PipelineOptions {
                entry_point: Some((stage, entry.to_string())),
                ..Default::default()
            };
            msl::write_string(module, info, &options, &pipeline)
                .map(drop)
                .map_err(|e| format!("{e:?}"))
        }
        "HLSL" => {
            let options = hlsl::Options {
                shader_model: hlsl::ShaderModel::V5_1,
                fake_missing_bindings: true,
                ..Default::default()
            };
            let pipeline = hlsl::PipelineOptions {
                entry_point: Some((stage, entry.to_string())),
            };
            let mut out = String::new();
            hlsl::Writer::new(&mut out, &options, &pipeline)
                .write(module, info, None)
                .map(drop)
                .map_err(|e| format!("{e:?}"))
        }
        "GLSL" => {
            let options = glsl::Options {
                version: glsl::Version::Embedded {
                    version: 310,
                    is_webgl: false,
                },
                zero_initialize_workgroup_memory: true,
                ..Default::default()
            };
            let pipeline = glsl::PipelineOptions {
                shader_stage: stage,
                entry_point: entry.to_string(),
                multiview: None,
            };
            let mut out = String::new();
            glsl::Writer::new(
                &mut out,
                module,
                info,
                &options,
                &pipeline,
                naga::proc::BoundsCheckPolicies::default(),
            )
            .and_then(|mut w| w.write())
            .map(drop)
            .map_err(|e| format!("{e}"))
        }
        other => panic!("unknown backend {other}"),
    }
}

const BACKENDS: [&str; 4] = ["SPIR-V", "MSL", "HLSL", "GLSL"];

/// What one entry point asks of the device, with its overrides resolved.
#[derive(Debug, Default)]
struct Needs {
    storage_buffers: u32,
    uniform_buffers: u32,
    textures: u32,
    workgroup_bytes: u64,
    invocations: u32,
}

fn needs(module: &naga::Module, info: &naga::valid::ModuleInfo, entry: &str) -> Needs {
    let (index, ep) = module
        .entry_points
        .iter()
        .enumerate()
        .find(|(_, ep)| ep.name == entry)
        .unwrap();
    let uses = info.get_entry_point(index);
    let mut n = Needs {
        invocations: ep.workgroup_size.iter().product(),
        ..Default::default()
    };
    for (handle, var) in module.global_variables.iter() {
        if uses[handle].is_empty() {
            continue;
        }
        match var.space {
            naga::AddressSpace::Storage { .. } => n.storage_buffers += 1,
            naga::AddressSpace::Uniform => n.uniform_buffers += 1,
            naga::AddressSpace::WorkGroup => {
                n.workgroup_bytes += module.types[var.ty].inner.size(module.to_ctx()) as u64
            }
            naga::AddressSpace::Handle => n.textures += 1,
            _ => {}
        }
    }
    n
}

/// Every (shader, entry point, override set) to check: the defaults, then the recorded sets.
fn cases() -> Vec<(&'static str, String, Constants)> {
    let used = used_overrides();
    let mut out = Vec::new();
    for name in kernel_shaders() {
        let (module, _) = parse(name);
        for ep in &module.entry_points {
            out.push((name, ep.name.clone(), Vec::new()));
            if let Some(sets) = used.get(&(name.to_string(), ep.name.clone())) {
                out.extend(sets.iter().map(|c| (name, ep.name.clone(), c.clone())));
            }
        }
    }
    out
}

fn describe(shader: &str, entry: &str, constants: &Constants) -> String {
    let c: Vec<String> = constants.iter().map(|(n, v)| format!("{n}={v}")).collect();
    if c.is_empty() {
        format!("{shader}::{entry} (default overrides)")
    } else {
        format!("{shader}::{entry} ({})", c.join(" "))
    }
}

/// Resolve the overrides of one case and hand the result to `f`.
fn with_case<T>(
    shader: &str,
    entry: &str,
    constants: &Constants,
    modules: &mut BTreeMap<String, (naga::Module, naga::valid::ModuleInfo)>,
    f: impl FnOnce(&naga::Module, &naga::valid::ModuleInfo) -> T,
) -> Result<T, String> {
    let (module, info) = modules
        .entry(shader.to_string())
        .or_insert_with(|| parse(shader));
    let pipeline_constants: naga::back::PipelineConstants =
        constants.iter().map(|(n, v)| (n.clone(), *v)).collect();
    let (m, i) = naga::back::pipeline_constants::process_overrides(
        module,
        info,
        Some((naga::ShaderStage::Compute, entry)),
        &pipeline_constants,
    )
    .map_err(|e| format!("overrides: {e}"))?;
    Ok(f(&m, &i))
}

#[test]
fn every_entry_point_translates_to_spirv_msl_hlsl_and_glsl() {
    let mut modules = BTreeMap::new();
    let cases = cases();
    let mut failures = Vec::new();
    for (shader, entry, constants) in &cases {
        let what = describe(shader, entry, constants);
        let result = with_case(shader, entry, constants, &mut modules, |m, i| {
            BACKENDS
                .iter()
                .filter_map(|b| translate(b, m, i, entry).err().map(|e| format!("{b}: {e}")))
                .collect::<Vec<_>>()
        });
        match result {
            Ok(errors) => failures.extend(errors.into_iter().map(|e| format!("{what}: {e}"))),
            Err(e) => failures.push(format!("{what}: {e}")),
        }
    }
    eprintln!(
        "{} kernels (shader, entry point, override set) x {} languages",
        cases.len(),
        BACKENDS.len()
    );
    assert!(
        failures.is_empty(),
        "{} translations failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn recorded_overrides_name_real_entry_points_and_constants() {
    let mut modules = BTreeMap::new();
    let mut failures = Vec::new();
    for ((shader, entry), sets) in used_overrides() {
        if !kernel_shaders().contains(&shader.as_str()) {
            failures.push(format!("{shader}: no such shader"));
            continue;
        }
        let (module, _) = modules
            .entry(shader.clone())
            .or_insert_with(|| parse(&shader));
        if !module.entry_points.iter().any(|ep| ep.name == entry) {
            failures.push(format!("{shader}::{entry}: no such entry point"));
        }
        let names: BTreeSet<&str> = module
            .overrides
            .iter()
            .filter_map(|(_, o)| o.name.as_deref())
            .collect();
        for (name, _) in sets.iter().flatten() {
            if !names.contains(name.as_str()) {
                failures.push(format!("{shader}::{entry}: no override {name}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Kernels allowed past the WebGPU baseline, each with the path pixembed takes instead when
/// the device has only the baseline. Empty: every kernel fits.
const BEYOND_BASELINE: &[(&str, &str)] = &[];

#[test]
fn every_kernel_fits_the_webgpu_baseline_limits() {
    let base = wgpu::Limits::default();
    let mut modules = BTreeMap::new();
    let mut failures = Vec::new();
    let mut widest = Needs::default();
    for (shader, entry, constants) in cases() {
        let n = with_case(shader, &entry, &constants, &mut modules, |m, i| {
            needs(m, i, &entry)
        })
        .unwrap_or_else(|e| panic!("{}: {e}", describe(shader, &entry, &constants)));
        let mut over = Vec::new();
        if n.storage_buffers > base.max_storage_buffers_per_shader_stage {
            over.push(format!("{} storage buffers", n.storage_buffers));
        }
        if n.uniform_buffers > base.max_uniform_buffers_per_shader_stage {
            over.push(format!("{} uniform buffers", n.uniform_buffers));
        }
        if n.textures > base.max_sampled_textures_per_shader_stage {
            over.push(format!("{} textures", n.textures));
        }
        if n.workgroup_bytes > base.max_compute_workgroup_storage_size as u64 {
            over.push(format!("{} bytes of workgroup memory", n.workgroup_bytes));
        }
        if n.invocations > base.max_compute_invocations_per_workgroup {
            over.push(format!("{} invocations per workgroup", n.invocations));
        }
        widest.storage_buffers = widest.storage_buffers.max(n.storage_buffers);
        widest.uniform_buffers = widest.uniform_buffers.max(n.uniform_buffers);
        widest.textures = widest.textures.max(n.textures);
        widest.workgroup_bytes = widest.workgroup_bytes.max(n.workgroup_bytes);
        widest.invocations = widest.invocations.max(n.invocations);
        let allowed = BEYOND_BASELINE
            .iter()
            .any(|(s, e)| *s == shader && *e == entry);
        if !over.is_empty() && !allowed {
            failures.push(format!(
                "{}: {}",
                describe(shader, &entry, &constants),
                over.join(", ")
            ));
        }
    }
    eprintln!("most any kernel asks: {widest:?}");
    assert!(
        failures.is_empty(),
        "kernels beyond the WebGPU baseline (wgpu::Limits::default()):\n{}",
        failures.join("\n")
    );
}
