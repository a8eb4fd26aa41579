// Bitwise convolution, register-blocked fast path: 1-bit weights x k-bit activations. The
// shared part (sums of one block); the output epilogues are in bconv_blocked.wgsl (integers,
// scaled, thresholds) and bconv_residual.wgsl (residual thresholds).
//
// Math, per output (n, oy, ox, o), over taps (ky, kx) whose input pixel lies inside the image:
//   acc = sum_taps sum_c code[c] * w[c]                        (w in {-1, +1})
//       = sum_taps sum_b 2^b sum_j (2 popcount(a_bj & w_j) - popcount(a_bj))
//       = 2 S - T,   S = sum 2^b popcount(a_bj & w_j),   T = sum 2^b popcount(a_bj)
// a_bj: word j of bit-plane b of the input pixel; w_j: word j of the weight row (bit 1 = +1).
// Taps outside the image read all-zero words and add nothing to S or T (exact zero padding).
//
// Blocking for lavapipe (each invocation is one lane of an 8-wide SIMD vector; storage loads
// at per-lane addresses run one lane at a time, so each loaded word must feed many outputs):
//   * one invocation = PB = 4 neighbouring output pixels of a row x 4 QV output channels
//     (one channel group, QV <= 16), accumulated in 4 x QV vec4 registers;
//   * a pixel's WPX = BITS * CW words are read in chunks of 4 (vec4); at stride 1 a window
//     slides over kx, so one row of taps costs 4 + KW - 1 chunk loads for the 4 pixels;
//   * T does not depend on o: it is summed once per pixel;
//   * countOneBits is emulated with byte shuffles; where the chunk layout allows (dot4_2x2,
//     dot4_one_plane) the popcounts of a chunk are summed with and/shift/add bit tricks and
//     a single horizontal add instead;
//   * weights come from a uniform buffer staged by bconv_stage.wgsl::stage_weights:
//       wu[((g KH KW + tap) CW + j) QV + q] = word j of channels 4q..4q+3 of group g.
// Channel group g of this dispatch covers channels o_base + g 4 QV + (0 .. 4 QV - 1).
//#include _common

override CW: u32 = 2u;
override BITS: u32 = 2u;
override KW: u32 = 3u;
override STRIDE: u32 = 1u;
// vec4 channel blocks per invocation (1..16).
override QV: u32 = 16u;
// Deferred byte sums for 2-bit inputs of one word per plane (CW = 1), chosen by the host
// (software adapters, where countOneBits is emulated):
// 0 off; 1 at most 16 channels (both planes in one word, at most 31 taps); 2 up to 32
// channels (at most 10 taps). See dot4_deferred.
override DEFER: u32 = 0u;
// Words per input pixel and 4-word chunks per pixel.
override WPX: u32 = BITS * CW;
override CHUNKS: u32 = (WPX + 3u) / 4u;

const PB: u32 = 4u;

struct Params {
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    pad: u32,
    // Output channels O of the whole convolution.
    o: u32,
    // Pixel blocks per output row: ceil(wo / PB); blocks = n * ho * xblocks.
    xblocks: u32,
    blocks: u32,
    // Workgroups per channel group.
    wg_per_group: u32,
    // First output channel of this dispatch.
    o_base: u32,
    // Words per plane of the packed threshold output: ceil(O / 32).
    ow: u32,
    // Channel groups of this dispatch.
    groups: u32,
    // Kernel rows: a uniform, not an override, so that the row loop stays a loop (unrolled,
    // the widest variants took twice as long to compile on a software adapter, no faster).
    kh: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// S of one channel block (4 channels, the vec4 lanes) for the 4 pixels of the block.
struct Px4 {
    p0: vec4<u32>,
    p1: vec4<u32>,
    p2: vec4<u32>,
    p3: vec4<u32>,
}

// Weights of one channel block for the 4 words of a chunk.
struct W4 {
    e0: vec4<u32>,
    e1: vec4<u32>,
    e2: vec4<u32>,
    e3: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
// The input bit-planes [N, H, W, BITS, CW], seen as vec4 (used when WPX % 4 == 0) and as
// words (otherwise); both bindings are the same tensor.
@group(0) @binding(1) var<storage, read> x4: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> x1: array<u32>;
@group(0) @binding(3) var<uniform> wu: array<vec4<u32>, 4096>;

// Chunk m (words 4m .. 4m+3) of input pixel `pix`, or zeros when the tap is padding.
// Words past WPX in the last chunk are zero.
fn load_chunk(pix: u32, inside: bool, m: u32) -> vec4<u32> {
    let q = select(0u, pix, inside);
    var v = vec4<u32>();
    if WPX % 4u == 0u {
        v = x4[q * (WPX / 4u) + m];
    } else {
        let base = q * WPX + 4u * m;
        v.x = x1[base];
        if 4u * m + 1u < WPX { v.y = x1[base + 1u]; }
        if 4u * m + 2u < WPX { v.z = x1[base + 2u]; }
        if 4u * m + 3u < WPX { v.w = x1[base + 3u]; }
    }
    return select(vec4<u32>(), v, inside);
}

// Chunk m of the input pixel at (row_base + ix) when 0 <= ix < w and the row is inside.
fn load_tap(row_base: u32, row_inside: bool, ix: i32, m: u32) -> vec4<u32> {
    let inside = row_inside && ix >= 0 && ix < i32(p.w);
    return load_chunk(row_base + u32(ix), inside, m);
}

// sum_e popcount(v_e & w_e) << sh_e for 4 channels: element e of the chunk is word
// j = (4m + e) % CW of plane b = sh_e = (4m + e) / CW.
fn dot4(v: vec4<u32>, w: W4, sh: vec4<u32>) -> vec4<u32> {
    if DEFER != 0u {
        return dot4_deferred(v, w);
    }
    if BITS == 2u && CW == 2u {
        return dot4_2x2(v, w);
    }
    if CW % 4u == 0u {
        return dot4_one_plane(v, w, sh.x);
    }
    if CW == 1u {
        return dot4_one_word(v, w, sh.x);
    }
    return (countOneBits(vec4<u32>(v.x) & w.e0) << vec4<u32>(sh.x))
         + (countOneBits(vec4<u32>(v.y) & w.e1) << vec4<u32>(sh.y))
         + (countOneBits(vec4<u32>(v.z) & w.e2) << vec4<u32>(sh.z))
         + (countOneBits(vec4<u32>(v.w) & w.e3) << vec4<u32>(sh.w));
}

// Bit counts of every 4-bit field of x (0..4 each): pairs, then nibbles.
fn nibble_counts(x: vec4<u32>) -> vec4<u32> {
    let c = x - ((x >> vec4<u32>(1u)) & vec4<u32>(0x55555555u));
    return (c & vec4<u32>(0x33333333u)) + ((c >> vec4<u32>(2u)) & vec4<u32>(0x33333333u));
}

// The same sum when the 4 words of the chunk belong to one plane b (CW a multiple of 4):
// three nibble counts add up to <= 12 per nibble; widened to bytes with the fourth (<= 32),
// the 4 bytes are added by a multiply and the total is shifted by b once.
fn dot4_one_plane(v: vec4<u32>, w: W4, b: u32) -> vec4<u32> {
    let m4 = vec4<u32>(0x0f0f0f0fu);
    let z = nibble_counts(vec4<u32>(v.x) & w.e0) + nibble_counts(vec4<u32>(v.y) & w.e1)
          + nibble_counts(vec4<u32>(v.z) & w.e2);
    let n3 = nibble_counts(vec4<u32>(v.w) & w.e3);
    let bytes = (z & m4) + ((z >> vec4<u32>(4u)) & m4) + (n3 & m4) + ((n3 >> vec4<u32>(4u)) & m4);
    return ((bytes * vec4<u32>(0x01010101u)) >> vec4<u32>(24u)) << vec4<u32>(b);
}

// The same sum when a plane is one word (CW = 1, at most 32 channels, e.g. a table first
// layer's codes): the elements are planes b .. b + 3 of that word (zero past BITS), all
// against the one weight word e0. Per pair of planes, z = n(a_0 & w) + 2 n(a_1 & w) per
// nibble (<= 12), widened to bytes (<= 24) and summed by a multiply (<= 96); the second pair
// counts 4 times. Two horizontal sums for 4 planes instead of four emulated popcounts.
fn dot4_one_word(v: vec4<u32>, w: W4, b: u32) -> vec4<u32> {
    let m4 = vec4<u32>(0x0f0f0f0fu);
    let z01 = nibble_counts(vec4<u32>(v.x) & w.e0) + (nibble_counts(vec4<u32>(v.y) & w.e0) << vec4<u32>(1u));
    let b01 = (z01 & m4) + ((z01 >> vec4<u32>(4u)) & m4);
    var s = (b01 * vec4<u32>(0x01010101u)) >> vec4<u32>(24u);
    if BITS > 2u {
        let z23 = nibble_counts(vec4<u32>(v.z) & w.e0) + (nibble_counts(vec4<u32>(v.w) & w.e0) << vec4<u32>(1u));
        let b23 = (z23 & m4) + ((z23 >> vec4<u32>(4u)) & m4);
        s += ((b23 * vec4<u32>(0x01010101u)) >> vec4<u32>(24u)) << vec4<u32>(2u);
    }
    return s << vec4<u32>(b);
}

// The same sum when a pixel is one chunk of 2 planes x 2 words (2-bit codes, 33..64
// channels): v = (a_00, a_01, a_10, a_11) (plane, word), weights e0 = e2 = w_0, e1 = e3 = w_1.
// Plane 1 counts double, so per word j: z_j = n(a_0j & w_j) + 2 n(a_1j & w_j) per nibble
// (<= 12), widened to bytes (<= 24), summed over j (<= 48 per byte), and the 4 bytes are
// added by a multiply: (B * 0x01010101) >> 24. Only and/shift/add (no byte shuffles), and
// one horizontal sum for 4 words instead of 4.
fn dot4_2x2(v: vec4<u32>, w: W4) -> vec4<u32> {
    let m4 = vec4<u32>(0x0f0f0f0fu);
    let z0 = nibble_counts(vec4<u32>(v.x) & w.e0) + (nibble_counts(vec4<u32>(v.z) & w.e0) << vec4<u32>(1u));
    let z1 = nibble_counts(vec4<u32>(v.y) & w.e1) + (nibble_counts(vec4<u32>(v.w) & w.e1) << vec4<u32>(1u));
    let b = (z0 & m4) + ((z0 >> vec4<u32>(4u)) & m4) + (z1 & m4) + ((z1 >> vec4<u32>(4u)) & m4);
    return (b * vec4<u32>(0x01010101u)) >> vec4<u32>(24u);
}

// Narrow 2-bit layers (CW = 1: a pixel is v = (a_0, a_1, 0, 0), plane 0 and plane 1), per
// tap, left as 4 byte counts per channel that are summed once per block by `finish_deferred`
// instead of once per tap:
//   DEFER 1 (channels < 16, the upper half of each plane word is zero): one word
//     a_0 | a_1 << 16 against w | w << 16; byte 0, 1 count plane 0 and bytes 2, 3 plane 1
//     (<= 8 each per tap), so S = bytes 0 + 1 + 2 (bytes 2 + 3). Half the and/count work of
//     two plane words, and the word's unused half is filled.
//   DEFER 2: nibbles z = n(a_0 & w) + 2 n(a_1 & w) (<= 12), widened to 4 bytes (<= 24 per
//     tap); S = the sum of the 4 bytes.
// Byte sums must stay below 256 over all taps: KH KW <= 31 (DEFER 1) or <= 10 (DEFER 2).
fn dot4_deferred(v: vec4<u32>, w: W4) -> vec4<u32> {
    let m4 = vec4<u32>(0x0f0f0f0fu);
    var z: vec4<u32>;
    if DEFER == 1u {
        let both = vec4<u32>(v.x | (v.y << 16u));
        z = nibble_counts(both & ((w.e0 & vec4<u32>(0xffffu)) | (w.e0 << vec4<u32>(16u))));
    } else {
        z = nibble_counts(vec4<u32>(v.x) & w.e0) + (nibble_counts(vec4<u32>(v.y) & w.e0) << vec4<u32>(1u));
    }
    return (z & m4) + ((z >> vec4<u32>(4u)) & m4);
}

// S of 4 channels from the byte counts of dot4_deferred.
fn finish4(x: vec4<u32>) -> vec4<u32> {
    let m8 = vec4<u32>(0xffu);
    let lo = (x & m8) + ((x >> vec4<u32>(8u)) & m8);
    let hi = ((x >> vec4<u32>(16u)) & m8) + (x >> vec4<u32>(24u));
    return lo + select(hi, 2u * hi, DEFER == 1u);
}

fn finish_deferred(a: Px4) -> Px4 {
    if DEFER == 0u {
        return a;
    }
    return Px4(finish4(a.p0), finish4(a.p1), finish4(a.p2), finish4(a.p3));
}

// S += chunk . weights for channel block q of the 4 pixels (wi: weight index of each element).
fn mac(a: ptr<function, Px4>, v0: vec4<u32>, v1: vec4<u32>, v2: vec4<u32>, v3: vec4<u32>,
       wi: vec4<u32>, sh: vec4<u32>, q: u32) {
    let w = W4(wu[wi.x + q], wu[wi.y + q], wu[wi.z + q], wu[wi.w + q]);
    (*a).p0 += dot4(v0, w, sh);
    (*a).p1 += dot4(v1, w, sh);
    (*a).p2 += dot4(v2, w, sh);
    (*a).p3 += dot4(v3, w, sh);
}

// The block's sums: S of the 4 pixels for each of the QV channel blocks, and T per pixel.
// (Separate variables, never indexed at run time, so that they stay in registers.)
struct Sums {
    b0: Px4, b1: Px4, b2: Px4, b3: Px4, b4: Px4, b5: Px4, b6: Px4, b7: Px4,
    b8: Px4, b9: Px4, b10: Px4, b11: Px4, b12: Px4, b13: Px4, b14: Px4, b15: Px4,
    t: vec4<u32>,
}

// Channel block q of the sums (epilogues loop over q; the hot loop names blocks directly).
fn block(s: ptr<function, Sums>, q: u32) -> Px4 {
    switch q {
        case 0u: { return (*s).b0; }
        case 1u: { return (*s).b1; }
        case 2u: { return (*s).b2; }
        case 3u: { return (*s).b3; }
        case 4u: { return (*s).b4; }
        case 5u: { return (*s).b5; }
        case 6u: { return (*s).b6; }
        case 7u: { return (*s).b7; }
        case 8u: { return (*s).b8; }
        case 9u: { return (*s).b9; }
        case 10u: { return (*s).b10; }
        case 11u: { return (*s).b11; }
        case 12u: { return (*s).b12; }
        case 13u: { return (*s).b13; }
        case 14u: { return (*s).b14; }
        default: { return (*s).b15; }
    }
}

// Where an invocation works: channel group g of the dispatch, output row `row`
// (= n * ho + oy), first output column ox0; `valid` is false past the last block.
struct Block {
    g: u32,
    row: u32,
    ox0: u32,
    valid: bool,
}

fn block_of(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> Block {
    let wg = wid.x + wid.y * nwg.x;
    let blk = (wg % p.wg_per_group) * 64u + lid;
    let g = wg / p.wg_per_group;
    return Block(g, blk / p.xblocks, (blk % p.xblocks) * PB, blk < p.blocks && g < p.groups);
}

fn block_sums(bl: Block) -> Sums {
    var b0: Px4;
    var b1: Px4;
    var b2: Px4;
    var b3: Px4;
    var b4: Px4;
    var b5: Px4;
    var b6: Px4;
    var b7: Px4;
    var b8: Px4;
    var b9: Px4;
    var b10: Px4;
    var b11: Px4;
    var b12: Px4;
    var b13: Px4;
    var b14: Px4;
    var b15: Px4;
    var t = vec4<u32>();
    let n = bl.row / p.ho;
    let oy = bl.row % p.ho;
    let st = i32(STRIDE);
    let c0 = i32(bl.ox0 * STRIDE) - i32(p.pad);
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = i32(oy * STRIDE + ky) - i32(p.pad);
        let row_inside = iy >= 0 && iy < i32(p.h);
        let row_base = (n * p.h + u32(max(iy, 0))) * p.w;
        for (var mi = 0u; mi < CHUNKS; mi++) {
            // A one-pass loop is not unrolled here: with one chunk, m is the constant 0 so
            // that the shifts and weight offsets below fold to constants.
            let m = select(mi, 0u, CHUNKS == 1u);
            // Element e of chunk m is word j = (4m + e) % CW of plane b = (4m + e) / CW.
            let word = vec4<u32>(4u * m) + vec4<u32>(0u, 1u, 2u, 3u);
            let sh = word / CW;
            var v0 = load_tap(row_base, row_inside, c0, m);
            var v1 = load_tap(row_base, row_inside, c0 + st, m);
            var v2 = load_tap(row_base, row_inside, c0 + 2 * st, m);
            var v3 = load_tap(row_base, row_inside, c0 + 3 * st, m);
            for (var kx = 0u; kx < KW; kx++) {
                if kx > 0u {
                    if STRIDE == 1u {
                        // Pixel i at tap kx reads column c0 + i + kx: slide by one.
                        v0 = v1;
                        v1 = v2;
                        v2 = v3;
                        v3 = load_tap(row_base, row_inside, c0 + 3 + i32(kx), m);
                    } else {
                        v0 = load_tap(row_base, row_inside, c0 + i32(kx), m);
                        v1 = load_tap(row_base, row_inside, c0 + st + i32(kx), m);
                        v2 = load_tap(row_base, row_inside, c0 + 2 * st + i32(kx), m);
                        v3 = load_tap(row_base, row_inside, c0 + 3 * st + i32(kx), m);
                    }
                }
                // T += sum_e popcount(a_e) << b_e, per pixel.
                t += vec4<u32>(dot(countOneBits(v0) << sh, vec4<u32>(1u)),
                               dot(countOneBits(v1) << sh, vec4<u32>(1u)),
                               dot(countOneBits(v2) << sh, vec4<u32>(1u)),
                               dot(countOneBits(v3) << sh, vec4<u32>(1u)));
                let tap_base = (bl.g * p.kh * KW + ky * KW + kx) * CW;
                let wi = (vec4<u32>(tap_base) + word % CW) * QV;
                mac(&b0, v0, v1, v2, v3, wi, sh, 0u);
                if QV > 1u { mac(&b1, v0, v1, v2, v3, wi, sh, 1u); }
                if QV > 2u { mac(&b2, v0, v1, v2, v3, wi, sh, 2u); }
                if QV > 3u { mac(&b3, v0, v1, v2, v3, wi, sh, 3u); }
                if QV > 4u { mac(&b4, v0, v1, v2, v3, wi, sh, 4u); }
                if QV > 5u { mac(&b5, v0, v1, v2, v3, wi, sh, 5u); }
                if QV > 6u { mac(&b6, v0, v1, v2, v3, wi, sh, 6u); }
                if QV > 7u { mac(&b7, v0, v1, v2, v3, wi, sh, 7u); }
                if QV > 8u { mac(&b8, v0, v1, v2, v3, wi, sh, 8u); }
                if QV > 9u { mac(&b9, v0, v1, v2, v3, wi, sh, 9u); }
                if QV > 10u { mac(&b10, v0, v1, v2, v3, wi, sh, 10u); }
                if QV > 11u { mac(&b11, v0, v1, v2, v3, wi, sh, 11u); }
                if QV > 12u { mac(&b12, v0, v1, v2, v3, wi, sh, 12u); }
                if QV > 13u { mac(&b13, v0, v1, v2, v3, wi, sh, 13u); }
                if QV > 14u { mac(&b14, v0, v1, v2, v3, wi, sh, 14u); }
                if QV > 15u { mac(&b15, v0, v1, v2, v3, wi, sh, 15u); }
            }
        }
    }
    return Sums(finish_deferred(b0), finish_deferred(b1), finish_deferred(b2),
                finish_deferred(b3), finish_deferred(b4), finish_deferred(b5),
                finish_deferred(b6), finish_deferred(b7), finish_deferred(b8),
                finish_deferred(b9), finish_deferred(b10), finish_deferred(b11),
                finish_deferred(b12), finish_deferred(b13), finish_deferred(b14),
                finish_deferred(b15), t);
}

// acc = 2 S - T for 4 channels of one pixel.
fn block_acc(s: vec4<u32>, t: u32) -> vec4<i32> {
    return 2 * vec4<i32>(s) - vec4<i32>(i32(t));
}

// Output pixel index of pixel i of the block, or none (past the row's end).
fn out_pixel(bl: Block, i: u32) -> u32 {
    return select(0xffffffffu, bl.row * p.wo + bl.ox0 + i, bl.ox0 + i < p.wo);
}

// ---- packed bit-plane output (threshold epilogues) ------------------------------------------

// Code bits of the packed output.
override KOUT: u32 = 2u;

@group(0) @binding(4) var<storage, read_write> out_bits: array<u32>;

// Bit b of the codes of 4 channels, placed at bits lane.x .. lane.w of one word.
fn plane_bits(code: vec4<u32>, b: u32, lane: vec4<u32>) -> u32 {
    let bits = ((code >> vec4<u32>(b)) & vec4<u32>(1u)) << lane;
    return bits.x | bits.y | bits.z | bits.w;
}

// Bit-planes of the block's 4 pixels (vec4 lanes): planes[2 b + jw] holds bit b of the codes
// of channels 32 jw .. 32 jw + 31 of the group.
struct Planes {
    w: array<vec4<u32>, 16>,
}

// Write the group's planes for the block's pixels. The group's channels o_base + g 4 QV ..
// + 4 QV - 1 start at a multiple of 32 (several groups only when 4 QV is 32 or 64), so its
// words are whole.
fn store_planes(bl: Block, planes: ptr<function, Planes>) {
    let words = (QV + 7u) / 8u;
    let word0 = (p.o_base + bl.g * QV * 4u) / 32u;
    for (var i = 0u; i < PB; i++) {
        let pix = out_pixel(bl, i);
        if pix == 0xffffffffu { break; }
        for (var b = 0u; b < KOUT; b++) {
            // The last group's second word does not exist when ceil(O / 32) is odd.
            for (var jw = 0u; jw < words && word0 + jw < p.ow; jw++) {
                out_bits[(pix * KOUT + b) * p.ow + word0 + jw] = (*planes).w[2u * b + jw][i];
            }
        }
    }
}
