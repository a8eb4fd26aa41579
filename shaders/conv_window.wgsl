// Float convolution with the input read through a 64 KiB uniform window (NHWC, no bias):
//   y[n,oy,ox,o] = sum_{c,ky,kx} x[n, oy*S+ky-pad_y, ox*S+kx-pad_x, c] * w[o,ky,kx,c]
// (zero outside the image), for the input channels c0 .. c0+cn-1 of one chunk; a later
// chunk adds its sum to what y holds (fixed order, so results are deterministic).
//
// On llvmpipe a storage read at a per-lane address runs lane by lane with a bounds check,
// while a uniform read is a plain gather, about ten times cheaper. So each dispatch binds
// the input rows that its output rows row0 .. row0+rows-1 (flattened n*Ho + oy) need as a
// uniform window starting at float xoff of x; the host picks the windows.
//
// One invocation computes TW neighbouring output pixels of one row times 4*OQ output
// channels (part `sub` of a group of 4*OQ*subs channels whose weights sit in a uniform table
// packed by conv_pack.wgsl:
//   wg[((ky*KW + kx)*cn + (c - c0))*OQ*subs + q] = w[o0+4q .. o0+4q+3, ky, kx, c]).
// The loop over input channels carries the accumulators; inside it, the loop over kernel
// rows reads one row segment x0 .. x{seg-1} and applies the 3 taps of that row, so each
// input value read serves every tap that uses it and 4*OQ output channels.
// KW = 3 only, one entry point per stride: the block is written out as one variable per
// accumulator and per input value, with no arrays (loops over register arrays that the
// compiler did not unroll went to memory and ran 5-10x slower).
// Sums of integer-valued inputs are exact in f32 below 2^24 whatever the order.
//#include _common

override KH: u32 = 3u;

// Output pixels per invocation, vec4s of output channels per invocation.
const TW: u32 = 8u;
const OQ: u32 = 2u;

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
    // Tiles per output row (ceil(wo / TW)).
    tiles_x: u32,
    // Output rows of this dispatch: row0 .. row0 + rows - 1; invocations rows*tiles_x*subs.
    row0: u32,
    rows: u32,
    total: u32,
    // 1: add the sum to what y holds (a later input-channel chunk), 0: overwrite.
    accumulate: u32,
    // Input channels of this chunk: c0 .. c0 + cn - 1.
    c0: u32,
    cn: u32,
    // Float index in x of the window's first entry.
    xoff: u32,
    // Parts of 4*OQ channels per group (the group has 4*OQ*subs channels).
    subs: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> xw: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<uniform> wg: array<vec4<f32>, 4096>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// x[n, iy, ix, c] with zero outside the image; `row` = (n*H + clamped iy) * W, relative
// index l = flat index - xoff, read as component l % 4 of window entry l / 4.
fn x_at(row: u32, row_in: bool, ix: i32, c: u32) -> f32 {
    let inside = row_in && ix >= 0 && ix < i32(p.w);
    let l = (row + u32(clamp(ix, 0, i32(p.w) - 1))) * p.c + c - p.xoff;
    return select(0.0, xw[l >> 2u][l & 3u], inside);
}

// Store one pixel's 4*OQ channels from y index `base` (first channel o): channels past O
// (a partial last group) and pixels past Wo (keep false) are not stored.
fn store(keep: bool, base: u32, o: u32, v0: vec4<f32>, v1: vec4<f32>) {
    store4(keep, base, o, v0);
    store4(keep, base + 4u, o + 4u, v1);
}

fn store4(keep: bool, b: u32, o: u32, acc: vec4<f32>) {
    var v = acc;
    if p.accumulate == 1u {
        if keep && o < p.o { v.x += y[b]; }
        if keep && o + 1u < p.o { v.y += y[b + 1u]; }
        if keep && o + 2u < p.o { v.z += y[b + 2u]; }
        if keep && o + 3u < p.o { v.w += y[b + 3u]; }
    }
    if keep && o < p.o { y[b] = v.x; }
    if keep && o + 1u < p.o { y[b + 1u] = v.y; }
    if keep && o + 2u < p.o { y[b + 2u] = v.z; }
    if keep && o + 3u < p.o { y[b + 3u] = v.w; }
}

@compute @workgroup_size(8)
fn forward_s1(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    // Invocations past the last one compute a copy of it and store nothing.
    let t_raw = linear_index(wid, nwg, lid, 8u);
    let live = t_raw < p.total;
    let t = min(t_raw, p.total - 1u);
    let sub = t % p.subs;
    let tx = (t / p.subs) % p.tiles_x;
    let r = p.row0 + t / (p.subs * p.tiles_x);
    let oy = r % p.ho;
    let n = r / p.ho;
    let ox0 = tx * TW;
    // Input column of x0 below; table entry of this part's first vec4.
    let col0 = i32(ox0 * 1u) - p.pad_x;
    let q0 = sub * OQ;
    // a{i}_{q}: output pixel ox0 + i, channels o0 + 4*(q0 + q) .. + 3
    var a0_0 = vec4<f32>();
    var a0_1 = vec4<f32>();
    var a1_0 = vec4<f32>();
    var a1_1 = vec4<f32>();
    var a2_0 = vec4<f32>();
    var a2_1 = vec4<f32>();
    var a3_0 = vec4<f32>();
    var a3_1 = vec4<f32>();
    var a4_0 = vec4<f32>();
    var a4_1 = vec4<f32>();
    var a5_0 = vec4<f32>();
    var a5_1 = vec4<f32>();
    var a6_0 = vec4<f32>();
    var a6_1 = vec4<f32>();
    var a7_0 = vec4<f32>();
    var a7_1 = vec4<f32>();
    for (var ci = 0u; ci < p.cn; ci++) {
        let c = p.c0 + ci;
        for (var ky = 0u; ky < KH; ky++) {
            let iy = i32(oy * 1u + ky) - p.pad_y;
            let row_in = iy >= 0 && iy < i32(p.h);
            let row = (n * p.h + u32(clamp(iy, 0, i32(p.h) - 1))) * p.w;
            // x{j} = x[n, iy, ox0*1 + j - pad_x, c]
            let x0 = x_at(row, row_in, col0 + 0, c);
            let x1 = x_at(row, row_in, col0 + 1, c);
            let x2 = x_at(row, row_in, col0 + 2, c);
            let x3 = x_at(row, row_in, col0 + 3, c);
            let x4 = x_at(row, row_in, col0 + 4, c);
            let x5 = x_at(row, row_in, col0 + 5, c);
            let x6 = x_at(row, row_in, col0 + 6, c);
            let x7 = x_at(row, row_in, col0 + 7, c);
            let x8 = x_at(row, row_in, col0 + 8, c);
            let x9 = x_at(row, row_in, col0 + 9, c);
            // tap (ky, kx): table entry ((ky*3 + kx)*cn + ci)*og4 + q0 + q, og4 = OQ*subs
            let og4 = OQ * p.subs;
            let wb = (ky * 3u * p.cn + ci) * og4 + q0;
            let w0_0 = wg[wb + 0u];
            let w0_1 = wg[wb + 1u];
            let w1_0 = wg[wb + 1u * og4 * p.cn + 0u];
            let w1_1 = wg[wb + 1u * og4 * p.cn + 1u];
            let w2_0 = wg[wb + 2u * og4 * p.cn + 0u];
            let w2_1 = wg[wb + 2u * og4 * p.cn + 1u];
            // a{i}_{q} += w[o.., ky, kx, c] * x[n, iy, (ox0+i)*1+kx-pad_x, c]
            a0_0 += w0_0 * x0;
            a0_1 += w0_1 * x0;
            a1_0 += w0_0 * x1;
            a1_1 += w0_1 * x1;
            a2_0 += w0_0 * x2;
            a2_1 += w0_1 * x2;
            a3_0 += w0_0 * x3;
            a3_1 += w0_1 * x3;
            a4_0 += w0_0 * x4;
            a4_1 += w0_1 * x4;
            a5_0 += w0_0 * x5;
            a5_1 += w0_1 * x5;
            a6_0 += w0_0 * x6;
            a6_1 += w0_1 * x6;
            a7_0 += w0_0 * x7;
            a7_1 += w0_1 * x7;
            a0_0 += w1_0 * x1;
            a0_1 += w1_1 * x1;
            a1_0 += w1_0 * x2;
            a1_1 += w1_1 * x2;
            a2_0 += w1_0 * x3;
            a2_1 += w1_1 * x3;
            a3_0 += w1_0 * x4;
            a3_1 += w1_1 * x4;
            a4_0 += w1_0 * x5;
            a4_1 += w1_1 * x5;
            a5_0 += w1_0 * x6;
            a5_1 += w1_1 * x6;
            a6_0 += w1_0 * x7;
            a6_1 += w1_1 * x7;
            a7_0 += w1_0 * x8;
            a7_1 += w1_1 * x8;
            a0_0 += w2_0 * x2;
            a0_1 += w2_1 * x2;
            a1_0 += w2_0 * x3;
            a1_1 += w2_1 * x3;
            a2_0 += w2_0 * x4;
            a2_1 += w2_1 * x4;
            a3_0 += w2_0 * x5;
            a3_1 += w2_1 * x5;
            a4_0 += w2_0 * x6;
            a4_1 += w2_1 * x6;
            a5_0 += w2_0 * x7;
            a5_1 += w2_1 * x7;
            a6_0 += w2_0 * x8;
            a6_1 += w2_1 * x8;
            a7_0 += w2_0 * x9;
            a7_1 += w2_1 * x9;
        }
    }
    store(live && ox0 + 0u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 0u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a0_0, a0_1);
    store(live && ox0 + 1u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 1u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a1_0, a1_1);
    store(live && ox0 + 2u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 2u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a2_0, a2_1);
    store(live && ox0 + 3u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 3u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a3_0, a3_1);
    store(live && ox0 + 4u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 4u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a4_0, a4_1);
    store(live && ox0 + 5u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 5u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a5_0, a5_1);
    store(live && ox0 + 6u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 6u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a6_0, a6_1);
    store(live && ox0 + 7u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 7u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a7_0, a7_1);
}

@compute @workgroup_size(8)
fn forward_s2(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    // Invocations past the last one compute a copy of it and store nothing.
    let t_raw = linear_index(wid, nwg, lid, 8u);
    let live = t_raw < p.total;
    let t = min(t_raw, p.total - 1u);
    let sub = t % p.subs;
    let tx = (t / p.subs) % p.tiles_x;
    let r = p.row0 + t / (p.subs * p.tiles_x);
    let oy = r % p.ho;
    let n = r / p.ho;
    let ox0 = tx * TW;
    // Input column of x0 below; table entry of this part's first vec4.
    let col0 = i32(ox0 * 2u) - p.pad_x;
    let q0 = sub * OQ;
    // a{i}_{q}: output pixel ox0 + i, channels o0 + 4*(q0 + q) .. + 3
    var a0_0 = vec4<f32>();
    var a0_1 = vec4<f32>();
    var a1_0 = vec4<f32>();
    var a1_1 = vec4<f32>();
    var a2_0 = vec4<f32>();
    var a2_1 = vec4<f32>();
    var a3_0 = vec4<f32>();
    var a3_1 = vec4<f32>();
    var a4_0 = vec4<f32>();
    var a4_1 = vec4<f32>();
    var a5_0 = vec4<f32>();
    var a5_1 = vec4<f32>();
    var a6_0 = vec4<f32>();
    var a6_1 = vec4<f32>();
    var a7_0 = vec4<f32>();
    var a7_1 = vec4<f32>();
    for (var ci = 0u; ci < p.cn; ci++) {
        let c = p.c0 + ci;
        for (var ky = 0u; ky < KH; ky++) {
            let iy = i32(oy * 2u + ky) - p.pad_y;
            let row_in = iy >= 0 && iy < i32(p.h);
            let row = (n * p.h + u32(clamp(iy, 0, i32(p.h) - 1))) * p.w;
            // x{j} = x[n, iy, ox0*2 + j - pad_x, c]
            let x0 = x_at(row, row_in, col0 + 0, c);
            let x1 = x_at(row, row_in, col0 + 1, c);
            let x2 = x_at(row, row_in, col0 + 2, c);
            let x3 = x_at(row, row_in, col0 + 3, c);
            let x4 = x_at(row, row_in, col0 + 4, c);
            let x5 = x_at(row, row_in, col0 + 5, c);
            let x6 = x_at(row, row_in, col0 + 6, c);
            let x7 = x_at(row, row_in, col0 + 7, c);
            let x8 = x_at(row, row_in, col0 + 8, c);
            let x9 = x_at(row, row_in, col0 + 9, c);
            let x10 = x_at(row, row_in, col0 + 10, c);
            let x11 = x_at(row, row_in, col0 + 11, c);
            let x12 = x_at(row, row_in, col0 + 12, c);
            let x13 = x_at(row, row_in, col0 + 13, c);
            let x14 = x_at(row, row_in, col0 + 14, c);
            let x15 = x_at(row, row_in, col0 + 15, c);
            let x16 = x_at(row, row_in, col0 + 16, c);
            // tap (ky, kx): table entry ((ky*3 + kx)*cn + ci)*og4 + q0 + q, og4 = OQ*subs
            let og4 = OQ * p.subs;
            let wb = (ky * 3u * p.cn + ci) * og4 + q0;
            let w0_0 = wg[wb + 0u];
            let w0_1 = wg[wb + 1u];
            let w1_0 = wg[wb + 1u * og4 * p.cn + 0u];
            let w1_1 = wg[wb + 1u * og4 * p.cn + 1u];
            let w2_0 = wg[wb + 2u * og4 * p.cn + 0u];
            let w2_1 = wg[wb + 2u * og4 * p.cn + 1u];
            // a{i}_{q} += w[o.., ky, kx, c] * x[n, iy, (ox0+i)*2+kx-pad_x, c]
            a0_0 += w0_0 * x0;
            a0_1 += w0_1 * x0;
            a1_0 += w0_0 * x2;
            a1_1 += w0_1 * x2;
            a2_0 += w0_0 * x4;
            a2_1 += w0_1 * x4;
            a3_0 += w0_0 * x6;
            a3_1 += w0_1 * x6;
            a4_0 += w0_0 * x8;
            a4_1 += w0_1 * x8;
            a5_0 += w0_0 * x10;
            a5_1 += w0_1 * x10;
            a6_0 += w0_0 * x12;
            a6_1 += w0_1 * x12;
            a7_0 += w0_0 * x14;
            a7_1 += w0_1 * x14;
            a0_0 += w1_0 * x1;
            a0_1 += w1_1 * x1;
            a1_0 += w1_0 * x3;
            a1_1 += w1_1 * x3;
            a2_0 += w1_0 * x5;
            a2_1 += w1_1 * x5;
            a3_0 += w1_0 * x7;
            a3_1 += w1_1 * x7;
            a4_0 += w1_0 * x9;
            a4_1 += w1_1 * x9;
            a5_0 += w1_0 * x11;
            a5_1 += w1_1 * x11;
            a6_0 += w1_0 * x13;
            a6_1 += w1_1 * x13;
            a7_0 += w1_0 * x15;
            a7_1 += w1_1 * x15;
            a0_0 += w2_0 * x2;
            a0_1 += w2_1 * x2;
            a1_0 += w2_0 * x4;
            a1_1 += w2_1 * x4;
            a2_0 += w2_0 * x6;
            a2_1 += w2_1 * x6;
            a3_0 += w2_0 * x8;
            a3_1 += w2_1 * x8;
            a4_0 += w2_0 * x10;
            a4_1 += w2_1 * x10;
            a5_0 += w2_0 * x12;
            a5_1 += w2_1 * x12;
            a6_0 += w2_0 * x14;
            a6_1 += w2_1 * x14;
            a7_0 += w2_0 * x16;
            a7_1 += w2_1 * x16;
        }
    }
    store(live && ox0 + 0u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 0u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a0_0, a0_1);
    store(live && ox0 + 1u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 1u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a1_0, a1_1);
    store(live && ox0 + 2u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 2u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a2_0, a2_1);
    store(live && ox0 + 3u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 3u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a3_0, a3_1);
    store(live && ox0 + 4u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 4u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a4_0, a4_1);
    store(live && ox0 + 5u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 5u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a5_0, a5_1);
    store(live && ox0 + 6u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 6u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a6_0, a6_1);
    store(live && ox0 + 7u < p.wo, ((n * p.ho + oy) * p.wo + ox0 + 7u) * p.o + p.o0 + 4u * q0, p.o0 + 4u * q0, a7_0, a7_1);
}
