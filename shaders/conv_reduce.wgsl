// Ordered sum of partial results: out[i] = part[0][i] + part[1][i] + ... + part[k-1][i],
// chunks added in increasing order so the result does not depend on scheduling.
//#include _common

struct Params {
    // Entries per partial and number of partials.
    total: u32,
    chunks: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn sum_chunks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.total {
        return;
    }
    var s = 0.0;
    for (var k = 0u; k < p.chunks; k++) {
        s += part[k * p.total + i];
    }
    out[i] = s;
}
