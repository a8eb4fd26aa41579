// Fused float first layer, fast path (helpers and entry point; the files first_conv_kK.wgsl
// include this and define `all_taps`, the taps of one channel for their kernel size K): u8 pixels -> normalised f32 conv -> per-channel float
// thresholds -> packed k-bit bit-planes, in one dispatch per group of up to 64 output channels.
//
// Math (src/reference/first_conv.rs is the definition; src/ops/first_conv/fold.rs folds on the host):
//   x[c]   = (v / 255 - mean_c) / std_c                          (v: the u8 pixel value)
//          = (v - m_c) / (255 std_c),   m_c = 255 mean_c
//   y[o]   = sum_{ky,kx,c} w[o,ky,kx,c] x[c]          (zero padding: x = 0 outside the image)
//          = sum_{ky,kx,c} w'[o,ky,kx,c] (v - m_c),   w' = s_o w / (255 std_c)  (times s_o)
//   code_o = #{ j : s_o y >= t'_oj }
// s_o = +1 for an increasing channel and -1 for a decreasing one; the host multiplies the
// weights and thresholds of a decreasing channel by -1 (exact: negation commutes with
// round-to-nearest), so the kernel only counts thresholds reached from below. A constant
// channel gets thresholds -BIG (below its code) and +BIG (above). Padding taps contribute
// v - m_c = 0 exactly, so no border-dependent bias term is needed.
//
// Blocking (lavapipe: one invocation is one lane of an 8-wide vector; a uniform read is a
// cheap broadcast only at a compile-time-constant index): one invocation computes PX
// neighbouring output pixels of one row (vec4 lanes = pixels) x every channel of the group.
// The input row segments it needs (K rows x SEG pixels x C channels) are loaded once into a
// local array; then every (channel, tap) is written out as straight-line code through small
// helper functions called with literal arguments and guarded by override constants, so after
// inlining every weight and threshold index is a constant. (Guards like `if K > 3u` around
// calls would not do for the taps: the compiler inlines every guarded call before it drops
// the dead ones, and a 7x7 chain made pipeline creation take minutes.) Per channel, PX accumulators run
// over all taps, then the channel's code bits are ORed into the pixels' plane words.
//#include _common

override C: u32 = 3u;
override K: u32 = 3u;
override S: u32 = 1u;
// Code bits (1..4) and channels of this dispatch's group (1..64).
override KOUT: u32 = 2u;
override OB: u32 = 64u;
// Output pixels per invocation: 4, 8 or 16.
override PX: u32 = 8u;
override TAPS: u32 = K * K * C;
// A channel's weights start at a multiple of 4 floats (one vec4 of the uniform).
override TAPS4: u32 = (TAPS + 3u) / 4u * 4u;
override LEVELS: u32 = (1u << KOUT) - 1u;
// Input pixels of one row segment.
override SEG: u32 = (PX - 1u) * S + K;

// Floats of the local input array: K SEG C at most (the host keeps plans within it).
const SEG_FLOATS: u32 = 448u;
// Threshold slots per channel in the threshold buffer (LEVELS <= 15).
const TSLOTS: u32 = 16u;

struct Params {
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    pad: u32,
    // Pixel blocks per output row ceil(wo / PX); blocks = n * ho * xblocks.
    xblocks: u32,
    blocks: u32,
    // Words per plane of the whole output: ceil(O / 32).
    ow: u32,
    // First output word of this group (its first channel / 32).
    word0: u32,
    // Channels of this dispatch's group (= OB).
    channels: u32,
    _pad1: u32,
    _pad2: u32,
    // m_c = 255 mean_c per input channel.
    mean: vec4<f32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
// w'[o * TAPS4 + (ky K + kx) C + c] for the group's channels o, 4 floats per element.
@group(0) @binding(2) var<uniform> wu: array<vec4<f32>, 4096>;
// t'[o * TSLOTS + j], ascending in j.
@group(0) @binding(3) var<uniform> tu: array<vec4<f32>, 256>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

// v - m_c of every input value the block reads, 0 for padding:
// xs[(ky SEG + j) C + c] for input column ox0 S - pad + j of row oy S + ky - pad.
struct Seg {
    v: array<f32, 448>,
}

// Accumulators of one channel: pixels 0..3, 4..7, 8..11 and 12..15.
struct Acc {
    a0: vec4<f32>,
    a1: vec4<f32>,
    a2: vec4<f32>,
    a3: vec4<f32>,
}

// Plane words of the block's pixels: w[(b 2 + jw) 4 + h] holds, for pixels 4h .. 4h+3,
// bit b of the codes of the group's channels 32 jw .. 32 jw + 31.
struct Planes {
    w: array<vec4<u32>, 32>,
}

// Weight t (a literal after inlining) of channel o: the vec4 row depends on o only through
// a multiple of TAPS4 / 4, so the component index stays a constant.
fn weight(o: u32, t: u32) -> f32 {
    return wu[o * (TAPS4 / 4u) + t / 4u][t % 4u];
}

fn pixel_byte(e: u32) -> u32 {
    return (pixels[e >> 2u] >> ((e & 3u) * 8u)) & 0xffu;
}

// Input value of pixel i of the block at tap (ky, kx), channel c.
fn xv(xs: ptr<function, Seg>, ky: u32, kx: u32, c: u32, i: u32) -> f32 {
    return (*xs).v[(ky * SEG + i * S + kx) * C + c];
}

// One tap of channel o: acc += w' x for the block's pixels.
fn tap(xs: ptr<function, Seg>, a: ptr<function, Acc>, o: u32, ky: u32, kx: u32, c: u32) {
    let w = vec4<f32>(weight(o, (ky * K + kx) * C + c));
    let x0 = vec4<f32>(xv(xs, ky, kx, c, 0u), xv(xs, ky, kx, c, 1u), xv(xs, ky, kx, c, 2u),
                       xv(xs, ky, kx, c, 3u));
    (*a).a0 = fma(x0, w, (*a).a0);
    if PX > 4u {
        let x1 = vec4<f32>(xv(xs, ky, kx, c, 4u), xv(xs, ky, kx, c, 5u), xv(xs, ky, kx, c, 6u),
                           xv(xs, ky, kx, c, 7u));
        (*a).a1 = fma(x1, w, (*a).a1);
    }
    if PX > 8u {
        let x2 = vec4<f32>(xv(xs, ky, kx, c, 8u), xv(xs, ky, kx, c, 9u), xv(xs, ky, kx, c, 10u),
                           xv(xs, ky, kx, c, 11u));
        (*a).a2 = fma(x2, w, (*a).a2);
        let x3 = vec4<f32>(xv(xs, ky, kx, c, 12u), xv(xs, ky, kx, c, 13u),
                           xv(xs, ky, kx, c, 14u), xv(xs, ky, kx, c, 15u));
        (*a).a3 = fma(x3, w, (*a).a3);
    }
}

// Every input channel of one tap.
fn tap_channels(xs: ptr<function, Seg>, a: ptr<function, Acc>, o: u32, ky: u32, kx: u32) {
    tap(xs, a, o, ky, kx, 0u);
    if C > 1u { tap(xs, a, o, ky, kx, 1u); }
    if C > 2u { tap(xs, a, o, ky, kx, 2u); }
}

// Codes of one channel for the block's pixels (as Acc).
struct Codes {
    c0: vec4<u32>,
    c1: vec4<u32>,
    c2: vec4<u32>,
    c3: vec4<u32>,
}

// code += (acc >= t'_oj) for threshold j when the code width has it.
fn level(a: ptr<function, Acc>, o: u32, j: u32, c: ptr<function, Codes>) {
    if LEVELS > j {
        let t = vec4<f32>(tu[o * (TSLOTS / 4u) + j / 4u][j % 4u]);
        (*c).c0 += select(vec4<u32>(), vec4<u32>(1u), (*a).a0 >= t);
        (*c).c1 += select(vec4<u32>(), vec4<u32>(1u), (*a).a1 >= t);
        if PX > 8u {
            (*c).c2 += select(vec4<u32>(), vec4<u32>(1u), (*a).a2 >= t);
            (*c).c3 += select(vec4<u32>(), vec4<u32>(1u), (*a).a3 >= t);
        }
    }
}

// Bit b of the codes into the plane words of channel o. The channel loop is not unrolled,
// so the word is picked by a branch (the same for every lane) rather than a run-time index
// into the planes.
fn put_bit(pl: ptr<function, Planes>, o: u32, b: u32, c: ptr<function, Codes>) {
    if KOUT > b {
        let sh = vec4<u32>(o % 32u);
        let one = vec4<u32>(1u);
        let bit0 = (((*c).c0 >> vec4<u32>(b)) & one) << sh;
        let bit1 = (((*c).c1 >> vec4<u32>(b)) & one) << sh;
        let bit2 = (((*c).c2 >> vec4<u32>(b)) & one) << sh;
        let bit3 = (((*c).c3 >> vec4<u32>(b)) & one) << sh;
        if o < 32u {
            (*pl).w[b * 8u] |= bit0;
            (*pl).w[b * 8u + 1u] |= bit1;
            (*pl).w[b * 8u + 2u] |= bit2;
            (*pl).w[b * 8u + 3u] |= bit3;
        } else {
            (*pl).w[b * 8u + 4u] |= bit0;
            (*pl).w[b * 8u + 5u] |= bit1;
            (*pl).w[b * 8u + 6u] |= bit2;
            (*pl).w[b * 8u + 7u] |= bit3;
        }
    }
}

// Channel o of the group: all taps, then its codes into the planes.
fn channel(xs: ptr<function, Seg>, pl: ptr<function, Planes>, o: u32) {
    if OB <= o { return; }
    var a: Acc;
    all_taps(xs, &a, o);
    var c: Codes;
    level(&a, o, 0u, &c);
    level(&a, o, 1u, &c);
    level(&a, o, 2u, &c);
    level(&a, o, 3u, &c);
    level(&a, o, 4u, &c);
    level(&a, o, 5u, &c);
    level(&a, o, 6u, &c);
    level(&a, o, 7u, &c);
    level(&a, o, 8u, &c);
    level(&a, o, 9u, &c);
    level(&a, o, 10u, &c);
    level(&a, o, 11u, &c);
    level(&a, o, 12u, &c);
    level(&a, o, 13u, &c);
    level(&a, o, 14u, &c);
    put_bit(pl, o, 0u, &c);
    put_bit(pl, o, 1u, &c);
    put_bit(pl, o, 2u, &c);
    put_bit(pl, o, 3u, &c);
}

// Word jw of plane b of pixel i of the block (output pixel index pix), when it exists.
fn store_word(pl: ptr<function, Planes>, i: u32, pix: u32, b: u32, jw: u32) {
    if KOUT > b && OB > 32u * jw {
        out[(pix * KOUT + b) * p.ow + p.word0 + jw] = (*pl).w[(b * 2u + jw) * 4u + i / 4u][i % 4u];
    }
}

// Pixel i of the block, unless it lies past the end of the row (ox0 + i >= wo).
fn store_pixel(pl: ptr<function, Planes>, i: u32, row: u32, ox0: u32) {
    if PX <= i || ox0 + i >= p.wo { return; }
    let pix = row * p.wo + ox0 + i;
    store_word(pl, i, pix, 0u, 0u);
    store_word(pl, i, pix, 0u, 1u);
    store_word(pl, i, pix, 1u, 0u);
    store_word(pl, i, pix, 1u, 1u);
    store_word(pl, i, pix, 2u, 0u);
    store_word(pl, i, pix, 2u, 1u);
    store_word(pl, i, pix, 3u, 0u);
    store_word(pl, i, pix, 3u, 1u);
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, 64u);
    if id >= p.blocks { return; }
    let row = id / p.xblocks;
    let ox0 = (id - row * p.xblocks) * PX;
    let oy = row % p.ho;
    let n = row / p.ho;

    var xs: Seg;
    for (var ky = 0u; ky < K; ky++) {
        let iy = i32(oy * S + ky) - i32(p.pad);
        let row_inside = iy >= 0 && iy < i32(p.h);
        let row_base = (n * p.h + u32(select(0, iy, row_inside))) * p.w;
        for (var j = 0u; j < SEG; j++) {
            let ix = i32(ox0 * S + j) - i32(p.pad);
            let inside = row_inside && ix >= 0 && ix < i32(p.w);
            let base = (row_base + u32(select(0, ix, inside))) * C;
            for (var c = 0u; c < C; c++) {
                let v = f32(pixel_byte(base + c)) - p.mean[c];
                xs.v[(ky * SEG + j) * C + c] = select(0.0, v, inside);
            }
        }
    }

    // One channel at a time, in a loop over a uniform bound: the loop body (every tap of one
    // channel) is straight-line code, and the loop keeps the pipeline quick to compile for
    // 64 channels, which then share one load of the input segment.
    var pl: Planes;
    for (var o = 0u; o < p.channels; o++) {
        channel(&xs, &pl, o);
    }

    store_pixel(&pl, 0u, row, ox0);
    store_pixel(&pl, 1u, row, ox0);
    store_pixel(&pl, 2u, row, ox0);
    store_pixel(&pl, 3u, row, ox0);
    store_pixel(&pl, 4u, row, ox0);
    store_pixel(&pl, 5u, row, ox0);
    store_pixel(&pl, 6u, row, ox0);
    store_pixel(&pl, 7u, row, ox0);
    store_pixel(&pl, 8u, row, ox0);
    store_pixel(&pl, 9u, row, ox0);
    store_pixel(&pl, 10u, row, ox0);
    store_pixel(&pl, 11u, row, ox0);
    store_pixel(&pl, 12u, row, ox0);
    store_pixel(&pl, 13u, row, ox0);
    store_pixel(&pl, 14u, row, ox0);
    store_pixel(&pl, 15u, row, ox0);
}
