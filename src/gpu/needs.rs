//! What pixembed needs of an adapter, and which path each optional capability sends it down.
//!
//! Every kernel fits the WebGPU baseline limits, `wgpu::Limits::default()` (checked without a
//! GPU by tests/portability.rs, and on a device by running the GPU tests with
//! `PIXEMBED_LIMITS=webgpu`). So an adapter meets pixembed's needs when it runs compute
//! shaders and offers at least those limits; the optional features only change speed or
//! how time is measured, never results.

use super::Gpu;
use serde::Serialize;

/// Bytes of the uniform buffers the staged kernels bind: the blocked binary convolution's
/// input stage (`STAGE_WORDS`), the fused first-layer convolution's weights
/// (`WEIGHT_FLOATS`), the folded first-layer table's thresholds (`TH_WORDS`) and the
/// embedding's code table (`UNIFORM_CODE_BYTES`), each 64 KiB, the baseline's uniform limit.
const UNIFORM_STAGING_BYTES: u64 = 64 * 1024;

/// Whether the texture f32 convolutions may run: `PIXEMBED_CONV_TEXTURE=0` (or `off`) turns
/// them off (the buffer kernels then run every shape, for comparisons and for adapters whose
/// texture reads are slow).
pub fn conv_textures_enabled() -> bool {
    !matches!(
        std::env::var("PIXEMBED_CONV_TEXTURE").as_deref(),
        Ok("0") | Ok("off")
    )
}

/// One choice pixembed makes from the adapter's capabilities.
#[derive(Clone, Debug, Serialize)]
pub struct PathTaken {
    pub what: &'static str,
    pub path: String,
}

/// Whether the adapter meets pixembed's needs, and the paths it takes.
#[derive(Clone, Debug, Serialize)]
pub struct Readiness {
    /// Runs compute shaders and offers every WebGPU baseline limit.
    pub meets_needs: bool,
    /// The adapter's shortfalls against what pixembed needs (empty when it meets them).
    pub shortfalls: Vec<String>,
    pub paths: Vec<PathTaken>,
}

impl Readiness {
    pub fn of(gpu: &Gpu) -> Self {
        let mut shortfalls = Vec::new();
        let downlevel = gpu.adapter().get_downlevel_capabilities();
        if !downlevel
            .flags
            .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        {
            shortfalls.push("no compute shaders".to_string());
        }
        wgpu::Limits::default().check_limits_with_fail_fn(
            &gpu.adapter().limits(),
            false,
            |name, need, have| {
                shortfalls.push(format!("{name}: {have} (the baseline needs {need})"))
            },
        );
        let limits = gpu.limits();
        let mut paths = vec![PathTaken {
            what: "limits",
            path: match gpu.limits_mode() {
                super::LimitsMode::Adapter => "the adapter's own".into(),
                super::LimitsMode::WebGpu => {
                    "the WebGPU baseline only (--limits webgpu / PIXEMBED_LIMITS=webgpu)".into()
                }
            },
        }];
        paths.push(PathTaken {
            what: "uniform-staged kernels (blocked binary conv, fused first layer, folded first-layer table, embedding codes)",
            path: if limits.max_uniform_buffer_binding_size >= UNIFORM_STAGING_BYTES {
                "used (64 KiB uniform bindings fit)".into()
            } else {
                format!(
                    "general storage-buffer kernels instead (uniform bindings of {} bytes < 64 KiB)",
                    limits.max_uniform_buffer_binding_size
                )
            },
        });
        paths.push(PathTaken {
            what: "texture f32 convolutions",
            path: if !conv_textures_enabled() {
                "off (PIXEMBED_CONV_TEXTURE=0): buffer kernels".into()
            } else {
                format!(
                    "used where a layer's textures fit {} texels a side; buffer kernels elsewhere",
                    limits.max_texture_dimension_2d
                )
            },
        });
        let f = gpu.features();
        paths.push(PathTaken {
            what: "timing",
            path: if f.timestamp_query {
                "GPU timestamp queries".into()
            } else {
                "wall clock (no timestamp queries)".into()
            },
        });
        paths.push(PathTaken {
            what: "subgroups, f16",
            path: format!(
                "not needed (offered: subgroups {}, f16 {})",
                f.subgroups, f.shader_f16
            ),
        });
        Readiness {
            meets_needs: shortfalls.is_empty(),
            shortfalls,
            paths,
        }
    }
}
