// Folded-table first layer: u8 pixels -> thresholded, packed codes of the first binary conv,
// in one pass (math: src/reference/first_table.rs). For output pixel (n, oy, ox) and channel o
//   acc[o] = sum over taps (ky, kx) inside the image and channels c of T[tap][c][v][o]
// where v is the input pixel's value in channel c and T folds the frozen code table with the
// conv's signs (T[tap][c][v][o] = sum_d w[o, tap, c D + d] code[c][v][d]).
//
// Storage (built on the host, src/ops/first_table/fold.rs): entries are stored as T + M with
// M = max |T|, so every entry is unsigned, and packed as 8-bit (WIDE = 0, 4 per word) or
// 16-bit (WIDE = 1, 2 per word) lanes over the output channels of one channel group:
//   table[(((group TAPS + tap) C + c) 257 + v) RW + r]   (vec4 r of the row: RW per row)
// Row v = 256 holds M in every lane: a padding tap reads it, so each of the TAPS * C terms
// adds exactly one entry and acc = S - TAPS C M (p.offset) with S the sum of stored entries.
//
// Summation is SWAR: a row's lanes are added as whole words into `s`; every TPW taps (chosen
// on the host so that no lane can overflow) the lanes are widened, 8 -> 16 bits (8-bit form:
// the 16-bit sums never overflow, checked on the host) or 16 -> 32 bits, into `lo` (even
// lanes) and `hi` (odd lanes). One invocation computes one output pixel x all 4 NB channels
// of its group (lanes over pixels): table loads are per-lane gathers, thresholds come from a
// uniform buffer at indices that are constants once the channel loop is unrolled.
//
// Thresholds: the rule of src/reference/threshold.rs; th_u holds, for channel block cb
// (4 channels), element cb (2^KOUT) = the 4 flags and cb (2^KOUT) + 1 + i = the 4 thresholds
// i. Codes are packed as bit-planes [N, Ho, Wo, KOUT, Ow] (channel 32 j + i at bit i of j).
//#include _common

override C: u32 = 3u;
override KH: u32 = 3u;
override KW: u32 = 3u;
override STRIDE: u32 = 1u;
// Channel blocks of 4 in a group (1..16).
override NB: u32 = 16u;
// 0: 8-bit entries; 1: 16-bit entries.
override WIDE: u32 = 0u;
// Taps summed in `s` between widenings.
override TPW: u32 = 1u;
override KOUT: u32 = 2u;
override TAPS: u32 = KH * KW;
// vec4 words per table row: 16 channels (8-bit) or 8 channels (16-bit) each.
override RW: u32 = select((NB + 3u) / 4u, (NB + 1u) / 2u, WIDE == 1u);

struct Params {
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    pad: u32,
    // Output pixels N * Ho * Wo.
    pixels: u32,
    // Words per output plane: ceil(O / 32).
    ow: u32,
    // Channel group of this dispatch and its first output word.
    group: u32,
    word0: u32,
    // Channels of this group that exist (the rest of the last group is padding).
    valid: u32,
    // TAPS * C * M.
    offset: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pix: array<u32>;   // u8, four per word
@group(0) @binding(2) var<storage, read> table: array<vec4<u32>>;
@group(0) @binding(3) var<uniform> th_u: array<vec4<i32>, 4096>;
@group(0) @binding(4) var<storage, read_write> out_bits: array<u32>;

fn pixel_value(i: u32) -> u32 {
    return (pix[i / 4u] >> (8u * (i % 4u))) & 0xffu;
}

// Codes of 4 channels (flag > 0: #{acc >= t}; < 0: #{acc <= t}; 0: clamp(t_0, 0, levels)).
fn codes4(acc: vec4<i32>, cb: u32) -> vec4<u32> {
    let levels = (1u << KOUT) - 1u;
    let base = cb << KOUT;
    let flag = th_u[base];
    var up = vec4<u32>();
    var down = vec4<u32>();
    for (var i = 0u; i < levels; i++) {
        let t = th_u[base + 1u + i];
        up += select(vec4<u32>(), vec4<u32>(1u), acc >= t);
        down += select(vec4<u32>(), vec4<u32>(1u), acc <= t);
    }
    let constant = vec4<u32>(clamp(th_u[base + 1u], vec4<i32>(0), vec4<i32>(i32(levels))));
    return select(select(down, up, flag > vec4<i32>(0)), constant, flag == vec4<i32>(0));
}

// One table row's worth of lanes: RW vec4 words, in named fields so that they stay in
// registers (the hot loop never indexes at run time).
struct Row {
    r0: vec4<u32>, r1: vec4<u32>, r2: vec4<u32>, r3: vec4<u32>,
    r4: vec4<u32>, r5: vec4<u32>, r6: vec4<u32>, r7: vec4<u32>,
}

// s += the stored row at vec4 index `base`.
fn add_row(s: ptr<function, Row>, base: u32) {
    (*s).r0 += table[base];
    if RW > 1u { (*s).r1 += table[base + 1u]; }
    if RW > 2u { (*s).r2 += table[base + 2u]; }
    if RW > 3u { (*s).r3 += table[base + 3u]; }
    if RW > 4u { (*s).r4 += table[base + 4u]; }
    if RW > 5u { (*s).r5 += table[base + 5u]; }
    if RW > 6u { (*s).r6 += table[base + 6u]; }
    if RW > 7u { (*s).r7 += table[base + 7u]; }
}

// Even lanes of x, widened: bytes 0 and 2 as 16-bit halves (8-bit form), or the low half
// (16-bit form).
fn even(x: vec4<u32>) -> vec4<u32> {
    return x & select(vec4<u32>(0x00ff00ffu), vec4<u32>(0xffffu), WIDE == 1u);
}

// Odd lanes of x, widened.
fn odd(x: vec4<u32>) -> vec4<u32> {
    if WIDE == 1u {
        return x >> vec4<u32>(16u);
    }
    return (x >> vec4<u32>(8u)) & vec4<u32>(0x00ff00ffu);
}

fn widen(s: ptr<function, Row>, lo: ptr<function, Row>, hi: ptr<function, Row>) {
    (*lo).r0 += even((*s).r0);
    (*hi).r0 += odd((*s).r0);
    if RW > 1u { (*lo).r1 += even((*s).r1); (*hi).r1 += odd((*s).r1); }
    if RW > 2u { (*lo).r2 += even((*s).r2); (*hi).r2 += odd((*s).r2); }
    if RW > 3u { (*lo).r3 += even((*s).r3); (*hi).r3 += odd((*s).r3); }
    if RW > 4u { (*lo).r4 += even((*s).r4); (*hi).r4 += odd((*s).r4); }
    if RW > 5u { (*lo).r5 += even((*s).r5); (*hi).r5 += odd((*s).r5); }
    if RW > 6u { (*lo).r6 += even((*s).r6); (*hi).r6 += odd((*s).r6); }
    if RW > 7u { (*lo).r7 += even((*s).r7); (*hi).r7 += odd((*s).r7); }
    *s = Row();
}

fn word(x: Row, r: u32) -> vec4<u32> {
    switch r {
        case 0u: { return x.r0; }
        case 1u: { return x.r1; }
        case 2u: { return x.r2; }
        case 3u: { return x.r3; }
        case 4u: { return x.r4; }
        case 5u: { return x.r5; }
        case 6u: { return x.r6; }
        default: { return x.r7; }
    }
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.pixels { return; }
    let ox = i % p.wo;
    let oy = (i / p.wo) % p.ho;
    let n = i / (p.wo * p.ho);
    var s = Row();
    var lo = Row();
    var hi = Row();
    var since = 0u;
    for (var ky = 0u; ky < KH; ky++) {
        let iy = i32(oy * STRIDE + ky) - i32(p.pad);
        let row_inside = iy >= 0 && iy < i32(p.h);
        for (var kx = 0u; kx < KW; kx++) {
            let ix = i32(ox * STRIDE + kx) - i32(p.pad);
            let inside = row_inside && ix >= 0 && ix < i32(p.w);
            let px = select(0u, ((n * p.h + u32(iy)) * p.w + u32(ix)) * C, inside);
            let tap = ky * KW + kx;
            for (var c = 0u; c < C; c++) {
                let v = select(256u, pixel_value(px + c), inside);
                add_row(&s, (((p.group * TAPS + tap) * C + c) * 257u + v) * RW);
            }
            since += 1u;
            if since == TPW || tap + 1u == TAPS {
                since = 0u;
                widen(&s, &lo, &hi);
            }
        }
    }
    // planes[b][jw]: bit b of the codes of channels 32 jw .. 32 jw + 31 of the group.
    var planes: array<vec2<u32>, 8>;
    for (var cb = 0u; cb < NB; cb++) {
        var a: vec4<u32>;
        if WIDE == 0u {
            // Word cb of the row holds channels 4cb + (0, 1, 2, 3) in bytes 0..3; widened,
            // lo has bytes 0 and 2 as 16-bit halves, hi bytes 1 and 3.
            let l = word(lo, cb / 4u)[cb % 4u];
            let h = word(hi, cb / 4u)[cb % 4u];
            a = vec4<u32>(l & 0xffffu, h & 0xffffu, l >> 16u, h >> 16u);
        } else {
            // Words 2cb and 2cb + 1 hold channels 4cb + (0, 1) and 4cb + (2, 3).
            let l = word(lo, cb / 2u);
            let h = word(hi, cb / 2u);
            let e = 2u * (cb % 2u);
            a = vec4<u32>(l[e], h[e], l[e + 1u], h[e + 1u]);
        }
        let acc = vec4<i32>(a) - vec4<i32>(i32(p.offset));
        let ch = vec4<u32>(4u * cb) + vec4<u32>(0u, 1u, 2u, 3u);
        let code = select(vec4<u32>(), codes4(acc, cb), ch < vec4<u32>(p.valid));
        let lane = ch % vec4<u32>(32u);
        for (var b = 0u; b < KOUT; b++) {
            let bits = ((code >> vec4<u32>(b)) & vec4<u32>(1u)) << lane;
            planes[b][cb / 8u] |= bits.x | bits.y | bits.z | bits.w;
        }
    }
    let words = (NB + 7u) / 8u;
    for (var b = 0u; b < KOUT; b++) {
        for (var jw = 0u; jw < words && p.word0 + jw < p.ow; jw++) {
            out_bits[(i * KOUT + b) * p.ow + p.word0 + jw] = planes[b][jw];
        }
    }
}
