// Per-channel integer thresholds: accumulator -> k-bit code. The one definition is
// src/reference/threshold.rs; with t = th_values[o * n .. o * n + n], n = 2^k - 1:
//   flag > 0 (increasing): code = #{ i : acc >= t[i] }
//   flag < 0 (decreasing): code = #{ i : acc <= t[i] }
//   flag = 0 (constant):   code = clamp(t[0], 0, n)
//   apply:        codes [M, O] as integers
//   apply_packed: codes as bit-planes [M, k, Ow]: word (m, b, j) bit i = bit b of code[m][32 j + i]
//#include _common

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
@group(0) @binding(1) var<storage, read> th_values: array<i32>;
@group(0) @binding(2) var<storage, read> th_flags: array<i32>;

// Branch-free: each threshold is compared in both directions and the flag selects.
// (With sorted t0 <= t1 <= t2 the count's bits are bit1 = [acc >= t1] and
// bit0 = [acc >= t0] xor [acc >= t1] xor [acc >= t2]; counting gives the same and also
// defines the code for any k and for unsorted values.)
fn threshold_code(acc: i32, o: u32, levels: u32) -> u32 {
    let base = o * levels;
    var up = 0u;
    var down = 0u;
    for (var i = 0u; i < levels; i++) {
        let t = th_values[base + i];
        up += select(0u, 1u, acc >= t);
        down += select(0u, 1u, acc <= t);
    }
    let flag = th_flags[o];
    let constant = u32(clamp(th_values[base], 0, i32(levels)));
    return select(select(down, up, flag > 0), constant, flag == 0);
}

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
