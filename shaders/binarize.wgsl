// Weight binarizer: w_b = sign(w) * alpha, weights [O, R] (R = product of the rest of the shape).
//   rows:     one workgroup per output channel o: signs[o][r] = w >= 0 ? +1 : -1 and
//             row_sum[o] = sum_r |w[o][r]|, as 64 strided partial sums (lane l takes r = l,
//             l + 64, ...) added by a fixed tree, so the result is the same on every run
//   alpha:    one workgroup: per channel alpha[o] = row_sum[o] / R; per tensor
//             alpha[o] = (sum_o row_sum[o]) / (O R) for every o (fixed tree again)
//   sign:     signs[i] = w >= 0 ? +1 : -1 alone (the training graph, whose batch-norm absorbs alpha)
//   backward: dw = dwb * 1[|w| <= 1]      (straight-through, gradient of the clip; always 1 in
//             training, where the latent weights are clipped after every update)
//   clip:     w = clamp(w, -1, 1) in place
//#include _common

struct Params {
    outputs: u32,      // O
    row: u32,          // R
    per_channel: u32,  // 1: alpha per output channel, 0: one alpha for the tensor
    count: u32,        // O * R
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;

// ---- rows ----

@group(0) @binding(2) var<storage, read_write> signs: array<f32>;
@group(0) @binding(3) var<storage, read_write> row_sums_out: array<f32>;

var<workgroup> partial: array<f32, 64>;

// Fixed-order tree over partial[0..64]: after it, partial[0] holds the sum.
fn tree_sum(lid: u32) {
    for (var half = 32u; half > 0u; half >>= 1u) {
        workgroupBarrier();
        if lid < half {
            partial[lid] += partial[lid + half];
        }
    }
    workgroupBarrier();
}

@compute @workgroup_size(64)
fn rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let o = wid.x + wid.y * nwg.x;
    // Uniform across the workgroup, so the barriers below are reached by every lane.
    if o >= p.outputs { return; }
    let base = o * p.row;
    var sum = 0.0;
    for (var r = lid; r < p.row; r += 64u) {
        let v = w[base + r];
        signs[base + r] = select(-1.0, 1.0, v >= 0.0);
        sum += abs(v);
    }
    partial[lid] = sum;
    tree_sum(lid);
    if lid == 0u {
        row_sums_out[o] = partial[0];
    }
}

// ---- alpha ----

@group(0) @binding(1) var<storage, read> row_sums: array<f32>;
@group(0) @binding(2) var<storage, read_write> alpha: array<f32>;

@compute @workgroup_size(64)
fn alpha_from_rows(@builtin(local_invocation_index) lid: u32) {
    if p.per_channel == 1u {
        // alpha[o] = row_sum[o] / R
        for (var o = lid; o < p.outputs; o += 64u) {
            alpha[o] = row_sums[o] / f32(p.row);
        }
        return;
    }
    var sum = 0.0;
    for (var o = lid; o < p.outputs; o += 64u) {
        sum += row_sums[o];
    }
    partial[lid] = sum;
    tree_sum(lid);
    // alpha[o] = sum |w| / (O R)
    let mean = partial[0] / f32(p.count);
    for (var o = lid; o < p.outputs; o += 64u) {
        alpha[o] = mean;
    }
}

// ---- sign alone: elementwise ----

@compute @workgroup_size(256)
fn sign(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 256u);
    if i >= p.count { return; }
    signs[i] = select(-1.0, 1.0, w[i] >= 0.0);
}

// ---- backward and clip: elementwise ----

@group(0) @binding(2) var<storage, read> dwb: array<f32>;
@group(0) @binding(3) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 256u);
    if i >= p.count { return; }
    // dw = dwb * 1[|w| <= 1]
    dw[i] = select(0.0, dwb[i], abs(w[i]) <= 1.0);
}

@group(0) @binding(1) var<storage, read_write> w_mut: array<f32>;

@compute @workgroup_size(256)
fn clip(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 256u);
    if i >= p.count { return; }
    // w = clamp(w, -1, 1)
    w_mut[i] = clamp(w_mut[i], -1.0, 1.0);
}
