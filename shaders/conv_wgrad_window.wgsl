// Gradient of a float convolution w.r.t. its weights, partial sums over one span of output
// rows with both operands read through 64 KiB uniform windows (see conv_window.wgsl for
// why: on llvmpipe a uniform gather is far cheaper than a per-lane storage read):
//   part[k][o][ky][kx][c] = sum over the pixels of span k (in increasing order) of
//                           dy[n,oy,ox,o] * x[n, oy*S+ky-pad, ox*S+kx-pad, c]
// then conv_reduce.wgsl adds the spans in order: dw[i] = part[0][i] + part[1][i] + ...
// No atomics; two runs give the same bits.
//
// One invocation owns 8 output channels (block ob) x one kernel row ky x the 3 taps of that
// row x 4 input channels (block c4): 24 vec4 accumulators, one variable each, updated in
// straight-line code. Per pixel it reads 2 vec4 of dy and 3 vec4 of x for 96 products.
// Needs KW = 3, C % 4 == 0 and O % 8 == 0.
//#include _common

override KH: u32 = 3u;
override S: u32 = 1u;

struct Params {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    ho: u32,
    wo: u32,
    o: u32,
    pad: u32,
    // This span: first output pixel (flattened n*Ho*Wo), pixel count, index.
    p0: u32,
    count: u32,
    chunk: u32,
    // Float index in x of the x window's first entry, vec4 index in dy of dy's.
    xoff: u32,
    dyoff4: u32,
    // Invocations: (o / 8) * KH * (c / 4).
    total: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> xw: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<uniform> dyw: array<vec4<f32>, 4096>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;

// x[n, iy, ix, 4*c4 .. 4*c4+3], zero outside the image; `row` = (n*H + clamped iy) * W.
fn x4(row: u32, row_in: bool, ix: i32, c4: u32) -> vec4<f32> {
    let inside = row_in && ix >= 0 && ix < i32(p.w);
    let l = (row + u32(clamp(ix, 0, i32(p.w) - 1))) * p.c + 4u * c4 - p.xoff;
    return select(vec4<f32>(), xw[l >> 2u], inside);
}

// part[chunk][o .. o+3][ky][kx][c] = v.x .. v.w (k = KH*3*C floats per output channel).
fn put(keep: bool, b: u32, k: u32, v: vec4<f32>) {
    if keep {
        part[b] = v.x;
        part[b + k] = v.y;
        part[b + 2u * k] = v.z;
        part[b + 3u * k] = v.w;
    }
}

@compute @workgroup_size(8)
fn partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let t_raw = linear_index(wid, nwg, lid, 8u);
    let live = t_raw < p.total;
    let t = min(t_raw, p.total - 1u);
    let c4n = p.c / 4u;
    let c4 = t % c4n;
    let ky = (t / c4n) % KH;
    let ob = t / (c4n * KH);
    // a{kx}_{j}_{q}: dw[8ob + 4q .. 8ob + 4q + 3, ky, kx, 4c4 + j]
    var a0_0_0 = vec4<f32>();
    var a0_0_1 = vec4<f32>();
    var a0_1_0 = vec4<f32>();
    var a0_1_1 = vec4<f32>();
    var a0_2_0 = vec4<f32>();
    var a0_2_1 = vec4<f32>();
    var a0_3_0 = vec4<f32>();
    var a0_3_1 = vec4<f32>();
    var a1_0_0 = vec4<f32>();
    var a1_0_1 = vec4<f32>();
    var a1_1_0 = vec4<f32>();
    var a1_1_1 = vec4<f32>();
    var a1_2_0 = vec4<f32>();
    var a1_2_1 = vec4<f32>();
    var a1_3_0 = vec4<f32>();
    var a1_3_1 = vec4<f32>();
    var a2_0_0 = vec4<f32>();
    var a2_0_1 = vec4<f32>();
    var a2_1_0 = vec4<f32>();
    var a2_1_1 = vec4<f32>();
    var a2_2_0 = vec4<f32>();
    var a2_2_1 = vec4<f32>();
    var a2_3_0 = vec4<f32>();
    var a2_3_1 = vec4<f32>();
    for (var i = 0u; i < p.count; i++) {
        let pix = p.p0 + i;
        let ox = pix % p.wo;
        let r = pix / p.wo;
        let oy = r % p.ho;
        let n = r / p.ho;
        let iy = i32(oy * S + ky) - i32(p.pad);
        let row_in = iy >= 0 && iy < i32(p.h);
        let row = (n * p.h + u32(clamp(iy, 0, i32(p.h) - 1))) * p.w;
        let ix = i32(ox * S) - i32(p.pad);
        // x{kx} = x[n, iy, ox*S + kx - pad, 4c4 ..]; d{q} = dy[pix, 8ob + 4q ..]
        let x0 = x4(row, row_in, ix, c4);
        let x1 = x4(row, row_in, ix + 1, c4);
        let x2 = x4(row, row_in, ix + 2, c4);
        let db = pix * (p.o / 4u) + 2u * ob - p.dyoff4;
        let d0 = dyw[db];
        let d1 = dyw[db + 1u];
        // a{kx}_{j}_{q} += dy[pix, o..] * x[n, iy, ix + kx, 4c4 + j]
        a0_0_0 += d0 * x0.x;
        a0_0_1 += d1 * x0.x;
        a0_1_0 += d0 * x0.y;
        a0_1_1 += d1 * x0.y;
        a0_2_0 += d0 * x0.z;
        a0_2_1 += d1 * x0.z;
        a0_3_0 += d0 * x0.w;
        a0_3_1 += d1 * x0.w;
        a1_0_0 += d0 * x1.x;
        a1_0_1 += d1 * x1.x;
        a1_1_0 += d0 * x1.y;
        a1_1_1 += d1 * x1.y;
        a1_2_0 += d0 * x1.z;
        a1_2_1 += d1 * x1.z;
        a1_3_0 += d0 * x1.w;
        a1_3_1 += d1 * x1.w;
        a2_0_0 += d0 * x2.x;
        a2_0_1 += d1 * x2.x;
        a2_1_0 += d0 * x2.y;
        a2_1_1 += d1 * x2.y;
        a2_2_0 += d0 * x2.z;
        a2_2_1 += d1 * x2.z;
        a2_3_0 += d0 * x2.w;
        a2_3_1 += d1 * x2.w;
    }
    let k = KH * 3u * p.c;
    let base = p.chunk * p.o * k + ky * 3u * p.c + 4u * c4 + (8u * ob) * k;
    put(live, base + 0u * p.c + 0u + 0u * k, k, a0_0_0);
    put(live, base + 0u * p.c + 0u + 4u * k, k, a0_0_1);
    put(live, base + 0u * p.c + 1u + 0u * k, k, a0_1_0);
    put(live, base + 0u * p.c + 1u + 4u * k, k, a0_1_1);
    put(live, base + 0u * p.c + 2u + 0u * k, k, a0_2_0);
    put(live, base + 0u * p.c + 2u + 4u * k, k, a0_2_1);
    put(live, base + 0u * p.c + 3u + 0u * k, k, a0_3_0);
    put(live, base + 0u * p.c + 3u + 4u * k, k, a0_3_1);
    put(live, base + 1u * p.c + 0u + 0u * k, k, a1_0_0);
    put(live, base + 1u * p.c + 0u + 4u * k, k, a1_0_1);
    put(live, base + 1u * p.c + 1u + 0u * k, k, a1_1_0);
    put(live, base + 1u * p.c + 1u + 4u * k, k, a1_1_1);
    put(live, base + 1u * p.c + 2u + 0u * k, k, a1_2_0);
    put(live, base + 1u * p.c + 2u + 4u * k, k, a1_2_1);
    put(live, base + 1u * p.c + 3u + 0u * k, k, a1_3_0);
    put(live, base + 1u * p.c + 3u + 4u * k, k, a1_3_1);
    put(live, base + 2u * p.c + 0u + 0u * k, k, a2_0_0);
    put(live, base + 2u * p.c + 0u + 4u * k, k, a2_0_1);
    put(live, base + 2u * p.c + 1u + 0u * k, k, a2_1_0);
    put(live, base + 2u * p.c + 1u + 4u * k, k, a2_1_1);
    put(live, base + 2u * p.c + 2u + 0u * k, k, a2_2_0);
    put(live, base + 2u * p.c + 2u + 4u * k, k, a2_2_1);
    put(live, base + 2u * p.c + 3u + 0u * k, k, a2_3_0);
    put(live, base + 2u * p.c + 3u + 4u * k, k, a2_3_1);
}
