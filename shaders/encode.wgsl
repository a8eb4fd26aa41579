// Input encodings of the first-layer variants other than pixel embedding (forward only).
// Pixels [P, C] u8 (P = N*H*W, channels last), four per u32 word, byte i at bits 8*(i%4) of
// word i/4. One invocation per pixel element i = p*C + c writes its M outputs
// out[i*M + m] (so the output [P, C*M] has channel c*M + m):
//   naive:       M = 1,  out = v >> (8 - bits)                        (k-bit code)
//   bitplane:    M = 8,  out[b] = ((v >> b) & 1) * 2^b                (sum over b = v)
//   thermometer: M = L,  out[l] = 1 if v >= thr[l] else 0             (thr from the host:
//                thr(l) = ((l + 1) * 256) / (L + 1), reference::encode::thermometer_threshold)
//   to_f32:      M = 1,  out = v
//   normalize:   M = 1,  out = (v / 255 - mean[c]) / std[c]
//#include _common

struct Params {
    count: u32,     // P * C pixel elements
    channels: u32,  // C
    arg: u32,       // naive: bits; thermometer: L
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// The byte of pixel element i.
fn pixel_value(i: u32) -> u32 {
    return (pixels[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}

@compute @workgroup_size(64)
fn naive(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.count { return; }
    out[i] = f32(pixel_value(i) >> (8u - p.arg));
}

@compute @workgroup_size(64)
fn bitplane(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.count { return; }
    let v = pixel_value(i);
    for (var b = 0u; b < 8u; b++) {
        // bit b of v, weighted 2^b
        out[i * 8u + b] = f32(v & (1u << b));
    }
}

// Thresholds thr[l], l = 0..L-1, ascending.
@group(0) @binding(3) var<storage, read> thresholds: array<u32>;

@compute @workgroup_size(64)
fn thermometer(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.count { return; }
    let v = pixel_value(i);
    for (var l = 0u; l < p.arg; l++) {
        out[i * p.arg + l] = select(0.0, 1.0, v >= thresholds[l]);
    }
}

@compute @workgroup_size(64)
fn to_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.count { return; }
    out[i] = f32(pixel_value(i));
}

// mean[c] at index c, std[c] at index C + c.
@group(0) @binding(3) var<storage, read> stats: array<f32>;

@compute @workgroup_size(64)
fn normalize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.count { return; }
    let c = i % p.channels;
    // (v / 255 - mean[c]) / std[c]
    out[i] = (f32(pixel_value(i)) / 255.0 - stats[c]) / stats[p.channels + c];
}
