// Helpers shared by kernels (pulled in with `//#include _common`).

// Linear invocation index for a 1-D job dispatched over a 2-D grid (see gpu::grid):
// workgroup (wid.x, wid.y) of nwg.x per row, `wg` invocations per workgroup.
fn linear_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, wg: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * wg + lid;
}

// Activation quantizer code: round_half_even(clamp(x, 0, max) * scale), scale = n / max,
// n = 2^k - 1. One multiply then round, so no fused multiply-add can change the result
// between the GPU and the reference (src/reference/quant.rs).
fn quant_code(x: f32, max_v: f32, scale: f32) -> f32 {
    return round(clamp(x, 0.0, max_v) * scale);
}

// Straight-through mask of the clip: 1 on the open interval (0, max), else 0.
fn ste_mask(x: f32, max_v: f32) -> f32 {
    return select(0.0, 1.0, x > 0.0 && x < max_v);
}
