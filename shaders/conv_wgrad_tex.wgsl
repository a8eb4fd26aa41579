// Partial weight gradients of a 3-wide stride-1 convolution with x and dy read as
// textures (NHWC, layouts as in conv_tex.wgsl):
//   part[k][((o*KH + ky)*3 + kx)*C + c] = sum over the output rows r of chunk k
//       (rows k*rows .. k*rows + rows - 1 of the N*Ho rows, r = n*Ho + oy) and ox of
//       dy[n,oy,ox,o] * x[n, oy+ky-pad_y, ox+kx-pad_x, c]   (zero outside the image),
// summed over the chunks in order by conv_reduce.wgsl (deterministic, no atomics).
//
// One invocation: output channels 4q .. 4q+3, input channels 4*c4 .. 4*c4+3, one kernel
// row ky, all 3 taps of that row, one chunk: 12 vec4 accumulators (acc{kx}_{j}: channels
// o of input channel 4*c4 + j). Along a row it slides over ox: each step fetches one dy
// texel and one new x texel (the taps kx = 0, 1 reuse the previous two) for 48
// multiply-adds. Needs C % 4 == 0 and O % 4 == 0.
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
    _pad0: u32,
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

@compute @workgroup_size(8)
fn partial_s1(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let t = linear_index(wid, nwg, lid, 8u);
    if t >= p.total {
        return;
    }
    let o4n = p.o / 4u;
    let c4n = p.c / 4u;
    let q = t % o4n;
    let c4 = (t / o4n) % c4n;
    let ky = (t / (o4n * c4n)) % p.kh;
    let k = t / (o4n * c4n * p.kh);
    let r_end = min((k + 1u) * p.rows, p.n * p.ho);
    var acc0_0 = vec4<f32>();
    var acc0_1 = vec4<f32>();
    var acc0_2 = vec4<f32>();
    var acc0_3 = vec4<f32>();
    var acc1_0 = vec4<f32>();
    var acc1_1 = vec4<f32>();
    var acc1_2 = vec4<f32>();
    var acc1_3 = vec4<f32>();
    var acc2_0 = vec4<f32>();
    var acc2_1 = vec4<f32>();
    var acc2_2 = vec4<f32>();
    var acc2_3 = vec4<f32>();
    for (var r = k * p.rows; r < r_end; r++) {
        let n = r / p.ho;
        let oy = r % p.ho;
        let iy = i32(oy + ky) - p.pad_y;
        let row_in = iy >= 0 && iy < i32(p.h);
        let row = i32(n * p.h) + clamp(iy, 0, i32(p.h) - 1);
        // x texels of input columns ox - pad_x + kx for kx = 0, 1 (ox = 0).
        var xa = x_at(clamp(-p.pad_x, 0, i32(p.w) - 1) * i32(c4n) + i32(c4), row,
                      row_in && -p.pad_x >= 0 && -p.pad_x < i32(p.w));
        var xb = x_at(clamp(1 - p.pad_x, 0, i32(p.w) - 1) * i32(c4n) + i32(c4), row,
                      row_in && 1 - p.pad_x >= 0 && 1 - p.pad_x < i32(p.w));
        for (var ox = 0u; ox < p.wo; ox++) {
            let ix = i32(ox) + 2 - p.pad_x;
            let xc = x_at(clamp(ix, 0, i32(p.w) - 1) * i32(c4n) + i32(c4), row,
                          row_in && ix >= 0 && ix < i32(p.w));
            let d = bitcast<vec4<f32>>(textureLoad(dyt, vec2<i32>(i32(ox * o4n + q), i32(r)), 0));
            acc0_0 += d * xa.x;
            acc0_1 += d * xa.y;
            acc0_2 += d * xa.z;
            acc0_3 += d * xa.w;
            acc1_0 += d * xb.x;
            acc1_1 += d * xb.y;
            acc1_2 += d * xb.z;
            acc1_3 += d * xb.w;
            acc2_0 += d * xc.x;
            acc2_1 += d * xc.y;
            acc2_2 += d * xc.z;
            acc2_3 += d * xc.w;
            xa = xb;
            xb = xc;
        }
    }
    // Entry ((o*KH + ky)*3 + kx)*C + c of chunk k, o = 4q + i, c = 4*c4 + j.
    let entries = p.o * p.kh * 3u * p.c;
    let b = k * entries + ((4u * q * p.kh + ky) * 3u) * p.c + 4u * c4;
    let so = p.kh * 3u * p.c;
    part[b + 0u * p.c + 0u] = acc0_0.x;
    part[b + so + 0u * p.c + 0u] = acc0_0.y;
    part[b + 2u * so + 0u * p.c + 0u] = acc0_0.z;
    part[b + 3u * so + 0u * p.c + 0u] = acc0_0.w;
    part[b + 0u * p.c + 1u] = acc0_1.x;
    part[b + so + 0u * p.c + 1u] = acc0_1.y;
    part[b + 2u * so + 0u * p.c + 1u] = acc0_1.z;
    part[b + 3u * so + 0u * p.c + 1u] = acc0_1.w;
    part[b + 0u * p.c + 2u] = acc0_2.x;
    part[b + so + 0u * p.c + 2u] = acc0_2.y;
    part[b + 2u * so + 0u * p.c + 2u] = acc0_2.z;
    part[b + 3u * so + 0u * p.c + 2u] = acc0_2.w;
    part[b + 0u * p.c + 3u] = acc0_3.x;
    part[b + so + 0u * p.c + 3u] = acc0_3.y;
    part[b + 2u * so + 0u * p.c + 3u] = acc0_3.z;
    part[b + 3u * so + 0u * p.c + 3u] = acc0_3.w;
    part[b + 1u * p.c + 0u] = acc1_0.x;
    part[b + so + 1u * p.c + 0u] = acc1_0.y;
    part[b + 2u * so + 1u * p.c + 0u] = acc1_0.z;
    part[b + 3u * so + 1u * p.c + 0u] = acc1_0.w;
    part[b + 1u * p.c + 1u] = acc1_1.x;
    part[b + so + 1u * p.c + 1u] = acc1_1.y;
    part[b + 2u * so + 1u * p.c + 1u] = acc1_1.z;
    part[b + 3u * so + 1u * p.c + 1u] = acc1_1.w;
    part[b + 1u * p.c + 2u] = acc1_2.x;
    part[b + so + 1u * p.c + 2u] = acc1_2.y;
    part[b + 2u * so + 1u * p.c + 2u] = acc1_2.z;
    part[b + 3u * so + 1u * p.c + 2u] = acc1_2.w;
    part[b + 1u * p.c + 3u] = acc1_3.x;
    part[b + so + 1u * p.c + 3u] = acc1_3.y;
    part[b + 2u * so + 1u * p.c + 3u] = acc1_3.z;
    part[b + 3u * so + 1u * p.c + 3u] = acc1_3.w;
    part[b + 2u * p.c + 0u] = acc2_0.x;
    part[b + so + 2u * p.c + 0u] = acc2_0.y;
    part[b + 2u * so + 2u * p.c + 0u] = acc2_0.z;
    part[b + 3u * so + 2u * p.c + 0u] = acc2_0.w;
    part[b + 2u * p.c + 1u] = acc2_1.x;
    part[b + so + 2u * p.c + 1u] = acc2_1.y;
    part[b + 2u * so + 2u * p.c + 1u] = acc2_1.z;
    part[b + 3u * so + 2u * p.c + 1u] = acc2_1.w;
    part[b + 2u * p.c + 2u] = acc2_2.x;
    part[b + so + 2u * p.c + 2u] = acc2_2.y;
    part[b + 2u * so + 2u * p.c + 2u] = acc2_2.z;
    part[b + 3u * so + 2u * p.c + 2u] = acc2_2.w;
    part[b + 2u * p.c + 3u] = acc2_3.x;
    part[b + so + 2u * p.c + 3u] = acc2_3.y;
    part[b + 2u * so + 2u * p.c + 3u] = acc2_3.z;
    part[b + 3u * so + 2u * p.c + 3u] = acc2_3.w;
}
