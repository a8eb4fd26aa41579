// Optimizer steps on latent float parameters, in place, one element per invocation
// (reference: src/reference/optim.rs). Hyper-parameters live in the uniform Params, so a new
// learning rate every step reuses the same pipeline.
//   sgd:  p = p - lr wd p;  v = momentum v + g;  p = p - lr v   (decoupled weight decay)
//   adam: p = p - lr wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//         p = p - lr (m / bc1) / (sqrt(v / bc2) + eps),  bc = 1 - b^step from the host
//   both, when clip = 1: p = clamp(p, lo, hi)  (latent binary weights stay in [-1, 1],
//   an embedding table inside its quantizer's range)
//   sumsq_partials: partial sums of g^2 for the squared gradient norm (see below).
//#include _common

struct SgdParams {
    n: u32,
    clip: u32,
    clip_lo: f32,
    clip_hi: f32,
    lr: f32,
    momentum: f32,
    weight_decay: f32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> sp: SgdParams;
@group(0) @binding(1) var<storage, read_write> s_param: array<f32>;
@group(0) @binding(2) var<storage, read> s_grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> s_velocity: array<f32>;

fn clipped(x: f32, on: u32, lo: f32, hi: f32) -> f32 {
    return select(x, clamp(x, lo, hi), on == 1u);
}

@compute @workgroup_size(256)
fn sgd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 256u);
    if i >= sp.n { return; }
    // p = p - lr wd p   (decoupled weight decay)
    var p = s_param[i];
    p -= sp.lr * sp.weight_decay * p;
    // v = momentum v + g
    let v = sp.momentum * s_velocity[i] + s_grad[i];
    s_velocity[i] = v;
    // p = p - lr v, then the clip
    s_param[i] = clipped(p - sp.lr * v, sp.clip, sp.clip_lo, sp.clip_hi);
}

struct AdamParams {
    n: u32,
    clip: u32,
    clip_lo: f32,
    clip_hi: f32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    // bc1 = 1 - beta1^step, bc2 = 1 - beta2^step (computed in f64 on the host)
    bc1: f32,
    bc2: f32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> ap: AdamParams;
@group(0) @binding(1) var<storage, read_write> a_param: array<f32>;
@group(0) @binding(2) var<storage, read> a_grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> a_m: array<f32>;
@group(0) @binding(4) var<storage, read_write> a_v: array<f32>;

@compute @workgroup_size(256)
fn adam(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 256u);
    if i >= ap.n { return; }
    let g = a_grad[i];
    var p = a_param[i];
    // p = p - lr wd p   (decoupled weight decay)
    p -= ap.lr * ap.weight_decay * p;
    // m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
    let m = ap.beta1 * a_m[i] + (1.0 - ap.beta1) * g;
    let v = ap.beta2 * a_v[i] + (1.0 - ap.beta2) * g * g;
    a_m[i] = m;
    a_v[i] = v;
    // p = p - lr mhat / (sqrt(vhat) + eps),  mhat = m / bc1,  vhat = v / bc2
    let mhat = m / ap.bc1;
    let vhat = v / ap.bc2;
    p -= ap.lr * mhat / (sqrt(vhat) + ap.eps);
    a_param[i] = clipped(p, ap.clip, ap.clip_lo, ap.clip_hi);
}

// Partial sums of squares of one gradient tensor of n elements, written at partials[offset..].
// Block b of BLOCK = WG * PER_LANE elements gives WG partials; lane l of block b sums
//   g[b BLOCK + l]^2 + g[b BLOCK + WG + l]^2 + ... (PER_LANE terms, in order, past n as 0)
// so neighbouring lanes read neighbouring elements. The host sums all partials with the
// fixed-order column sum of shaders/reduce.wgsl.
const WG: u32 = 256u;
const PER_LANE: u32 = 16u;

struct SumsqParams {
    n: u32,
    offset: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> qp: SumsqParams;
@group(0) @binding(1) var<storage, read> q_grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> q_partials: array<f32>;

@compute @workgroup_size(256)
fn sumsq_partials(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let b = wid.x + wid.y * nwg.x;
    let base = b * WG * PER_LANE + lid;
    if b * WG * PER_LANE >= qp.n { return; }
    // s = sum_k g[base + k WG]^2, k = 0..PER_LANE-1, terms past n skipped
    var s = 0.0;
    for (var k = 0u; k < PER_LANE; k++) {
        let i = base + k * WG;
        if i < qp.n {
            let g = q_grad[i];
            s += g * g;
        }
    }
    q_partials[qp.offset + b * WG + lid] = s;
}
