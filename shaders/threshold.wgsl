// Per-channel integer thresholds: accumulator -> k-bit code. The one definition is
// src/reference/threshold.rs; with t = th_values[o * n .. o * n + n], n = 2^k - 1:
//   flag > 0 (increasing): code = #{ i : acc >= t[i] }
//   flag < 0 (decreasing): code = #{ i : acc <= t[i] }
//   flag = 0 (constant):   code = clamp(t[0], 0, n)
//   apply:        codes [M, O] as integers
//   apply_packed: codes as bit-planes [M, k, Ow]: word (m, b, j) bit i = bit b of code[m][32 j + i]
//#include _common
//#include bconv_threshold

struct Params {
    m: u32,
    o: u32,
    ow: u32,
    bits: u32,
    total: u32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// th_values (binding 1) and th_flags (binding 2) are declared in bconv_threshold.
@group(0) @binding(3) var<storage, read> acc: array<i32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(64)
fn apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.total { return; }
    // Codes are >= 0, so the u32 written has the bits of the i32 code.
    out[i] = threshold_code(acc[i], i % p.o, (1u << p.bits) - 1u);
}

// One invocation per (output word j, row m); j is the slow index so that neighbouring lanes
// read the same channels' thresholds.
@compute @workgroup_size(64)
fn apply_packed(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.total { return; }
    let j = i / p.m;
    let m = i % p.m;
    let levels = (1u << p.bits) - 1u;
    var planes: array<u32, 8>;
    let c_end = min(32u, p.o - 32u * j);
    for (var ci = 0u; ci < c_end; ci++) {
        let o = 32u * j + ci;
        let code = threshold_code(acc[m * p.o + o], o, levels);
        // word (m, b, j) bit ci = bit b of the code
        for (var b = 0u; b < p.bits; b++) {
            planes[b] |= ((code >> b) & 1u) << ci;
        }
    }
    for (var b = 0u; b < p.bits; b++) {
        out[(m * p.bits + b) * p.ow + j] = planes[b];
    }
}
