// Float convolution at stride 1 with every weight read at a compile-time-constant index
// (NHWC, no bias), for the input channels c0 .. c0+CN-1 of one chunk:
//   y[n,oy,ox,o] (+)= sum_{c,ky,kx} x[n, oy+ky-pad_y, ox+kx-pad_x, c] * w[o,ky,kx,c]
// (zero outside the image); a later chunk adds its sum to what y holds, in order, so two
// runs give the same bits. Used for the forward pass and, with the flipped transposed
// table, the gradient w.r.t. the input (see src/ops/conv/backward_data.rs).
//
// Why: llvmpipe (Mesa 22.3) reads a uniform at a lane-invariant address with one scalar
// load and a broadcast only when the offset is a compile-time constant; an offset built
// from a loop counter or from Params is gathered lane by lane (about 20 cycles per
// component for the 8 lanes). In conv_window.wgsl three quarters of the gathers are weight
// reads. Here every (channel, kernel row) step is a call `chan(&a, r, k)` with a literal k,
// guarded by `CN > k` with CN an override constant: once the calls are inlined the weight
// index ((ky*3 + kx)*CN + k)*4 + q is a constant, and only x is gathered.
// The weight table holds the 16 output channels o0 .. o0+15 of one dispatch (packed by
// conv_pack.wgsl with og = 16):
//   wg[((ky*3 + kx)*CN + ci)*4 + q] = w[o0+4q .. o0+4q+3, ky, kx, c0+ci]
// x is read through a 64 KiB uniform window as in conv_window.wgsl.
//
// One invocation: TW = 4 neighbouring output pixels of one row x 16 output channels
// (16 vec4 accumulators). Per input channel and kernel row it gathers the 6 input values
// of the row segment, broadcasts 12 vec4 weights and does 48 vec4 multiply-adds.
// KW = 3, KH <= 3, CN <= 64. Integer-valued sums are exact below 2^24 in any order.
//#include _common

override KH: u32 = 3u;
override CN: u32 = 16u;

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
    // First output channel of this dispatch's 16.
    o0: u32,
    // Tiles per output row (ceil(wo / 4)).
    tiles_x: u32,
    // Output rows of this dispatch: row0 .. row0 + rows - 1; invocations rows*tiles_x.
    row0: u32,
    rows: u32,
    total: u32,
    // 1: add the sum to what y holds (a later input-channel chunk), 0: overwrite.
    accumulate: u32,
    // First input channel of this chunk.
    c0: u32,
    // Float index in x of the window's first entry.
    xoff: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> xw: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<uniform> wg: array<vec4<f32>, 4096>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// a{i}{q}: output pixel ox0 + i, output channels o0 + 4q .. o0 + 4q + 3.
struct Acc {
    a00: vec4<f32>, a01: vec4<f32>, a02: vec4<f32>, a03: vec4<f32>,
    a10: vec4<f32>, a11: vec4<f32>, a12: vec4<f32>, a13: vec4<f32>,
    a20: vec4<f32>, a21: vec4<f32>, a22: vec4<f32>, a23: vec4<f32>,
    a30: vec4<f32>, a31: vec4<f32>, a32: vec4<f32>, a33: vec4<f32>,
}

// One kernel row of the invocation: whether input row iy is inside the image, and the
// flat pixel index (n*H + clamped iy) * W of its first pixel.
struct Row {
    inside: bool,
    base: u32,
}

// The invocation's place: first input column and the rows of its KH kernel rows.
struct Place {
    col0: i32,
    r0: Row,
    r1: Row,
    r2: Row,
}

// x[pixel row.base + ix, c] with zero outside the image, read as component l % 4 of window
// entry l / 4, l = flat index - xoff.
fn x_at(r: Row, ix: i32, c: u32) -> f32 {
    let inside = r.inside && ix >= 0 && ix < i32(p.w);
    let l = (r.base + u32(clamp(ix, 0, i32(p.w) - 1))) * p.c + c - p.xoff;
    return select(0.0, xw[l >> 2u][l & 3u], inside);
}

// Kernel row ky (a literal) of input channel c0 + ci (a literal): the 6 input values
// x{j} = x[n, iy, col0 + j, c] serve taps kx = 0..2 of pixels i = 0..3 (x{i + kx}).
fn row_step(a: ptr<function, Acc>, r: Row, col0: i32, ci: u32, ky: u32) {
    let c = p.c0 + ci;
    let x0 = x_at(r, col0, c);
    let x1 = x_at(r, col0 + 1, c);
    let x2 = x_at(r, col0 + 2, c);
    let x3 = x_at(r, col0 + 3, c);
    let x4 = x_at(r, col0 + 4, c);
    let x5 = x_at(r, col0 + 5, c);
    // Table entry of tap (ky, kx), channel ci, quad q: ((ky*3 + kx)*CN + ci)*4 + q.
    let b0 = ((ky * 3u + 0u) * CN + ci) * 4u;
    let b1 = ((ky * 3u + 1u) * CN + ci) * 4u;
    let b2 = ((ky * 3u + 2u) * CN + ci) * 4u;
    let w00 = wg[b0 + 0u];
    let w10 = wg[b1 + 0u];
    let w20 = wg[b2 + 0u];
    let w01 = wg[b0 + 1u];
    let w11 = wg[b1 + 1u];
    let w21 = wg[b2 + 1u];
    let w02 = wg[b0 + 2u];
    let w12 = wg[b1 + 2u];
    let w22 = wg[b2 + 2u];
    let w03 = wg[b0 + 3u];
    let w13 = wg[b1 + 3u];
    let w23 = wg[b2 + 3u];
    (*a).a00 += w00 * x0;
    (*a).a01 += w01 * x0;
    (*a).a02 += w02 * x0;
    (*a).a03 += w03 * x0;
    (*a).a10 += w00 * x1;
    (*a).a11 += w01 * x1;
    (*a).a12 += w02 * x1;
    (*a).a13 += w03 * x1;
    (*a).a20 += w00 * x2;
    (*a).a21 += w01 * x2;
    (*a).a22 += w02 * x2;
    (*a).a23 += w03 * x2;
    (*a).a30 += w00 * x3;
    (*a).a31 += w01 * x3;
    (*a).a32 += w02 * x3;
    (*a).a33 += w03 * x3;
    (*a).a00 += w10 * x1;
    (*a).a01 += w11 * x1;
    (*a).a02 += w12 * x1;
    (*a).a03 += w13 * x1;
    (*a).a10 += w10 * x2;
    (*a).a11 += w11 * x2;
    (*a).a12 += w12 * x2;
    (*a).a13 += w13 * x2;
    (*a).a20 += w10 * x3;
    (*a).a21 += w11 * x3;
    (*a).a22 += w12 * x3;
    (*a).a23 += w13 * x3;
    (*a).a30 += w10 * x4;
    (*a).a31 += w11 * x4;
    (*a).a32 += w12 * x4;
    (*a).a33 += w13 * x4;
    (*a).a00 += w20 * x2;
    (*a).a01 += w21 * x2;
    (*a).a02 += w22 * x2;
    (*a).a03 += w23 * x2;
    (*a).a10 += w20 * x3;
    (*a).a11 += w21 * x3;
    (*a).a12 += w22 * x3;
    (*a).a13 += w23 * x3;
    (*a).a20 += w20 * x4;
    (*a).a21 += w21 * x4;
    (*a).a22 += w22 * x4;
    (*a).a23 += w23 * x4;
    (*a).a30 += w20 * x5;
    (*a).a31 += w21 * x5;
    (*a).a32 += w22 * x5;
    (*a).a33 += w23 * x5;
}

// Every kernel row of input channel c0 + ci (a literal).
fn chan(a: ptr<function, Acc>, pl: Place, ci: u32) {
    row_step(a, pl.r0, pl.col0, ci, 0u);
    if KH > 1u {
        row_step(a, pl.r1, pl.col0, ci, 1u);
    }
    if KH > 2u {
        row_step(a, pl.r2, pl.col0, ci, 2u);
    }
}

fn row_at(n: u32, oy: u32, ky: u32) -> Row {
    let iy = i32(oy + ky) - p.pad_y;
    return Row(iy >= 0 && iy < i32(p.h), (n * p.h + u32(clamp(iy, 0, i32(p.h) - 1))) * p.w);
}

// Store pixel `keep` of y from index `b` (channel o): channels past O are not stored.
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

fn store_pixel(keep: bool, b: u32, v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>) {
    store4(keep, b, p.o0, v0);
    store4(keep, b + 4u, p.o0 + 4u, v1);
    store4(keep, b + 8u, p.o0 + 8u, v2);
    store4(keep, b + 12u, p.o0 + 12u, v3);
}

@compute @workgroup_size(8)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    // Invocations past the last one compute a copy of it and store nothing.
    let t_raw = linear_index(wid, nwg, lid, 8u);
    let live = t_raw < p.total;
    let t = min(t_raw, p.total - 1u);
    let tx = t % p.tiles_x;
    let r = p.row0 + t / p.tiles_x;
    let oy = r % p.ho;
    let n = r / p.ho;
    let ox0 = tx * 4u;
    let pl = Place(i32(ox0) - p.pad_x, row_at(n, oy, 0u), row_at(n, oy, 1u), row_at(n, oy, 2u));
    var a: Acc;
    if CN > 0u { chan(&a, pl, 0u); }
    if CN > 1u { chan(&a, pl, 1u); }
    if CN > 2u { chan(&a, pl, 2u); }
    if CN > 3u { chan(&a, pl, 3u); }
    if CN > 4u { chan(&a, pl, 4u); }
    if CN > 5u { chan(&a, pl, 5u); }
    if CN > 6u { chan(&a, pl, 6u); }
    if CN > 7u { chan(&a, pl, 7u); }
    if CN > 8u { chan(&a, pl, 8u); }
    if CN > 9u { chan(&a, pl, 9u); }
    if CN > 10u { chan(&a, pl, 10u); }
    if CN > 11u { chan(&a, pl, 11u); }
    if CN > 12u { chan(&a, pl, 12u); }
    if CN > 13u { chan(&a, pl, 13u); }
    if CN > 14u { chan(&a, pl, 14u); }
    if CN > 15u { chan(&a, pl, 15u); }
    if CN > 16u { chan(&a, pl, 16u); }
    if CN > 17u { chan(&a, pl, 17u); }
    if CN > 18u { chan(&a, pl, 18u); }
    if CN > 19u { chan(&a, pl, 19u); }
    if CN > 20u { chan(&a, pl, 20u); }
    if CN > 21u { chan(&a, pl, 21u); }
    if CN > 22u { chan(&a, pl, 22u); }
    if CN > 23u { chan(&a, pl, 23u); }
    if CN > 24u { chan(&a, pl, 24u); }
    if CN > 25u { chan(&a, pl, 25u); }
    if CN > 26u { chan(&a, pl, 26u); }
    if CN > 27u { chan(&a, pl, 27u); }
    if CN > 28u { chan(&a, pl, 28u); }
    if CN > 29u { chan(&a, pl, 29u); }
    if CN > 30u { chan(&a, pl, 30u); }
    if CN > 31u { chan(&a, pl, 31u); }
    if CN > 32u { chan(&a, pl, 32u); }
    if CN > 33u { chan(&a, pl, 33u); }
    if CN > 34u { chan(&a, pl, 34u); }
    if CN > 35u { chan(&a, pl, 35u); }
    if CN > 36u { chan(&a, pl, 36u); }
    if CN > 37u { chan(&a, pl, 37u); }
    if CN > 38u { chan(&a, pl, 38u); }
    if CN > 39u { chan(&a, pl, 39u); }
    if CN > 40u { chan(&a, pl, 40u); }
    if CN > 41u { chan(&a, pl, 41u); }
    if CN > 42u { chan(&a, pl, 42u); }
    if CN > 43u { chan(&a, pl, 43u); }
    if CN > 44u { chan(&a, pl, 44u); }
    if CN > 45u { chan(&a, pl, 45u); }
    if CN > 46u { chan(&a, pl, 46u); }
    if CN > 47u { chan(&a, pl, 47u); }
    if CN > 48u { chan(&a, pl, 48u); }
    if CN > 49u { chan(&a, pl, 49u); }
    if CN > 50u { chan(&a, pl, 50u); }
    if CN > 51u { chan(&a, pl, 51u); }
    if CN > 52u { chan(&a, pl, 52u); }
    if CN > 53u { chan(&a, pl, 53u); }
    if CN > 54u { chan(&a, pl, 54u); }
    if CN > 55u { chan(&a, pl, 55u); }
    if CN > 56u { chan(&a, pl, 56u); }
    if CN > 57u { chan(&a, pl, 57u); }
    if CN > 58u { chan(&a, pl, 58u); }
    if CN > 59u { chan(&a, pl, 59u); }
    if CN > 60u { chan(&a, pl, 60u); }
    if CN > 61u { chan(&a, pl, 61u); }
    if CN > 62u { chan(&a, pl, 62u); }
    if CN > 63u { chan(&a, pl, 63u); }
    let b = ((n * p.ho + oy) * p.wo + ox0) * p.o + p.o0;
    store_pixel(live && ox0 < p.wo, b, a.a00, a.a01, a.a02, a.a03);
    store_pixel(live && ox0 + 1u < p.wo, b + p.o, a.a10, a.a11, a.a12, a.a13);
    store_pixel(live && ox0 + 2u < p.wo, b + 2u * p.o, a.a20, a.a21, a.a22, a.a23);
    store_pixel(live && ox0 + 3u < p.wo, b + 3u * p.o, a.a30, a.a31, a.a32, a.a33);
}
