// Batch normalization over rows x C (NHWC activations, channel fastest: x[r * C + c]).
//
// Reductions are chunked and deterministic: rows are split into `chunks` runs of
// `rows_per_chunk`; one invocation per (chunk, channel) sums its run in row order, and one
// invocation per channel then merges the chunk results in chunk order. No atomics.
//
// Forward (training):
//   per chunk j (n_j rows):  m_j = sum x / n_j,  M2_j = sum (x - m_j)^2
//   merge (Chan et al.), chunk by chunk in order, a = merged so far, b = chunk j:
//     n = n_a + n_b,  d = m_b - m_a,  m = m_a + d * n_b / n,  M2 = M2_a + M2_b + d^2 n_a n_b / n
//   var = M2 / R (biased),  invstd = 1 / sqrt(var + eps)
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * R / (R - 1)
//   y = gamma * (x - mean) * invstd + beta
// Backward, xhat = (x - mean) * invstd:
//   dbeta = sum dy,  dgamma = sum dy * xhat
//   dx = gamma * invstd * (dy - dbeta / R - xhat * dgamma / R)
//#include _common

struct Params {
    rows: u32,
    channels: u32,
    rows_per_chunk: u32,
    chunks: u32,
    momentum: f32,
    eps: f32,
    _pad0: u32,
    _pad1: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;

// (chunk, channel, first row, row count) of invocation `id` (id < chunks * channels).
struct Run {
    chunk: u32,
    c: u32,
    r0: u32,
    n: u32,
}

fn run_of(id: u32) -> Run {
    let chunk = id / p.channels;
    let c = id - chunk * p.channels;
    let r0 = chunk * p.rows_per_chunk;
    let n = min(p.rows_per_chunk, p.rows - r0);
    return Run(chunk, c, r0, n);
}

// ---- training forward, step 1: per-chunk mean and sum of squared deviations ----
// Bindings: p, x [R*C], stats [chunks*C*2] = (m_j, M2_j) pairs.
@group(0) @binding(1) var<storage, read> st_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> st_stats: array<f32>;

@compute @workgroup_size(WG)
fn chunk_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, WG);
    if id >= p.chunks * p.channels { return; }
    let run = run_of(id);
    var s = 0.0;
    for (var r = 0u; r < run.n; r++) {
        s += st_x[(run.r0 + r) * p.channels + run.c];
    }
    // m_j = sum x / n_j
    let m = s / f32(run.n);
    var q = 0.0;
    for (var r = 0u; r < run.n; r++) {
        let d = st_x[(run.r0 + r) * p.channels + run.c] - m;
        q += d * d;
    }
    // M2_j = sum (x - m_j)^2
    st_stats[2u * id] = m;
    st_stats[2u * id + 1u] = q;
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
    var n_a = 0.0;
    var m_a = 0.0;
    var m2_a = 0.0;
    for (var j = 0u; j < p.chunks; j++) {
        let k = 2u * (j * p.channels + c);
        let n_b = f32(min(p.rows_per_chunk, p.rows - j * p.rows_per_chunk));
        let m_b = fin_stats[k];
        let m2_b = fin_stats[k + 1u];
        // n = n_a + n_b, d = m_b - m_a, m = m_a + d n_b / n, M2 = M2_a + M2_b + d^2 n_a n_b / n
        let n = n_a + n_b;
        let d = m_b - m_a;
        m_a = m_a + d * (n_b / n);
        m2_a = m2_a + m2_b + d * d * (n_a * n_b / n);
        n_a = n;
    }
    let rows = f32(p.rows);
    // var = M2 / R (biased), invstd = 1 / sqrt(var + eps)
    let var_b = m2_a / rows;
    fin_mean[c] = m_a;
    fin_invstd[c] = 1.0 / sqrt(var_b + p.eps);
    // running = (1 - momentum) running + momentum batch; running_var gets var R / (R - 1)
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

// ---- normalize: y = gamma * (x - mean) * invstd + beta (one run of rows per invocation) ----
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
    let run = run_of(id);
    let mean = nm_mean[run.c];
    let invstd = nm_invstd[run.c];
    let gamma = nm_gamma[run.c];
    let beta = nm_beta[run.c];
    for (var r = 0u; r < run.n; r++) {
        let i = (run.r0 + r) * p.channels + run.c;
        // y = gamma * (x - mean) * invstd + beta
        nm_y[i] = gamma * ((nm_x[i] - mean) * invstd) + beta;
    }
}

// ---- backward, step 1: per-chunk sums of dy and dy * xhat ----
// Bindings: p, x, dy, mean, invstd, sums [chunks*C*2] = (sum dy, sum dy xhat) pairs.
@group(0) @binding(1) var<storage, read> gs_x: array<f32>;
@group(0) @binding(2) var<storage, read> gs_dy: array<f32>;
@group(0) @binding(3) var<storage, read> gs_mean: array<f32>;
@group(0) @binding(4) var<storage, read> gs_invstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> gs_sums: array<f32>;

@compute @workgroup_size(WG)
fn chunk_grad_sums(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, WG);
    if id >= p.chunks * p.channels { return; }
    let run = run_of(id);
    let mean = gs_mean[run.c];
    let invstd = gs_invstd[run.c];
    var s_dy = 0.0;
    var s_dyx = 0.0;
    for (var r = 0u; r < run.n; r++) {
        let i = (run.r0 + r) * p.channels + run.c;
        let g = gs_dy[i];
        // xhat = (x - mean) * invstd
        let xhat = (gs_x[i] - mean) * invstd;
        s_dy += g;
        s_dyx += g * xhat;
    }
    gs_sums[2u * id] = s_dy;
    gs_sums[2u * id + 1u] = s_dyx;
}

// ---- backward, step 2: dbeta = sum dy, dgamma = sum dy xhat (chunk order) ----
// Bindings: p, sums, dgamma [C], dbeta [C].
@group(0) @binding(1) var<storage, read> gf_sums: array<f32>;
@group(0) @binding(2) var<storage, read_write> gf_dgamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> gf_dbeta: array<f32>;

@compute @workgroup_size(WG)
fn finalize_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let c = linear_index(wid, nwg, lid, WG);
    if c >= p.channels { return; }
    var s_dy = 0.0;
    var s_dyx = 0.0;
    for (var j = 0u; j < p.chunks; j++) {
        let k = 2u * (j * p.channels + c);
        s_dy += gf_sums[k];
        s_dyx += gf_sums[k + 1u];
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
    let run = run_of(id);
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
