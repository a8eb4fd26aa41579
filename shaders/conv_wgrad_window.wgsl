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
// straight-line code. Per pixel it reads 2 vec4 of dy and 3 vec4 of x for 96 products;
// two pixels per loop iteration halve what carrying the accumulators costs.
// Needs KW = 3 and O % 8 == 0; channels past C (C % 4 != 0) are zero and not stored.
//#include _common

override KH: u32 = 3u;
override S: u32 = 1u;
// C % 4 == 0: x read as whole vec4s.
override VEC: bool = true;

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
    // Invocations: (o / 8) * KH * ceil(c / 4).
    total: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> xw: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<uniform> dyw: array<vec4<f32>, 4096>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;

// x[n, iy, ix, 4*c4 .. 4*c4+3], zero outside the image; `row` = (n*H + clamped iy) * W.
// With C % 4 != 0 (VEC false) the four channels are read one by one, channels past C as 0.
fn x4(row: u32, row_in: bool, ix: i32, c4: u32) -> vec4<f32> {
    let inside = row_in && ix >= 0 && ix < i32(p.w);
    let l = (row + u32(clamp(ix, 0, i32(p.w) - 1))) * p.c + 4u * c4 - p.xoff;
    if VEC {
        return select(vec4<f32>(), xw[l >> 2u], inside);
    }
    let c = 4u * c4;
    // Index l + j where channel c + j exists, else l (read and dropped).
    let l1 = select(l, l + 1u, c + 1u < p.c);
    let l2 = select(l, l + 2u, c + 2u < p.c);
    let l3 = select(l, l + 3u, c + 3u < p.c);
    return vec4<f32>(
        select(0.0, xw[l >> 2u][l & 3u], inside),
        select(0.0, xw[l1 >> 2u][l1 & 3u], inside && c + 1u < p.c),
        select(0.0, xw[l2 >> 2u][l2 & 3u], inside && c + 2u < p.c),
        select(0.0, xw[l3 >> 2u][l3 & 3u], inside && c + 3u < p.c),
    );
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
    let c4n = (p.c + 3u) / 4u;
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
    // 2 pixels per iteration; past the span's end the pixel repeats the last one with dy
    // taken as zero, which adds exact zeros.
    for (var i = 0u; i < p.count; i += 2u) {
        let in0 = i + 0u < p.count;
        let pix0 = p.p0 + min(i + 0u, p.count - 1u);
        let ox0 = pix0 % p.wo;
        let r0 = pix0 / p.wo;
        let iy0 = i32((r0 % p.ho) * S + ky) - i32(p.pad);
        let row_in0 = iy0 >= 0 && iy0 < i32(p.h);
        let row0 = ((r0 / p.ho) * p.h + u32(clamp(iy0, 0, i32(p.h) - 1))) * p.w;
        let ix0 = i32(ox0 * S) - i32(p.pad);
        // x0_{kx} = x[n, iy, ox*S + kx - pad, 4c4 ..]; d0_{q} = dy[pix, 8ob + 4q ..]
        let x0_0 = x4(row0, row_in0, ix0 + 0, c4);
        let x0_1 = x4(row0, row_in0, ix0 + 1, c4);
        let x0_2 = x4(row0, row_in0, ix0 + 2, c4);
        let db0 = pix0 * (p.o / 4u) + 2u * ob - p.dyoff4;
        let d0_0 = select(vec4<f32>(), dyw[db0 + 0u], in0);
        let d0_1 = select(vec4<f32>(), dyw[db0 + 1u], in0);
        let in1 = i + 1u < p.count;
        let pix1 = p.p0 + min(i + 1u, p.count - 1u);
        let ox1 = pix1 % p.wo;
        let r1 = pix1 / p.wo;
        let iy1 = i32((r1 % p.ho) * S + ky) - i32(p.pad);
        let row_in1 = iy1 >= 0 && iy1 < i32(p.h);
        let row1 = ((r1 / p.ho) * p.h + u32(clamp(iy1, 0, i32(p.h) - 1))) * p.w;
        let ix1 = i32(ox1 * S) - i32(p.pad);
        // x1_{kx} = x[n, iy, ox*S + kx - pad, 4c4 ..]; d1_{q} = dy[pix, 8ob + 4q ..]
        let x1_0 = x4(row1, row_in1, ix1 + 0, c4);
        let x1_1 = x4(row1, row_in1, ix1 + 1, c4);
        let x1_2 = x4(row1, row_in1, ix1 + 2, c4);
        let db1 = pix1 * (p.o / 4u) + 2u * ob - p.dyoff4;
        let d1_0 = select(vec4<f32>(), dyw[db1 + 0u], in1);
        let d1_1 = select(vec4<f32>(), dyw[db1 + 1u], in1);
        // a{kx}_{j}_{q} += dy[pix, o..] * x[n, iy, ix + kx, 4c4 + j], pixels in order
        a0_0_0 += d0_0 * x0_0.x;
        a0_0_1 += d0_1 * x0_0.x;
        a0_1_0 += d0_0 * x0_0.y;
        a0_1_1 += d0_1 * x0_0.y;
        a0_2_0 += d0_0 * x0_0.z;
        a0_2_1 += d0_1 * x0_0.z;
        a0_3_0 += d0_0 * x0_0.w;
        a0_3_1 += d0_1 * x0_0.w;
        a1_0_0 += d0_0 * x0_1.x;
        a1_0_1 += d0_1 * x0_1.x;
        a1_1_0 += d0_0 * x0_1.y;
        a1_1_1 += d0_1 * x0_1.y;
        a1_2_0 += d0_0 * x0_1.z;
        a1_2_1 += d0_1 * x0_1.z;
        a1_3_0 += d0_0 * x0_1.w;
        a1_3_1 += d0_1 * x0_1.w;
        a2_0_0 += d0_0 * x0_2.x;
        a2_0_1 += d0_1 * x0_2.x;
        a2_1_0 += d0_0 * x0_2.y;
        a2_1_1 += d0_1 * x0_2.y;
        a2_2_0 += d0_0 * x0_2.z;
        a2_2_1 += d0_1 * x0_2.z;
        a2_3_0 += d0_0 * x0_2.w;
        a2_3_1 += d0_1 * x0_2.w;
        a0_0_0 += d1_0 * x1_0.x;
        a0_0_1 += d1_1 * x1_0.x;
        a0_1_0 += d1_0 * x1_0.y;
        a0_1_1 += d1_1 * x1_0.y;
        a0_2_0 += d1_0 * x1_0.z;
        a0_2_1 += d1_1 * x1_0.z;
        a0_3_0 += d1_0 * x1_0.w;
        a0_3_1 += d1_1 * x1_0.w;
        a1_0_0 += d1_0 * x1_1.x;
        a1_0_1 += d1_1 * x1_1.x;
        a1_1_0 += d1_0 * x1_1.y;
        a1_1_1 += d1_1 * x1_1.y;
        a1_2_0 += d1_0 * x1_1.z;
        a1_2_1 += d1_1 * x1_1.z;
        a1_3_0 += d1_0 * x1_1.w;
        a1_3_1 += d1_1 * x1_1.w;
        a2_0_0 += d1_0 * x1_2.x;
        a2_0_1 += d1_1 * x1_2.x;
        a2_1_0 += d1_0 * x1_2.y;
        a2_1_1 += d1_1 * x1_2.y;
        a2_2_0 += d1_0 * x1_2.z;
        a2_2_1 += d1_1 * x1_2.z;
        a2_3_0 += d1_0 * x1_2.w;
        a2_3_1 += d1_1 * x1_2.w;
    }
    let k = KH * 3u * p.c;
    let base = p.chunk * p.o * k + ky * 3u * p.c + 4u * c4 + (8u * ob) * k;
    put(live && 4u * c4 + 0u < p.c, base + 0u * p.c + 0u + 0u * k, k, a0_0_0);
    put(live && 4u * c4 + 0u < p.c, base + 0u * p.c + 0u + 4u * k, k, a0_0_1);
    put(live && 4u * c4 + 1u < p.c, base + 0u * p.c + 1u + 0u * k, k, a0_1_0);
    put(live && 4u * c4 + 1u < p.c, base + 0u * p.c + 1u + 4u * k, k, a0_1_1);
    put(live && 4u * c4 + 2u < p.c, base + 0u * p.c + 2u + 0u * k, k, a0_2_0);
    put(live && 4u * c4 + 2u < p.c, base + 0u * p.c + 2u + 4u * k, k, a0_2_1);
    put(live && 4u * c4 + 3u < p.c, base + 0u * p.c + 3u + 0u * k, k, a0_3_0);
    put(live && 4u * c4 + 3u < p.c, base + 0u * p.c + 3u + 4u * k, k, a0_3_1);
    put(live && 4u * c4 + 0u < p.c, base + 1u * p.c + 0u + 0u * k, k, a1_0_0);
    put(live && 4u * c4 + 0u < p.c, base + 1u * p.c + 0u + 4u * k, k, a1_0_1);
    put(live && 4u * c4 + 1u < p.c, base + 1u * p.c + 1u + 0u * k, k, a1_1_0);
    put(live && 4u * c4 + 1u < p.c, base + 1u * p.c + 1u + 4u * k, k, a1_1_1);
    put(live && 4u * c4 + 2u < p.c, base + 1u * p.c + 2u + 0u * k, k, a1_2_0);
    put(live && 4u * c4 + 2u < p.c, base + 1u * p.c + 2u + 4u * k, k, a1_2_1);
    put(live && 4u * c4 + 3u < p.c, base + 1u * p.c + 3u + 0u * k, k, a1_3_0);
    put(live && 4u * c4 + 3u < p.c, base + 1u * p.c + 3u + 4u * k, k, a1_3_1);
    put(live && 4u * c4 + 0u < p.c, base + 2u * p.c + 0u + 0u * k, k, a2_0_0);
    put(live && 4u * c4 + 0u < p.c, base + 2u * p.c + 0u + 4u * k, k, a2_0_1);
    put(live && 4u * c4 + 1u < p.c, base + 2u * p.c + 1u + 0u * k, k, a2_1_0);
    put(live && 4u * c4 + 1u < p.c, base + 2u * p.c + 1u + 4u * k, k, a2_1_1);
    put(live && 4u * c4 + 2u < p.c, base + 2u * p.c + 2u + 0u * k, k, a2_2_0);
    put(live && 4u * c4 + 2u < p.c, base + 2u * p.c + 2u + 4u * k, k, a2_2_1);
    put(live && 4u * c4 + 3u < p.c, base + 2u * p.c + 3u + 0u * k, k, a2_3_0);
    put(live && 4u * c4 + 3u < p.c, base + 2u * p.c + 3u + 4u * k, k, a2_3_1);
}
