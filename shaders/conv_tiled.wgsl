// Float convolution, register-blocked (NHWC input, no bias):
//   y[n,oy,ox,o] = sum_{ky,kx,c} x[n, oy*S+ky-pad_y, ox*S+kx-pad_x, c] * w[o,ky,kx,c]
// (zero outside the image), for the input channels c0 .. c0+cn-1 of one chunk; a later
// chunk adds its sum to what y holds (fixed order, so results are deterministic).
//
// One invocation computes TW neighbouring output pixels of one row times OG = 4*OG4 output
// channels (one group). The group's weights sit in a uniform table packed by conv_pack.wgsl:
//   wg[((ky*KW + kx)*cn + (c - c0))*OG4 + q] = w[o0+4q .. o0+4q+3, ky, kx, c].
// For each (ky, c) the row segment xs[j] = x[n, iy, ox0*S + j - pad_x, c] that the tile
// reads is loaded once and reused by every tap kx and every output channel of the group.
//
// The block is small on purpose: on llvmpipe every value carried around a loop costs a
// masked store per iteration and large carried blocks spill badly, so 4 x 16 measured
// fastest. Arrays are indexed only by counters of loops that the compiler unrolls (short
// bodies, or trip count equal to the array length), so they stay in registers.
// Sums of integer-valued inputs are exact in f32 below 2^24 whatever the order.
//#include _common

override KH: u32 = 3u;
override KW: u32 = 3u;
override S: u32 = 1u;

// Output pixels per invocation and output channels per group / 4.
const TW: u32 = 4u;
const OG4: u32 = 4u;
// Longest row segment: (TW - 1) * S + KW for kernels up to 7 wide at stride 2.
const MAX_SEG: u32 = 16u;

struct Params {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    ho: u32,
    wo: u32,
    o: u32,
    // Zero padding before the first row (pad_y) and column (pad_x); negative: cropping.
    pad_y: i32,
    pad_x: i32,
    // First output channel of this group.
    o0: u32,
    // Tiles per output row (ceil(wo / TW)) and tiles in all (n * ho * tiles_x).
    tiles_x: u32,
    tiles: u32,
    // 1: add the sum to what y holds (a later input-channel chunk), 0: overwrite.
    accumulate: u32,
    // Input channels of this chunk: c0 .. c0 + cn - 1.
    c0: u32,
    cn: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<uniform> wg: array<vec4<f32>, 4096>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// x[n, iy, ix, c] with zero outside the image; `row` = (n*H + clamped iy) * W.
fn x_at(row: u32, row_in: bool, ix: i32, c: u32) -> f32 {
    let inside = row_in && ix >= 0 && ix < i32(p.w);
    let v = x[(row + u32(clamp(ix, 0, i32(p.w) - 1))) * p.c + c];
    return select(0.0, v, inside);
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    // Invocations past the last tile compute a copy of it and store nothing: an early
    // return would put every later statement under an execution mask.
    let t_raw = linear_index(wid, nwg, lid, 64u);
    let live = t_raw < p.tiles;
    let t = min(t_raw, p.tiles - 1u);
    let tx = t % p.tiles_x;
    let row_id = t / p.tiles_x;
    let oy = row_id % p.ho;
    let n = row_id / p.ho;
    let ox0 = tx * TW;
    // Input column of xs[0].
    let col0 = i32(ox0 * S) - p.pad_x;

    let seg = (TW - 1u) * S + KW;
    var acc: array<array<vec4<f32>, OG4>, TW>;
    for (var ky = 0u; ky < KH; ky++) {
        let iy = i32(oy * S + ky) - p.pad_y;
        let row_in = iy >= 0 && iy < i32(p.h);
        let row = (n * p.h + u32(clamp(iy, 0, i32(p.h) - 1))) * p.w;
        for (var ci = 0u; ci < p.cn; ci++) {
            let c = p.c0 + ci;
            // xs[j] = x[n, iy, ox0*S + j - pad_x, c]
            var xs: array<f32, MAX_SEG>;
            for (var j = 0u; j < seg; j++) {
                xs[j] = x_at(row, row_in, col0 + i32(j), c);
            }
            for (var kx = 0u; kx < KW; kx++) {
                let wb = ((ky * KW + kx) * p.cn + ci) * OG4;
                for (var q = 0u; q < OG4; q++) {
                    let wv = wg[wb + q];
                    for (var i = 0u; i < TW; i++) {
                        // acc[i][q] += w[o0+4q.., ky, kx, c] * x[n, iy, (ox0+i)*S+kx-pad_x, c]
                        acc[i][q] += wv * xs[i * S + kx];
                    }
                }
            }
        }
    }
    // Two store loops under one uniform branch, so the common case reads nothing back.
    // Channels past O (a partial last group) and pixels past Wo are not stored.
    if p.accumulate == 1u {
        for (var i = 0u; i < TW; i++) {
            let base = ((n * p.ho + oy) * p.wo + ox0 + i) * p.o + p.o0;
            let keep = live && ox0 + i < p.wo;
            for (var q = 0u; q < OG4; q++) {
                let o = p.o0 + 4u * q;
                let v = acc[i][q];
                if keep && o < p.o { y[base + 4u * q] += v.x; }
                if keep && o + 1u < p.o { y[base + 4u * q + 1u] += v.y; }
                if keep && o + 2u < p.o { y[base + 4u * q + 2u] += v.z; }
                if keep && o + 3u < p.o { y[base + 4u * q + 3u] += v.w; }
            }
        }
    } else {
        for (var i = 0u; i < TW; i++) {
            let base = ((n * p.ho + oy) * p.wo + ox0 + i) * p.o + p.o0;
            let keep = live && ox0 + i < p.wo;
            for (var q = 0u; q < OG4; q++) {
                let o = p.o0 + 4u * q;
                let v = acc[i][q];
                if keep && o < p.o { y[base + 4u * q] = v.x; }
                if keep && o + 1u < p.o { y[base + 4u * q + 1u] = v.y; }
                if keep && o + 2u < p.o { y[base + 4u * q + 2u] = v.z; }
                if keep && o + 3u < p.o { y[base + 4u * q + 3u] = v.w; }
            }
        }
    }
}
