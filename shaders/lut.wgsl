// Integer first layer of the inference engine: a frozen lookup table of integer codes,
// gathered per pixel and written directly as packed bit-planes (layout: src/ops/layout.rs).
//   table: u32 codes [T, 256, D] (T = 1 shared, or one table per input channel)
//   out channel ch = c * D + d has code table[t(c)][v(n,h,w,c)][d]
//   out word (pixel, plane b, word j) bit i = bit b of the code of channel 32 j + i
// Every first-layer variant but float is such a table: pixel embedding (quantized E),
// naive (v >> (8 - k)), thermometer (v >= thr(l)), int8 (v), bit-plane (bit_b(v) << b).
//#include _common

struct Params {
    pixels: u32,   // N * H * W
    c: u32,        // input channels
    d: u32,        // codes per pixel value
    bits: u32,     // planes
    cw: u32,       // words per plane = ceil(C * D / 32)
    one_table: u32, // 1 if one table serves every channel
    total: u32,    // pixels * bits * cw
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pix: array<u32>;   // u8, four per word
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

fn pixel_value(i: u32) -> u32 {
    return (pix[i / 4u] >> (8u * (i % 4u))) & 0xffu;
}

@compute @workgroup_size(64)
fn gather_packed(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.total { return; }
    let j = i % p.cw;
    let b = (i / p.cw) % p.bits;
    let px = i / (p.cw * p.bits);
    var word = 0u;
    for (var bit = 0u; bit < 32u; bit++) {
        let ch = j * 32u + bit;
        if ch >= p.c * p.d { break; }
        let c = ch / p.d;
        let d = ch % p.d;
        let t = select(c, 0u, p.one_table == 1u);
        let v = pixel_value(px * p.c + c);
        let code = table[(t * 256u + v) * p.d + d];
        word |= ((code >> b) & 1u) << bit;
    }
    out[i] = word;
}
