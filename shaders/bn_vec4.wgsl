// Batch normalization, four channels per invocation (C a multiple of 4): the row-walking
// passes of bn.wgsl with vec4 loads (a quarter of the loads). Same formulas and chunking
// (shaders/_bn.wgsl), same partial-result layout, so bn.wgsl's per-channel merge steps
// finish the reductions. Channel group g holds channels 4g .. 4g + 3; with G = C / 4 groups,
// x4[r * G + g] holds row r of that group.
//#include _bn

fn groups() -> u32 {
    return p.channels / 4u;
}

// ---- training forward, step 1: per-chunk mean and sum of squared deviations ----
// Bindings: p, x, stats [2, chunks, C].
@group(0) @binding(1) var<storage, read> st_x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> st_stats: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn chunk_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, WG);
    let g = groups();
    let plane = p.chunks * g;
    if id >= plane { return; }
    let run = run_of(id, g);
    let shift = st_x[run.r0 * g + run.c];
    var s1 = vec4<f32>();
    var s2 = vec4<f32>();
    for (var r = 0u; r < run.n; r++) {
        // s1 = sum (x - K), s2 = sum (x - K)^2
        let d = st_x[(run.r0 + r) * g + run.c] - shift;
        s1 += d;
        s2 += d * d;
    }
    let n = f32(run.n);
    // m_j = K + s1 / n_j, M2_j = s2 - s1^2 / n_j (>= 0 up to rounding)
    st_stats[id] = shift + s1 / n;
    st_stats[plane + id] = max(s2 - s1 * (s1 / n), vec4<f32>());
}

// ---- normalize: y = gamma (x - mean) invstd + beta ----
// Bindings: p, x, gamma, beta, mean, invstd, y.
@group(0) @binding(1) var<storage, read> nm_x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> nm_gamma: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> nm_beta: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> nm_mean: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> nm_invstd: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> nm_y: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn normalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, WG);
    let g = groups();
    if id >= p.chunks * g { return; }
    let run = run_of(id, g);
    let mean = nm_mean[run.c];
    let invstd = nm_invstd[run.c];
    let gamma = nm_gamma[run.c];
    let beta = nm_beta[run.c];
    for (var r = 0u; r < run.n; r++) {
        let i = (run.r0 + r) * g + run.c;
        // y = gamma (x - mean) invstd + beta
        nm_y[i] = gamma * ((nm_x[i] - mean) * invstd) + beta;
    }
}

// ---- backward, step 1: per-chunk sums of dy and dy xhat ----
// Bindings: p, x, dy, mean, invstd, sums [2, chunks, C].
@group(0) @binding(1) var<storage, read> gs_x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gs_dy: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> gs_mean: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> gs_invstd: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> gs_sums: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn chunk_grad_sums(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, WG);
    let g = groups();
    let plane = p.chunks * g;
    if id >= plane { return; }
    let run = run_of(id, g);
    let mean = gs_mean[run.c];
    let invstd = gs_invstd[run.c];
    var s_dy = vec4<f32>();
    var s_dyx = vec4<f32>();
    for (var r = 0u; r < run.n; r++) {
        let i = (run.r0 + r) * g + run.c;
        let dy = gs_dy[i];
        // xhat = (x - mean) invstd
        let xhat = (gs_x[i] - mean) * invstd;
        s_dy += dy;
        s_dyx += dy * xhat;
    }
    gs_sums[id] = s_dy;
    gs_sums[plane + id] = s_dyx;
}

// ---- backward, step 3: dx = gamma invstd (dy - dbeta / R - xhat dgamma / R) ----
// Bindings: p, x, dy, gamma, mean, invstd, dgamma, dbeta, dx.
@group(0) @binding(1) var<storage, read> dx_x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dx_dy: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dx_gamma: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dx_mean: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> dx_invstd: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> dx_dgamma: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> dx_dbeta: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dx_out: array<vec4<f32>>;

@compute @workgroup_size(WG)
fn input_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, WG);
    let g = groups();
    if id >= p.chunks * g { return; }
    let run = run_of(id, g);
    let rows = f32(p.rows);
    let mean = dx_mean[run.c];
    let invstd = dx_invstd[run.c];
    let k = dx_gamma[run.c] * invstd;
    let dbeta_mean = dx_dbeta[run.c] / rows;
    let dgamma_mean = dx_dgamma[run.c] / rows;
    for (var r = 0u; r < run.n; r++) {
        let i = (run.r0 + r) * g + run.c;
        let xhat = (dx_x[i] - mean) * invstd;
        // dx = gamma invstd (dy - dbeta / R - xhat dgamma / R)
        dx_out[i] = k * (dx_dy[i] - dbeta_mean - xhat * dgamma_mean);
    }
}
