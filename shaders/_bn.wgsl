// Batch normalization helpers shared by bn.wgsl (one channel per invocation) and
// bn_vec4.wgsl (four channels per invocation, C a multiple of 4). Pulled in with
// `//#include _bn`.
//
// Activations are rows x C, channel fastest: x[r * C + c]. Reductions are chunked and
// deterministic: the rows are split into `chunks` runs of `rows_per_chunk` (the last may be
// shorter); one invocation per (chunk, channel or channel group) reduces its run in row
// order, then one invocation per channel merges the chunk results in chunk order. No atomics.
//
// Training forward:
//   per chunk j of n_j rows, shifted by its first value K (keeps the sums small):
//     s1 = sum (x - K),  s2 = sum (x - K)^2,  m_j = K + s1 / n_j,  M2_j = s2 - s1^2 / n_j
//   merge (Chan et al.) chunk by chunk in order, a = merged so far, b = chunk j:
//     n = n_a + n_b,  d = m_b - m_a,  m = m_a + d n_b / n,  M2 = M2_a + M2_b + d^2 n_a n_b / n
//   var = M2 / R (biased),  invstd = 1 / sqrt(var + eps)
//   running_mean = (1 - momentum) running_mean + momentum mean
//   running_var  = (1 - momentum) running_var  + momentum M2 / (R - 1)   (unbiased)
//   y = gamma (x - mean) invstd + beta
// Backward, xhat = (x - mean) invstd:
//   dbeta = sum dy,  dgamma = sum dy xhat,  dx = gamma invstd (dy - dbeta / R - xhat dgamma / R)
//
// Partial results are planar: plane 0 holds [chunks, C] of the first quantity (m_j or
// sum dy), plane 1 at offset chunks * C the second (M2_j or sum dy xhat).
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

// A run of rows of one channel (or group of four channels `c` = group index).
struct Run {
    c: u32,
    r0: u32,
    n: u32,
}

// Run of invocation `id` < chunks * groups, with `groups` channels or channel groups.
fn run_of(id: u32, groups: u32) -> Run {
    let chunk = id / groups;
    let c = id - chunk * groups;
    let r0 = chunk * p.rows_per_chunk;
    return Run(c, r0, min(p.rows_per_chunk, p.rows - r0));
}
