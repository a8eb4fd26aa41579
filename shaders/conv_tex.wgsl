// Float 3-wide convolution at stride 1 with the input and the weights read as textures
// (NHWC, no bias):
//   y[n,oy,ox,o] = sum_{ky,kx,c} x[n, oy+ky-pad_y, ox+kx-pad_x, c] * wt[(ky*3+kx)*C + c, o]
// (zero outside the image). wt is the weight table packed by conv_pack.wgsl (rows of
// output channels, one row per tap and input channel), so one kernel serves the forward
// pass (wt = w) and the stride-1 gradient w.r.t. the input (wt = w flipped in space and
// transposed in channels, pad = KH - 1 - pad).
//
// Textures: x as rgba32uint texels of 4 channels, one texture row per image row
// (width W*C/4, height N*H); wt likewise (width OW/4, height KH*3*C). On llvmpipe a
// textureLoad fetches a lane's 16 bytes at once, where a storage or uniform read at a
// per-lane address is gathered one component and one lane at a time (measured 2.1x the
// windowed uniform kernel on [64,32,32,64]).
//
// One invocation: 8 neighbouring output pixels of one row (ox0 .. ox0+7) times the 16
// output channels 16*g .. 16*g+15 of workgroup row g (wid.y): 32 vec4 accumulators, one
// variable each (straight-line code; register arrays that the compiler does not unroll
// go to memory). Per kernel row and 4 input channels it reads 10 input texels and 12*4
// weight texels for 8*16*12 multiply-adds. Sums run in a fixed order (deterministic;
// exact for integer-valued inputs below 2^24). Needs C % 4 == 0 and O % 16 == 0.

struct Params {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    ho: u32,
    wo: u32,
    o: u32,
    kh: u32,
    // Zero padding before the first row and column (negative: cropping).
    pad_y: i32,
    pad_x: i32,
    // Tiles of 8 pixels per output row, tiles in all (N*Ho*tiles_x).
    tiles_x: u32,
    tiles: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var xt: texture_2d<u32>;
@group(0) @binding(2) var wt: texture_2d<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<vec4<f32>>;

// Texel (col, row) of x, or zero where `inside` is false.
fn x_at(col: i32, row: i32, inside: bool) -> vec4<f32> {
    return select(vec4<f32>(), bitcast<vec4<f32>>(textureLoad(xt, vec2<i32>(col, row), 0)), inside);
}

// Output channels 4q .. 4q+3 of weight-table row `row`.
fn w_at(q: u32, row: i32) -> vec4<f32> {
    return bitcast<vec4<f32>>(textureLoad(wt, vec2<i32>(i32(q), row), 0));
}

@compute @workgroup_size(8)
fn forward_s1(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    // Invocations past the last tile compute a copy of it and store nothing.
    let t_raw = wid.x * 8u + lid;
    let live = t_raw < p.tiles;
    let t = min(t_raw, p.tiles - 1u);
    let tx = t % p.tiles_x;
    let r = t / p.tiles_x;
    let oy = r % p.ho;
    let n = r / p.ho;
    let ox0 = tx * 8u;
    // Texel column of this invocation's first 4 output channels in wt.
    let q0 = wid.y * 4u;
    let col0 = i32(ox0) - p.pad_x;
    let c4n = p.c / 4u;
    // a{i}_{q}: output pixel ox0 + i, channels 4*(q0 + q) .. + 3
    var a0_0 = vec4<f32>();
    var a0_1 = vec4<f32>();
    var a0_2 = vec4<f32>();
    var a0_3 = vec4<f32>();
    var a1_0 = vec4<f32>();
    var a1_1 = vec4<f32>();
    var a1_2 = vec4<f32>();
    var a1_3 = vec4<f32>();
    var a2_0 = vec4<f32>();
    var a2_1 = vec4<f32>();
    var a2_2 = vec4<f32>();
    var a2_3 = vec4<f32>();
    var a3_0 = vec4<f32>();
    var a3_1 = vec4<f32>();
    var a3_2 = vec4<f32>();
    var a3_3 = vec4<f32>();
    var a4_0 = vec4<f32>();
    var a4_1 = vec4<f32>();
    var a4_2 = vec4<f32>();
    var a4_3 = vec4<f32>();
    var a5_0 = vec4<f32>();
    var a5_1 = vec4<f32>();
    var a5_2 = vec4<f32>();
    var a5_3 = vec4<f32>();
    var a6_0 = vec4<f32>();
    var a6_1 = vec4<f32>();
    var a6_2 = vec4<f32>();
    var a6_3 = vec4<f32>();
    var a7_0 = vec4<f32>();
    var a7_1 = vec4<f32>();
    var a7_2 = vec4<f32>();
    var a7_3 = vec4<f32>();
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = i32(oy + ky) - p.pad_y;
        let row_in = iy >= 0 && iy < i32(p.h);
        let row = i32(n * p.h) + clamp(iy, 0, i32(p.h) - 1);
        // Input pixel ox0 + j - pad_x: inside flag and first texel column.
        let in0 = row_in && col0 + 0 >= 0 && col0 + 0 < i32(p.w);
        let cb0 = clamp(col0 + 0, 0, i32(p.w) - 1) * i32(c4n);
        let in1 = row_in && col0 + 1 >= 0 && col0 + 1 < i32(p.w);
        let cb1 = clamp(col0 + 1, 0, i32(p.w) - 1) * i32(c4n);
        let in2 = row_in && col0 + 2 >= 0 && col0 + 2 < i32(p.w);
        let cb2 = clamp(col0 + 2, 0, i32(p.w) - 1) * i32(c4n);
        let in3 = row_in && col0 + 3 >= 0 && col0 + 3 < i32(p.w);
        let cb3 = clamp(col0 + 3, 0, i32(p.w) - 1) * i32(c4n);
        let in4 = row_in && col0 + 4 >= 0 && col0 + 4 < i32(p.w);
        let cb4 = clamp(col0 + 4, 0, i32(p.w) - 1) * i32(c4n);
        let in5 = row_in && col0 + 5 >= 0 && col0 + 5 < i32(p.w);
        let cb5 = clamp(col0 + 5, 0, i32(p.w) - 1) * i32(c4n);
        let in6 = row_in && col0 + 6 >= 0 && col0 + 6 < i32(p.w);
        let cb6 = clamp(col0 + 6, 0, i32(p.w) - 1) * i32(c4n);
        let in7 = row_in && col0 + 7 >= 0 && col0 + 7 < i32(p.w);
        let cb7 = clamp(col0 + 7, 0, i32(p.w) - 1) * i32(c4n);
        let in8 = row_in && col0 + 8 >= 0 && col0 + 8 < i32(p.w);
        let cb8 = clamp(col0 + 8, 0, i32(p.w) - 1) * i32(c4n);
        let in9 = row_in && col0 + 9 >= 0 && col0 + 9 < i32(p.w);
        let cb9 = clamp(col0 + 9, 0, i32(p.w) - 1) * i32(c4n);
        // Table row of tap (ky, 0), input channel 0.
        let wr0 = i32(ky * 3u * p.c);
        for (var c4 = 0u; c4 < c4n; c4++) {
            // x{j}: input channels 4*c4 .. 4*c4+3 of input pixel ox0 + j - pad_x.
            let x0 = x_at(cb0 + i32(c4), row, in0);
            let x1 = x_at(cb1 + i32(c4), row, in1);
            let x2 = x_at(cb2 + i32(c4), row, in2);
            let x3 = x_at(cb3 + i32(c4), row, in3);
            let x4 = x_at(cb4 + i32(c4), row, in4);
            let x5 = x_at(cb5 + i32(c4), row, in5);
            let x6 = x_at(cb6 + i32(c4), row, in6);
            let x7 = x_at(cb7 + i32(c4), row, in7);
            let x8 = x_at(cb8 + i32(c4), row, in8);
            let x9 = x_at(cb9 + i32(c4), row, in9);
            let wr = wr0 + i32(c4 * 4u);
            // tap (ky, 0): w0_{k}_{q} = channels 4*(q0+q).. for input channel 4*c4 + k
            let w0_0_0 = w_at(q0 + 0u, wr + 0);
            let w0_0_1 = w_at(q0 + 1u, wr + 0);
            let w0_0_2 = w_at(q0 + 2u, wr + 0);
            let w0_0_3 = w_at(q0 + 3u, wr + 0);
            let w0_1_0 = w_at(q0 + 0u, wr + 1);
            let w0_1_1 = w_at(q0 + 1u, wr + 1);
            let w0_1_2 = w_at(q0 + 2u, wr + 1);
            let w0_1_3 = w_at(q0 + 3u, wr + 1);
            let w0_2_0 = w_at(q0 + 0u, wr + 2);
            let w0_2_1 = w_at(q0 + 1u, wr + 2);
            let w0_2_2 = w_at(q0 + 2u, wr + 2);
            let w0_2_3 = w_at(q0 + 3u, wr + 2);
            let w0_3_0 = w_at(q0 + 0u, wr + 3);
            let w0_3_1 = w_at(q0 + 1u, wr + 3);
            let w0_3_2 = w_at(q0 + 2u, wr + 3);
            let w0_3_3 = w_at(q0 + 3u, wr + 3);
            a0_0 += w0_0_0 * x0.x + w0_1_0 * x0.y + w0_2_0 * x0.z + w0_3_0 * x0.w;
            a0_1 += w0_0_1 * x0.x + w0_1_1 * x0.y + w0_2_1 * x0.z + w0_3_1 * x0.w;
            a0_2 += w0_0_2 * x0.x + w0_1_2 * x0.y + w0_2_2 * x0.z + w0_3_2 * x0.w;
            a0_3 += w0_0_3 * x0.x + w0_1_3 * x0.y + w0_2_3 * x0.z + w0_3_3 * x0.w;
            a1_0 += w0_0_0 * x1.x + w0_1_0 * x1.y + w0_2_0 * x1.z + w0_3_0 * x1.w;
            a1_1 += w0_0_1 * x1.x + w0_1_1 * x1.y + w0_2_1 * x1.z + w0_3_1 * x1.w;
            a1_2 += w0_0_2 * x1.x + w0_1_2 * x1.y + w0_2_2 * x1.z + w0_3_2 * x1.w;
            a1_3 += w0_0_3 * x1.x + w0_1_3 * x1.y + w0_2_3 * x1.z + w0_3_3 * x1.w;
            a2_0 += w0_0_0 * x2.x + w0_1_0 * x2.y + w0_2_0 * x2.z + w0_3_0 * x2.w;
            a2_1 += w0_0_1 * x2.x + w0_1_1 * x2.y + w0_2_1 * x2.z + w0_3_1 * x2.w;
            a2_2 += w0_0_2 * x2.x + w0_1_2 * x2.y + w0_2_2 * x2.z + w0_3_2 * x2.w;
            a2_3 += w0_0_3 * x2.x + w0_1_3 * x2.y + w0_2_3 * x2.z + w0_3_3 * x2.w;
            a3_0 += w0_0_0 * x3.x + w0_1_0 * x3.y + w0_2_0 * x3.z + w0_3_0 * x3.w;
            a3_1 += w0_0_1 * x3.x + w0_1_1 * x3.y + w0_2_1 * x3.z + w0_3_1 * x3.w;
            a3_2 += w0_0_2 * x3.x + w0_1_2 * x3.y + w0_2_2 * x3.z + w0_3_2 * x3.w;
            a3_3 += w0_0_3 * x3.x + w0_1_3 * x3.y + w0_2_3 * x3.z + w0_3_3 * x3.w;
            a4_0 += w0_0_0 * x4.x + w0_1_0 * x4.y + w0_2_0 * x4.z + w0_3_0 * x4.w;
            a4_1 += w0_0_1 * x4.x + w0_1_1 * x4.y + w0_2_1 * x4.z + w0_3_1 * x4.w;
            a4_2 += w0_0_2 * x4.x + w0_1_2 * x4.y + w0_2_2 * x4.z + w0_3_2 * x4.w;
            a4_3 += w0_0_3 * x4.x + w0_1_3 * x4.y + w0_2_3 * x4.z + w0_3_3 * x4.w;
            a5_0 += w0_0_0 * x5.x + w0_1_0 * x5.y + w0_2_0 * x5.z + w0_3_0 * x5.w;
            a5_1 += w0_0_1 * x5.x + w0_1_1 * x5.y + w0_2_1 * x5.z + w0_3_1 * x5.w;
            a5_2 += w0_0_2 * x5.x + w0_1_2 * x5.y + w0_2_2 * x5.z + w0_3_2 * x5.w;
            a5_3 += w0_0_3 * x5.x + w0_1_3 * x5.y + w0_2_3 * x5.z + w0_3_3 * x5.w;
            a6_0 += w0_0_0 * x6.x + w0_1_0 * x6.y + w0_2_0 * x6.z + w0_3_0 * x6.w;
            a6_1 += w0_0_1 * x6.x + w0_1_1 * x6.y + w0_2_1 * x6.z + w0_3_1 * x6.w;
            a6_2 += w0_0_2 * x6.x + w0_1_2 * x6.y + w0_2_2 * x6.z + w0_3_2 * x6.w;
            a6_3 += w0_0_3 * x6.x + w0_1_3 * x6.y + w0_2_3 * x6.z + w0_3_3 * x6.w;
            a7_0 += w0_0_0 * x7.x + w0_1_0 * x7.y + w0_2_0 * x7.z + w0_3_0 * x7.w;
            a7_1 += w0_0_1 * x7.x + w0_1_1 * x7.y + w0_2_1 * x7.z + w0_3_1 * x7.w;
            a7_2 += w0_0_2 * x7.x + w0_1_2 * x7.y + w0_2_2 * x7.z + w0_3_2 * x7.w;
            a7_3 += w0_0_3 * x7.x + w0_1_3 * x7.y + w0_2_3 * x7.z + w0_3_3 * x7.w;
            // tap (ky, 1): w1_{k}_{q} = channels 4*(q0+q).. for input channel 4*c4 + k
            let w1_0_0 = w_at(q0 + 0u, wr + 1 * i32(p.c) + 0);
            let w1_0_1 = w_at(q0 + 1u, wr + 1 * i32(p.c) + 0);
            let w1_0_2 = w_at(q0 + 2u, wr + 1 * i32(p.c) + 0);
            let w1_0_3 = w_at(q0 + 3u, wr + 1 * i32(p.c) + 0);
            let w1_1_0 = w_at(q0 + 0u, wr + 1 * i32(p.c) + 1);
            let w1_1_1 = w_at(q0 + 1u, wr + 1 * i32(p.c) + 1);
            let w1_1_2 = w_at(q0 + 2u, wr + 1 * i32(p.c) + 1);
            let w1_1_3 = w_at(q0 + 3u, wr + 1 * i32(p.c) + 1);
            let w1_2_0 = w_at(q0 + 0u, wr + 1 * i32(p.c) + 2);
            let w1_2_1 = w_at(q0 + 1u, wr + 1 * i32(p.c) + 2);
            let w1_2_2 = w_at(q0 + 2u, wr + 1 * i32(p.c) + 2);
            let w1_2_3 = w_at(q0 + 3u, wr + 1 * i32(p.c) + 2);
            let w1_3_0 = w_at(q0 + 0u, wr + 1 * i32(p.c) + 3);
            let w1_3_1 = w_at(q0 + 1u, wr + 1 * i32(p.c) + 3);
            let w1_3_2 = w_at(q0 + 2u, wr + 1 * i32(p.c) + 3);
            let w1_3_3 = w_at(q0 + 3u, wr + 1 * i32(p.c) + 3);
            a0_0 += w1_0_0 * x1.x + w1_1_0 * x1.y + w1_2_0 * x1.z + w1_3_0 * x1.w;
            a0_1 += w1_0_1 * x1.x + w1_1_1 * x1.y + w1_2_1 * x1.z + w1_3_1 * x1.w;
            a0_2 += w1_0_2 * x1.x + w1_1_2 * x1.y + w1_2_2 * x1.z + w1_3_2 * x1.w;
            a0_3 += w1_0_3 * x1.x + w1_1_3 * x1.y + w1_2_3 * x1.z + w1_3_3 * x1.w;
            a1_0 += w1_0_0 * x2.x + w1_1_0 * x2.y + w1_2_0 * x2.z + w1_3_0 * x2.w;
            a1_1 += w1_0_1 * x2.x + w1_1_1 * x2.y + w1_2_1 * x2.z + w1_3_1 * x2.w;
            a1_2 += w1_0_2 * x2.x + w1_1_2 * x2.y + w1_2_2 * x2.z + w1_3_2 * x2.w;
            a1_3 += w1_0_3 * x2.x + w1_1_3 * x2.y + w1_2_3 * x2.z + w1_3_3 * x2.w;
            a2_0 += w1_0_0 * x3.x + w1_1_0 * x3.y + w1_2_0 * x3.z + w1_3_0 * x3.w;
            a2_1 += w1_0_1 * x3.x + w1_1_1 * x3.y + w1_2_1 * x3.z + w1_3_1 * x3.w;
            a2_2 += w1_0_2 * x3.x + w1_1_2 * x3.y + w1_2_2 * x3.z + w1_3_2 * x3.w;
            a2_3 += w1_0_3 * x3.x + w1_1_3 * x3.y + w1_2_3 * x3.z + w1_3_3 * x3.w;
            a3_0 += w1_0_0 * x4.x + w1_1_0 * x4.y + w1_2_0 * x4.z + w1_3_0 * x4.w;
            a3_1 += w1_0_1 * x4.x + w1_1_1 * x4.y + w1_2_1 * x4.z + w1_3_1 * x4.w;
            a3_2 += w1_0_2 * x4.x + w1_1_2 * x4.y + w1_2_2 * x4.z + w1_3_2 * x4.w;
            a3_3 += w1_0_3 * x4.x + w1_1_3 * x4.y + w1_2_3 * x4.z + w1_3_3 * x4.w;
            a4_0 += w1_0_0 * x5.x + w1_1_0 * x5.y + w1_2_0 * x5.z + w1_3_0 * x5.w;
            a4_1 += w1_0_1 * x5.x + w1_1_1 * x5.y + w1_2_1 * x5.z + w1_3_1 * x5.w;
            a4_2 += w1_0_2 * x5.x + w1_1_2 * x5.y + w1_2_2 * x5.z + w1_3_2 * x5.w;
            a4_3 += w1_0_3 * x5.x + w1_1_3 * x5.y + w1_2_3 * x5.z + w1_3_3 * x5.w;
            a5_0 += w1_0_0 * x6.x + w1_1_0 * x6.y + w1_2_0 * x6.z + w1_3_0 * x6.w;
            a5_1 += w1_0_1 * x6.x + w1_1_1 * x6.y + w1_2_1 * x6.z + w1_3_1 * x6.w;
            a5_2 += w1_0_2 * x6.x + w1_1_2 * x6.y + w1_2_2 * x6.z + w1_3_2 * x6.w;
            a5_3 += w1_0_3 * x6.x + w1_1_3 * x6.y + w1_2_3 * x6.z + w1_3_3 * x6.w;
            a6_0 += w1_0_0 * x7.x + w1_1_0 * x7.y + w1_2_0 * x7.z + w1_3_0 * x7.w;
            a6_1 += w1_0_1 * x7.x + w1_1_1 * x7.y + w1_2_1 * x7.z + w1_3_1 * x7.w;
            a6_2 += w1_0_2 * x7.x + w1_1_2 * x7.y + w1_2_2 * x7.z + w1_3_2 * x7.w;
            a6_3 += w1_0_3 * x7.x + w1_1_3 * x7.y + w1_2_3 * x7.z + w1_3_3 * x7.w;
            a7_0 += w1_0_0 * x8.x + w1_1_0 * x8.y + w1_2_0 * x8.z + w1_3_0 * x8.w;
            a7_1 += w1_0_1 * x8.x + w1_1_1 * x8.y + w1_2_1 * x8.z + w1_3_1 * x8.w;
            a7_2 += w1_0_2 * x8.x + w1_1_2 * x8.y + w1_2_2 * x8.z + w1_3_2 * x8.w;
            a7_3 += w1_0_3 * x8.x + w1_1_3 * x8.y + w1_2_3 * x8.z + w1_3_3 * x8.w;
            // tap (ky, 2): w2_{k}_{q} = channels 4*(q0+q).. for input channel 4*c4 + k
            let w2_0_0 = w_at(q0 + 0u, wr + 2 * i32(p.c) + 0);
            let w2_0_1 = w_at(q0 + 1u, wr + 2 * i32(p.c) + 0);
            let w2_0_2 = w_at(q0 + 2u, wr + 2 * i32(p.c) + 0);
            let w2_0_3 = w_at(q0 + 3u, wr + 2 * i32(p.c) + 0);
            let w2_1_0 = w_at(q0 + 0u, wr + 2 * i32(p.c) + 1);
            let w2_1_1 = w_at(q0 + 1u, wr + 2 * i32(p.c) + 1);
            let w2_1_2 = w_at(q0 + 2u, wr + 2 * i32(p.c) + 1);
            let w2_1_3 = w_at(q0 + 3u, wr + 2 * i32(p.c) + 1);
            let w2_2_0 = w_at(q0 + 0u, wr + 2 * i32(p.c) + 2);
            let w2_2_1 = w_at(q0 + 1u, wr + 2 * i32(p.c) + 2);
            let w2_2_2 = w_at(q0 + 2u, wr + 2 * i32(p.c) + 2);
            let w2_2_3 = w_at(q0 + 3u, wr + 2 * i32(p.c) + 2);
            let w2_3_0 = w_at(q0 + 0u, wr + 2 * i32(p.c) + 3);
            let w2_3_1 = w_at(q0 + 1u, wr + 2 * i32(p.c) + 3);
            let w2_3_2 = w_at(q0 + 2u, wr + 2 * i32(p.c) + 3);
            let w2_3_3 = w_at(q0 + 3u, wr + 2 * i32(p.c) + 3);
            a0_0 += w2_0_0 * x2.x + w2_1_0 * x2.y + w2_2_0 * x2.z + w2_3_0 * x2.w;
            a0_1 += w2_0_1 * x2.x + w2_1_1 * x2.y + w2_2_1 * x2.z + w2_3_1 * x2.w;
            a0_2 += w2_0_2 * x2.x + w2_1_2 * x2.y + w2_2_2 * x2.z + w2_3_2 * x2.w;
            a0_3 += w2_0_3 * x2.x + w2_1_3 * x2.y + w2_2_3 * x2.z + w2_3_3 * x2.w;
            a1_0 += w2_0_0 * x3.x + w2_1_0 * x3.y + w2_2_0 * x3.z + w2_3_0 * x3.w;
            a1_1 += w2_0_1 * x3.x + w2_1_1 * x3.y + w2_2_1 * x3.z + w2_3_1 * x3.w;
            a1_2 += w2_0_2 * x3.x + w2_1_2 * x3.y + w2_2_2 * x3.z + w2_3_2 * x3.w;
            a1_3 += w2_0_3 * x3.x + w2_1_3 * x3.y + w2_2_3 * x3.z + w2_3_3 * x3.w;
            a2_0 += w2_0_0 * x4.x + w2_1_0 * x4.y + w2_2_0 * x4.z + w2_3_0 * x4.w;
            a2_1 += w2_0_1 * x4.x + w2_1_1 * x4.y + w2_2_1 * x4.z + w2_3_1 * x4.w;
            a2_2 += w2_0_2 * x4.x + w2_1_2 * x4.y + w2_2_2 * x4.z + w2_3_2 * x4.w;
            a2_3 += w2_0_3 * x4.x + w2_1_3 * x4.y + w2_2_3 * x4.z + w2_3_3 * x4.w;
            a3_0 += w2_0_0 * x5.x + w2_1_0 * x5.y + w2_2_0 * x5.z + w2_3_0 * x5.w;
            a3_1 += w2_0_1 * x5.x + w2_1_1 * x5.y + w2_2_1 * x5.z + w2_3_1 * x5.w;
            a3_2 += w2_0_2 * x5.x + w2_1_2 * x5.y + w2_2_2 * x5.z + w2_3_2 * x5.w;
            a3_3 += w2_0_3 * x5.x + w2_1_3 * x5.y + w2_2_3 * x5.z + w2_3_3 * x5.w;
            a4_0 += w2_0_0 * x6.x + w2_1_0 * x6.y + w2_2_0 * x6.z + w2_3_0 * x6.w;
            a4_1 += w2_0_1 * x6.x + w2_1_1 * x6.y + w2_2_1 * x6.z + w2_3_1 * x6.w;
            a4_2 += w2_0_2 * x6.x + w2_1_2 * x6.y + w2_2_2 * x6.z + w2_3_2 * x6.w;
            a4_3 += w2_0_3 * x6.x + w2_1_3 * x6.y + w2_2_3 * x6.z + w2_3_3 * x6.w;
            a5_0 += w2_0_0 * x7.x + w2_1_0 * x7.y + w2_2_0 * x7.z + w2_3_0 * x7.w;
            a5_1 += w2_0_1 * x7.x + w2_1_1 * x7.y + w2_2_1 * x7.z + w2_3_1 * x7.w;
            a5_2 += w2_0_2 * x7.x + w2_1_2 * x7.y + w2_2_2 * x7.z + w2_3_2 * x7.w;
            a5_3 += w2_0_3 * x7.x + w2_1_3 * x7.y + w2_2_3 * x7.z + w2_3_3 * x7.w;
            a6_0 += w2_0_0 * x8.x + w2_1_0 * x8.y + w2_2_0 * x8.z + w2_3_0 * x8.w;
            a6_1 += w2_0_1 * x8.x + w2_1_1 * x8.y + w2_2_1 * x8.z + w2_3_1 * x8.w;
            a6_2 += w2_0_2 * x8.x + w2_1_2 * x8.y + w2_2_2 * x8.z + w2_3_2 * x8.w;
            a6_3 += w2_0_3 * x8.x + w2_1_3 * x8.y + w2_2_3 * x8.z + w2_3_3 * x8.w;
            a7_0 += w2_0_0 * x9.x + w2_1_0 * x9.y + w2_2_0 * x9.z + w2_3_0 * x9.w;
            a7_1 += w2_0_1 * x9.x + w2_1_1 * x9.y + w2_2_1 * x9.z + w2_3_1 * x9.w;
            a7_2 += w2_0_2 * x9.x + w2_1_2 * x9.y + w2_2_2 * x9.z + w2_3_2 * x9.w;
            a7_3 += w2_0_3 * x9.x + w2_1_3 * x9.y + w2_2_3 * x9.z + w2_3_3 * x9.w;
        }
    }
    let o4n = p.o / 4u;
    let base = ((n * p.ho + oy) * p.wo + ox0) * o4n + q0;
    let b0 = base + 0u * o4n;
    if live && ox0 + 0u < p.wo { y[b0 + 0u] = a0_0; y[b0 + 1u] = a0_1; y[b0 + 2u] = a0_2; y[b0 + 3u] = a0_3; }
    let b1 = base + 1u * o4n;
    if live && ox0 + 1u < p.wo { y[b1 + 0u] = a1_0; y[b1 + 1u] = a1_1; y[b1 + 2u] = a1_2; y[b1 + 3u] = a1_3; }
    let b2 = base + 2u * o4n;
    if live && ox0 + 2u < p.wo { y[b2 + 0u] = a2_0; y[b2 + 1u] = a2_1; y[b2 + 2u] = a2_2; y[b2 + 3u] = a2_3; }
    let b3 = base + 3u * o4n;
    if live && ox0 + 3u < p.wo { y[b3 + 0u] = a3_0; y[b3 + 1u] = a3_1; y[b3 + 2u] = a3_2; y[b3 + 3u] = a3_3; }
    let b4 = base + 4u * o4n;
    if live && ox0 + 4u < p.wo { y[b4 + 0u] = a4_0; y[b4 + 1u] = a4_1; y[b4 + 2u] = a4_2; y[b4 + 3u] = a4_3; }
    let b5 = base + 5u * o4n;
    if live && ox0 + 5u < p.wo { y[b5 + 0u] = a5_0; y[b5 + 1u] = a5_1; y[b5 + 2u] = a5_2; y[b5 + 3u] = a5_3; }
    let b6 = base + 6u * o4n;
    if live && ox0 + 6u < p.wo { y[b6 + 0u] = a6_0; y[b6 + 1u] = a6_1; y[b6 + 2u] = a6_2; y[b6 + 3u] = a6_3; }
    let b7 = base + 7u * o4n;
    if live && ox0 + 7u < p.wo { y[b7 + 0u] = a7_0; y[b7 + 1u] = a7_1; y[b7 + 2u] = a7_2; y[b7 + 3u] = a7_3; }
}
