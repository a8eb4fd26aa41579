// Batch normalization, one channel per invocation (any C), and the per-channel merge
// steps shared with bn_vec4.wgsl. Formulas and the chunked reduction: shaders/_bn.wgsl.
//#include _bn

// ---- training forward, step 1: per-chunk mean and sum of squared deviations ----
// Bindings: p, x [R*C], stats [2, chunks, C].
@group(0) @binding(1) var<storage, read> st_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> st_stats: array<f32>;

@compute @workgroup_size(WG)
fn chunk_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, WG);
    let plane = p.chunks * p.channels;
    if id >= plane { return; }
    let run = run_of(id, p.channels);
    let shift = st_x[run.r0 * p.channels + run.c];
    var s1 = 0.0;
    var s2 = 0.0;
    for (var r = 0u; r < run.n; r++) {
        // s1 = sum (x - K), s2 = sum (x - K)^2
        let d = st_x[(run.r0 + r) * p.channels + run.c] - shift;
        s1 += d;
        s2 += d * d;
    }
    let n = f32(run.n);
    // m_j = K + s1 / n_j, M2_j = s2 - s1^2 / n_j (>= 0 up to rounding)
    st_stats[id] = shift + s1 / n;
    st_stats[plane + id] = max(s2 - s1 * (s1 / n), 0.0);
}

// ---- training forward, step 2: merge chunks, batch stats, running stats ----
// Bindings: p, stats, running_mean, running_var, mean [C], invstd [C].
@group(0) @binding(1) var<storage, read> fin_stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> fin_running_mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> fin_running_var: array<f32>;
@group(0) @binding(4) var<storage, read_write> fin_mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> fin_invstd: array<f32>;

@compute @workgroup_size(WG)
fn finalize_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let c = linear_index(wid, nwg, lid, WG);
    if c >= p.channels { return; }
    let plane = p.chunks * p.channels;
    var n_a = 0.0;
    var m_a = 0.0;
    var m2_a = 0.0;
    for (var j = 0u; j < p.chunks; j++) {
        let k = j * p.channels + c;
        let n_b = f32(min(p.rows_per_chunk, p.rows - j * p.rows_per_chunk));
        // n = n_a + n_b, d = m_b - m_a, m = m_a + d n_b / n, M2 = M2_a + M2_b + d^2 n_a n_b / n
        let n = n_a + n_b;
        let d = fin_stats[k] - m_a;
        m_a = m_a + d * (n_b / n);
        m2_a = m2_a + fin_stats[plane + k] + d * d * (n_a * n_b / n);
        n_a = n;
    }
    let rows = f32(p.rows);
    fin_mean[c] = m_a;
    // invstd = 1 / sqrt(M2 / R + eps)
    fin_invstd[c] = 1.0 / sqrt(m2_a / rows + p.eps);
    // running = (1 - momentum) running + momentum batch, running_var with M2 / (R - 1)
    let unbiased = m2_a / (rows - 1.0);
    fin_running_mean[c] = (1.0 - p.momentum) * fin_running_mean[c] + p.momentum * m_a;
    fin_running_var[c] = (1.0 - p.momentum) * fin_running_var[c] + p.momentum * unbiased;
}

// ---- inference: invstd = 1 / sqrt(running_var + eps) ----
// Bindings: p, running_var [C], invstd [C].
@group(0) @binding(1) var<storage, read> inv_var: array<f32>;
@group(0) @binding(2) var<storage, read_write> inv_out: array<f32>;

@compute @workgroup_size(WG)
fn invstd_from_var(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let c = linear_index(wid, nwg, lid, WG);
    if c >= p.channels { return; }
    inv_out[c] = 1.0 / sqrt(inv_var[c] + p.eps);
}

// ---- normalize: y = gamma (x - mean) invstd + beta, one run of rows per invocation ----
// Bindings: p, x, gamma, beta, mean, invstd, y.
@group(0) @binding(1) var<storage, read> nm_x: array<f32>;
@group(0) @binding(2) var<storage, read> nm_gamma: array<f32>;
@group(0) @binding(3) var<storage, read> nm_beta: array<f32>;
@group(0) @binding(4) var<storage, read> nm_mean: array<f32>;
@group(0) @binding(5) var<storage, read> nm_invstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> nm_y: array<f32>;

@compute @workgroup_size(WG)
fn normalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, WG);
    if id >= p.chunks * p.channels { return; }
    let run = run_of(id, p.channels);
    let mean = nm_mean[run.c];
    let invstd = nm_invstd[run.c];
    let gamma = nm_gamma[run.c];
    let beta = nm_beta[run.c];
    for (var r = 0u; r < run.n; r++) {
        let i = (run.r0 + r) * p.channels + run.c;
        // y = gamma (x - mean) invstd + beta
        nm_y[i] = gamma * ((nm_x[i] - mean) * invstd) + beta;
    }
}

// ---- backward, step 1: per-chunk sums of dy and dy xhat ----
// Bindings: p, x, dy, mean, invstd, sums [2, chunks, C].
@group(0) @binding(1) var<storage, read> gs_x: array<f32>;
@group(0) @binding(2) var<storage, read> gs_dy: array<f32>;
@group(0) @binding(3) var<storage, read> gs_mean: array<f32>;
@group(0) @binding(4) var<storage, read> gs_invstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> gs_sums: array<f32>;

@compute @workgroup_size(WG)
fn chunk_grad_sums(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, WG);
    let plane = p.chunks * p.channels;
    if id >= plane { return; }
    let run = run_of(id, p.channels);
    let mean = gs_mean[run.c];
    let invstd = gs_invstd[run.c];
    var s_dy = 0.0;
    var s_dyx = 0.0;
    for (var r = 0u; r < run.n; r++) {
        let i = (run.r0 + r) * p.channels + run.c;
        let g = gs_dy[i];
        // xhat = (x - mean) invstd
        let xhat = (gs_x[i] - mean) * invstd;
        s_dy += g;
        s_dyx += g * xhat;
    }
    gs_sums[id] = s_dy;
    gs_sums[plane + id] = s_dyx;
}

// ---- backward, step 2: dbeta = sum dy, dgamma = sum dy xhat, chunks in order ----
// Bindings: p, sums, dgamma [C], dbeta [C].
@group(0) @binding(1) var<storage, read> gf_sums: array<f32>;
@group(0) @binding(2) var<storage, read_write> gf_dgamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> gf_dbeta: array<f32>;

@compute @workgroup_size(WG)
fn finalize_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let c = linear_index(wid, nwg, lid, WG);
    if c >= p.channels { return; }
    let plane = p.chunks * p.channels;
    var s_dy = 0.0;
    var s_dyx = 0.0;
    for (var j = 0u; j < p.chunks; j++) {
        s_dy += gf_sums[j * p.channels + c];
        s_dyx += gf_sums[plane + j * p.channels + c];
    }
    gf_dbeta[c] = s_dy;
    gf_dgamma[c] = s_dyx;
}

// ---- backward, step 3: dx = gamma invstd (dy - dbeta / R - xhat dgamma / R) ----
// Bindings: p, x, dy, gamma, mean, invstd, dgamma, dbeta, dx.
@group(0) @binding(1) var<storage, read> dx_x: array<f32>;
@group(0) @binding(2) var<storage, read> dx_dy: array<f32>;
@group(0) @binding(3) var<storage, read> dx_gamma: array<f32>;
@group(0) @binding(4) var<storage, read> dx_mean: array<f32>;
@group(0) @binding(5) var<storage, read> dx_invstd: array<f32>;
@group(0) @binding(6) var<storage, read> dx_dgamma: array<f32>;
@group(0) @binding(7) var<storage, read> dx_dbeta: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx_out: array<f32>;

@compute @workgroup_size(WG)
fn input_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, WG);
    if id >= p.chunks * p.channels { return; }
    let run = run_of(id, p.channels);
    let rows = f32(p.rows);
    let mean = dx_mean[run.c];
    let invstd = dx_invstd[run.c];
    let k = dx_gamma[run.c] * invstd;
    let dbeta_mean = dx_dbeta[run.c] / rows;
    let dgamma_mean = dx_dgamma[run.c] / rows;
    for (var r = 0u; r < run.n; r++) {
        let i = (run.r0 + r) * p.channels + run.c;
        let xhat = (dx_x[i] - mean) * invstd;
        // dx = gamma invstd (dy - dbeta / R - xhat dgamma / R)
        dx_out[i] = k * (dx_dy[i] - dbeta_mean - xhat * dgamma_mean);
    }
}
