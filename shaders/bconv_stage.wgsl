// Staging for the blocked bitwise convolution (bconv_blocked.wgsl): per-dispatch copies of the
// weights, scales and thresholds of a range of channel groups, reordered so that the kernel
// reads 4 channels at once from a 64 KiB uniform buffer. Channel c of the range is output
// channel o = o_base + c; channels past O are staged as zeros.
//#include _common

struct Params {
    // Staged u32 words written by this dispatch.
    total: u32,
    // Output channels O and the first channel of the range.
    o: u32,
    o_base: u32,
    // Channels per group (4 QV).
    qb: u32,
    // Taps KH * KW and words per weight row CW (stage_weights).
    taps: u32,
    cw: u32,
    // Thresholds per channel (row) 2^k - 1 (stage_thresholds, stage_residual).
    levels: u32,
    _p0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

// Weights [O, KH, KW, CW] -> word ((g taps + tap) cw + j) qb + c of the staged buffer holds
// word j of tap `tap` of channel g qb + c of the range.
@compute @workgroup_size(64)
fn stage_weights(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let s = linear_index(wid, nwg, lid, 64u);
    if s >= p.total { return; }
    let c = s % p.qb;
    let j = (s / p.qb) % p.cw;
    let tap = (s / (p.qb * p.cw)) % p.taps;
    let g = s / (p.qb * p.cw * p.taps);
    let o = p.o_base + g * p.qb + c;
    var word = 0u;
    if o < p.o {
        word = src[(o * p.taps + tap) * p.cw + j];
    }
    dst[s] = word;
}

// Per-channel words (e.g. f32 scales as bits) -> word c of the staged buffer holds channel c.
@compute @workgroup_size(64)
fn stage_channels(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let s = linear_index(wid, nwg, lid, 64u);
    if s >= p.total { return; }
    let o = p.o_base + s;
    var word = 0u;
    if o < p.o {
        word = src[o];
    }
    dst[s] = word;
}

@group(0) @binding(1) var<storage, read> th_values: array<u32>;
@group(0) @binding(2) var<storage, read> th_flags: array<u32>;
@group(0) @binding(3) var<storage, read_write> th_dst: array<u32>;

// Thresholds [O, levels] and flags [O] -> channel block cb (channels 4 cb .. 4 cb + 3) owns
// vec4 elements cb (levels + 1) + slot: slot 0 = the 4 flags, slot 1 + i = the 4 thresholds i.
@compute @workgroup_size(64)
fn stage_thresholds(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let s = linear_index(wid, nwg, lid, 64u);
    if s >= p.total { return; }
    let e = s % 4u;
    let slot = (s / 4u) % (p.levels + 1u);
    let cb = s / (4u * (p.levels + 1u));
    let o = p.o_base + cb * 4u + e;
    var word = 0u;
    if o < p.o {
        if slot == 0u {
            word = th_flags[o];
        } else {
            word = th_values[o * p.levels + slot - 1u];
        }
    }
    th_dst[s] = word;
}

// Residual rows: thresholds [O, levels + 1, levels] and flags [O, levels + 1] -> channel
// block cb, shortcut code r owns vec4 elements (cb (levels + 1) + r) (levels + 1) + slot:
// slot 0 = the 4 flags of row r, slot 1 + i = the 4 thresholds i of row r.
@compute @workgroup_size(64)
fn stage_residual(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let s = linear_index(wid, nwg, lid, 64u);
    if s >= p.total { return; }
    let rows = p.levels + 1u;
    let e = s % 4u;
    let slot = (s / 4u) % rows;
    let r = (s / (4u * rows)) % rows;
    let cb = s / (4u * rows * rows);
    let o = p.o_base + cb * 4u + e;
    var word = 0u;
    if o < p.o {
        if slot == 0u {
            word = th_flags[o * rows + r];
        } else {
            word = th_values[(o * rows + r) * p.levels + slot - 1u];
        }
    }
    th_dst[s] = word;
}
