// Partial weight gradients of a 3-wide convolution at stride S = 1 or 2 with x and dy
// read as textures (NHWC, layouts as in conv_tex.wgsl):
//   part[k][((o*KH + ky)*3 + kx)*C + c] = sum over the output rows r of chunk k
//       (rows k*rows .. k*rows + rows - 1 of the N*Ho rows, r = n*Ho + oy) and ox of
//       dy[n,oy,ox,o] * x[n, oy*S+ky-pad_y, ox*S+kx-pad_x, c]   (zero outside the image),
// summed over the chunks in order by conv_reduce.wgsl (deterministic, no atomics).
//
// One invocation: output channels 8q .. 8q+7, input channels 4*c4 .. 4*c4+3, one kernel
// row ky, all 3 taps of that row, one chunk: 24 vec4 accumulators (acc{kx}_{j}_{h}:
// channels 8q + 4h .. + 3 of input channel 4*c4 + j). Along a row it slides over ox: each
// step fetches two dy texels and one new x texel at stride 1 (taps 0 and 1 reuse the
// previous column's taps 1 and 2), two at stride 2, for 96 multiply-adds (measured faster than 4 output channels and 48). Needs
// C % 4 == 0 and O % 8 == 0.
//#include _common

struct Params {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    ho: u32,
    wo: u32,
    o: u32,
    kh: u32,
    pad_y: i32,
    pad_x: i32,
    // Output rows per chunk, chunks, invocations in all.
    rows: u32,
    chunks: u32,
    total: u32,
    // Stride, 1 or 2.
    s: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var xt: texture_2d<u32>;
@group(0) @binding(2) var dyt: texture_2d<u32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;

// Texel (col, row) of x, or zero where `inside` is false.
fn x_at(col: i32, row: i32, inside: bool) -> vec4<f32> {
    return select(vec4<f32>(), bitcast<vec4<f32>>(textureLoad(xt, vec2<i32>(col, row), 0)), inside);
}

// Texel of input channels 4*c4 .. 4*c4+3 at input column `col` of texture row `row`, or
// zero outside the image.
fn x_col(col: i32, c4n: u32, c4: u32, row: i32, row_in: bool) -> vec4<f32> {
    let inside = row_in && col >= 0 && col < i32(p.w);
    return x_at(clamp(col, 0, i32(p.w) - 1) * i32(c4n) + i32(c4), row, inside);
}

@compute @workgroup_size(8)
fn partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let t = linear_index(wid, nwg, lid, 8u);
    if t >= p.total {
        return;
    }
    let o4n = p.o / 4u;
    let c4n = p.c / 4u;
    let o8n = p.o / 8u;
    let q = t % o8n;
    let c4 = (t / o8n) % c4n;
    let ky = (t / (o8n * c4n)) % p.kh;
    let k = t / (o8n * c4n * p.kh);
    let r_end = min((k + 1u) * p.rows, p.n * p.ho);
    var acc0_0_0 = vec4<f32>();
    var acc0_0_1 = vec4<f32>();
    var acc0_1_0 = vec4<f32>();
    var acc0_1_1 = vec4<f32>();
    var acc0_2_0 = vec4<f32>();
    var acc0_2_1 = vec4<f32>();
    var acc0_3_0 = vec4<f32>();
    var acc0_3_1 = vec4<f32>();
    var acc1_0_0 = vec4<f32>();
    var acc1_0_1 = vec4<f32>();
    var acc1_1_0 = vec4<f32>();
    var acc1_1_1 = vec4<f32>();
    var acc1_2_0 = vec4<f32>();
    var acc1_2_1 = vec4<f32>();
    var acc1_3_0 = vec4<f32>();
    var acc1_3_1 = vec4<f32>();
    var acc2_0_0 = vec4<f32>();
    var acc2_0_1 = vec4<f32>();
    var acc2_1_0 = vec4<f32>();
    var acc2_1_1 = vec4<f32>();
    var acc2_2_0 = vec4<f32>();
    var acc2_2_1 = vec4<f32>();
    var acc2_3_0 = vec4<f32>();
    var acc2_3_1 = vec4<f32>();
    for (var r = k * p.rows; r < r_end; r++) {
        let n = r / p.ho;
        let oy = r % p.ho;
        let iy = i32(oy * p.s + ky) - p.pad_y;
        let row_in = iy >= 0 && iy < i32(p.h);
        let row = i32(n * p.h) + clamp(iy, 0, i32(p.h) - 1);
        // xb, xc: the texels of taps 1 and 2 of output column -1 (input columns
        // -S + 1 - pad_x and -S + 2 - pad_x).
        var xb = x_col(1 - i32(p.s) - p.pad_x, c4n, c4, row, row_in);
        var xc = x_col(2 - i32(p.s) - p.pad_x, c4n, c4, row, row_in);
        for (var ox = 0u; ox < p.wo; ox++) {
            // Taps 0, 1, 2 of output column ox read input columns c0, c0 + 1, c0 + 2: at
            // stride 1 the first two are the previous column's taps 1 and 2, at stride 2
            // the first is the previous column's tap 2.
            let c0 = i32(ox * p.s) - p.pad_x;
            var xa: vec4<f32>;
            if p.s == 1u {
                xa = xb;
                xb = xc;
            } else {
                xa = xc;
                xb = x_col(c0 + 1, c4n, c4, row, row_in);
            }
            xc = x_col(c0 + 2, c4n, c4, row, row_in);
            let d0 = bitcast<vec4<f32>>(textureLoad(dyt, vec2<i32>(i32(ox * o4n + 2u * q), i32(r)), 0));
            let d1 = bitcast<vec4<f32>>(textureLoad(dyt, vec2<i32>(i32(ox * o4n + 2u * q + 1u), i32(r)), 0));
            acc0_0_0 += d0 * xa.x;
            acc0_0_1 += d1 * xa.x;
            acc0_1_0 += d0 * xa.y;
            acc0_1_1 += d1 * xa.y;
            acc0_2_0 += d0 * xa.z;
            acc0_2_1 += d1 * xa.z;
            acc0_3_0 += d0 * xa.w;
            acc0_3_1 += d1 * xa.w;
            acc1_0_0 += d0 * xb.x;
            acc1_0_1 += d1 * xb.x;
            acc1_1_0 += d0 * xb.y;
            acc1_1_1 += d1 * xb.y;
            acc1_2_0 += d0 * xb.z;
            acc1_2_1 += d1 * xb.z;
            acc1_3_0 += d0 * xb.w;
            acc1_3_1 += d1 * xb.w;
            acc2_0_0 += d0 * xc.x;
            acc2_0_1 += d1 * xc.x;
            acc2_1_0 += d0 * xc.y;
            acc2_1_1 += d1 * xc.y;
            acc2_2_0 += d0 * xc.z;
            acc2_2_1 += d1 * xc.z;
            acc2_3_0 += d0 * xc.w;
            acc2_3_1 += d1 * xc.w;
        }
    }
    // Entry ((o*KH + ky)*3 + kx)*C + c of chunk k, o = 8q + 4h + i, c = 4*c4 + j.
    let entries = p.o * p.kh * 3u * p.c;
    let so = p.kh * 3u * p.c;
    let b = k * entries + ((8u * q * p.kh + ky) * 3u) * p.c + 4u * c4;
    part[b + 0u * so + 0u * p.c + 0u] = acc0_0_0.x;
    part[b + 1u * so + 0u * p.c + 0u] = acc0_0_0.y;
    part[b + 2u * so + 0u * p.c + 0u] = acc0_0_0.z;
    part[b + 3u * so + 0u * p.c + 0u] = acc0_0_0.w;
    part[b + 4u * so + 0u * p.c + 0u] = acc0_0_1.x;
    part[b + 5u * so + 0u * p.c + 0u] = acc0_0_1.y;
    part[b + 6u * so + 0u * p.c + 0u] = acc0_0_1.z;
    part[b + 7u * so + 0u * p.c + 0u] = acc0_0_1.w;
    part[b + 0u * so + 0u * p.c + 1u] = acc0_1_0.x;
    part[b + 1u * so + 0u * p.c + 1u] = acc0_1_0.y;
    part[b + 2u * so + 0u * p.c + 1u] = acc0_1_0.z;
    part[b + 3u * so + 0u * p.c + 1u] = acc0_1_0.w;
    part[b + 4u * so + 0u * p.c + 1u] = acc0_1_1.x;
    part[b + 5u * so + 0u * p.c + 1u] = acc0_1_1.y;
    part[b + 6u * so + 0u * p.c + 1u] = acc0_1_1.z;
    part[b + 7u * so + 0u * p.c + 1u] = acc0_1_1.w;
    part[b + 0u * so + 0u * p.c + 2u] = acc0_2_0.x;
    part[b + 1u * so + 0u * p.c + 2u] = acc0_2_0.y;
    part[b + 2u * so + 0u * p.c + 2u] = acc0_2_0.z;
    part[b + 3u * so + 0u * p.c + 2u] = acc0_2_0.w;
    part[b + 4u * so + 0u * p.c + 2u] = acc0_2_1.x;
    part[b + 5u * so + 0u * p.c + 2u] = acc0_2_1.y;
    part[b + 6u * so + 0u * p.c + 2u] = acc0_2_1.z;
    part[b + 7u * so + 0u * p.c + 2u] = acc0_2_1.w;
    part[b + 0u * so + 0u * p.c + 3u] = acc0_3_0.x;
    part[b + 1u * so + 0u * p.c + 3u] = acc0_3_0.y;
    part[b + 2u * so + 0u * p.c + 3u] = acc0_3_0.z;
    part[b + 3u * so + 0u * p.c + 3u] = acc0_3_0.w;
    part[b + 4u * so + 0u * p.c + 3u] = acc0_3_1.x;
    part[b + 5u * so + 0u * p.c + 3u] = acc0_3_1.y;
    part[b + 6u * so + 0u * p.c + 3u] = acc0_3_1.z;
    part[b + 7u * so + 0u * p.c + 3u] = acc0_3_1.w;
    part[b + 0u * so + 1u * p.c + 0u] = acc1_0_0.x;
    part[b + 1u * so + 1u * p.c + 0u] = acc1_0_0.y;
    part[b + 2u * so + 1u * p.c + 0u] = acc1_0_0.z;
    part[b + 3u * so + 1u * p.c + 0u] = acc1_0_0.w;
    part[b + 4u * so + 1u * p.c + 0u] = acc1_0_1.x;
    part[b + 5u * so + 1u * p.c + 0u] = acc1_0_1.y;
    part[b + 6u * so + 1u * p.c + 0u] = acc1_0_1.z;
    part[b + 7u * so + 1u * p.c + 0u] = acc1_0_1.w;
    part[b + 0u * so + 1u * p.c + 1u] = acc1_1_0.x;
    part[b + 1u * so + 1u * p.c + 1u] = acc1_1_0.y;
    part[b + 2u * so + 1u * p.c + 1u] = acc1_1_0.z;
    part[b + 3u * so + 1u * p.c + 1u] = acc1_1_0.w;
    part[b + 4u * so + 1u * p.c + 1u] = acc1_1_1.x;
    part[b + 5u * so + 1u * p.c + 1u] = acc1_1_1.y;
    part[b + 6u * so + 1u * p.c + 1u] = acc1_1_1.z;
    part[b + 7u * so + 1u * p.c + 1u] = acc1_1_1.w;
    part[b + 0u * so + 1u * p.c + 2u] = acc1_2_0.x;
    part[b + 1u * so + 1u * p.c + 2u] = acc1_2_0.y;
    part[b + 2u * so + 1u * p.c + 2u] = acc1_2_0.z;
    part[b + 3u * so + 1u * p.c + 2u] = acc1_2_0.w;
    part[b + 4u * so + 1u * p.c + 2u] = acc1_2_1.x;
    part[b + 5u * so + 1u * p.c + 2u] = acc1_2_1.y;
    part[b + 6u * so + 1u * p.c + 2u] = acc1_2_1.z;
    part[b + 7u * so + 1u * p.c + 2u] = acc1_2_1.w;
    part[b + 0u * so + 1u * p.c + 3u] = acc1_3_0.x;
    part[b + 1u * so + 1u * p.c + 3u] = acc1_3_0.y;
    part[b + 2u * so + 1u * p.c + 3u] = acc1_3_0.z;
    part[b + 3u * so + 1u * p.c + 3u] = acc1_3_0.w;
    part[b + 4u * so + 1u * p.c + 3u] = acc1_3_1.x;
    part[b + 5u * so + 1u * p.c + 3u] = acc1_3_1.y;
    part[b + 6u * so + 1u * p.c + 3u] = acc1_3_1.z;
    part[b + 7u * so + 1u * p.c + 3u] = acc1_3_1.w;
    part[b + 0u * so + 2u * p.c + 0u] = acc2_0_0.x;
    part[b + 1u * so + 2u * p.c + 0u] = acc2_0_0.y;
    part[b + 2u * so + 2u * p.c + 0u] = acc2_0_0.z;
    part[b + 3u * so + 2u * p.c + 0u] = acc2_0_0.w;
    part[b + 4u * so + 2u * p.c + 0u] = acc2_0_1.x;
    part[b + 5u * so + 2u * p.c + 0u] = acc2_0_1.y;
    part[b + 6u * so + 2u * p.c + 0u] = acc2_0_1.z;
    part[b + 7u * so + 2u * p.c + 0u] = acc2_0_1.w;
    part[b + 0u * so + 2u * p.c + 1u] = acc2_1_0.x;
    part[b + 1u * so + 2u * p.c + 1u] = acc2_1_0.y;
    part[b + 2u * so + 2u * p.c + 1u] = acc2_1_0.z;
    part[b + 3u * so + 2u * p.c + 1u] = acc2_1_0.w;
    part[b + 4u * so + 2u * p.c + 1u] = acc2_1_1.x;
    part[b + 5u * so + 2u * p.c + 1u] = acc2_1_1.y;
    part[b + 6u * so + 2u * p.c + 1u] = acc2_1_1.z;
    part[b + 7u * so + 2u * p.c + 1u] = acc2_1_1.w;
    part[b + 0u * so + 2u * p.c + 2u] = acc2_2_0.x;
    part[b + 1u * so + 2u * p.c + 2u] = acc2_2_0.y;
    part[b + 2u * so + 2u * p.c + 2u] = acc2_2_0.z;
    part[b + 3u * so + 2u * p.c + 2u] = acc2_2_0.w;
    part[b + 4u * so + 2u * p.c + 2u] = acc2_2_1.x;
    part[b + 5u * so + 2u * p.c + 2u] = acc2_2_1.y;
    part[b + 6u * so + 2u * p.c + 2u] = acc2_2_1.z;
    part[b + 7u * so + 2u * p.c + 2u] = acc2_2_1.w;
    part[b + 0u * so + 2u * p.c + 3u] = acc2_3_0.x;
    part[b + 1u * so + 2u * p.c + 3u] = acc2_3_0.y;
    part[b + 2u * so + 2u * p.c + 3u] = acc2_3_0.z;
    part[b + 3u * so + 2u * p.c + 3u] = acc2_3_0.w;
    part[b + 4u * so + 2u * p.c + 3u] = acc2_3_1.x;
    part[b + 5u * so + 2u * p.c + 3u] = acc2_3_1.y;
    part[b + 6u * so + 2u * p.c + 3u] = acc2_3_1.z;
    part[b + 7u * so + 2u * p.c + 3u] = acc2_3_1.w;
}
