// 2x2 max pooling, stride 2, directly on packed k-bit codes (layout: src/ops/layout.rs):
//   out code[n, y, x, c] = max over dy, dx in {0, 1} of code[n, 2y + dy, 2x + dx, c]
// One invocation per (output pixel, word j) rebuilds the 32 codes of the word from its k
// planes, takes the max and writes the k planes back.
//#include _common

struct Params {
    h: u32, w: u32, ho: u32, wo: u32,
    bits: u32, cw: u32, total: u32, _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

@compute @workgroup_size(64)
fn max2x2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.total { return; }
    let j = i % p.cw;
    let pix = i / p.cw;
    let ox = pix % p.wo;
    let oy = (pix / p.wo) % p.ho;
    let n = pix / (p.wo * p.ho);
    var out: array<u32, 8>;
    for (var b = 0u; b < p.bits; b++) { out[b] = 0u; }
    for (var bit = 0u; bit < 32u; bit++) {
        var m = 0u;
        for (var d = 0u; d < 4u; d++) {
            let base = ((n * p.h + 2u * oy + d / 2u) * p.w + 2u * ox + d % 2u) * p.bits * p.cw + j;
            var code = 0u;
            for (var b = 0u; b < p.bits; b++) {
                code |= ((x[base + b * p.cw] >> bit) & 1u) << b;
            }
            m = max(m, code);
        }
        for (var b = 0u; b < p.bits; b++) {
            out[b] |= ((m >> b) & 1u) << bit;
        }
    }
    let obase = pix * p.bits * p.cw + j;
    for (var b = 0u; b < p.bits; b++) {
        y[obase + b * p.cw] = out[b];
    }
}
