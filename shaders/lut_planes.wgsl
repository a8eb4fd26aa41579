// Table gather to packed bit-planes with per-(channel, value) plane words: u8 pixels ->
// Bits [N, H, W, BITS, CW], the same output as lut.wgsl::gather_packed (channel c D + d of a
// pixel holds code[c][v_c][d]; word (b, j) bit i = bit b of the code of channel 32 j + i).
// The host builds, for every input channel c and value v, the words that channel's D codes
// set in each plane: planes[(c 256 + v) WPX + b CW + j] (zero where channel c has no bits in
// word j). A pixel's word is then the OR of its C channels' words: C + C WPX loads per pixel
// instead of one pixel and one table load per bit.
//#include _common

override C: u32 = 3u;
// Words per pixel: BITS * CW (at most 8).
override WPX: u32 = 2u;

struct Params {
    pixels: u32,
    _p0: u32,
    _p1: u32,
    _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pix: array<u32>;   // u8, four per word
@group(0) @binding(2) var<storage, read> planes: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(64)
fn gather_planes(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.pixels { return; }
    // WPX <= 8 (the host checks).
    var acc: array<u32, 8>;
    for (var c = 0u; c < C; c++) {
        let k = i * C + c;
        let v = (pix[k / 4u] >> (8u * (k % 4u))) & 0xffu;
        let base = (c * 256u + v) * WPX;
        for (var e = 0u; e < WPX; e++) {
            acc[e] |= planes[base + e];
        }
    }
    for (var e = 0u; e < WPX; e++) {
        out[i * WPX + e] = acc[e];
    }
}
