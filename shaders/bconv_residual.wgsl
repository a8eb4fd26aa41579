// Bitwise convolution, register-blocked fast path, fused with the residual thresholds of the
// integer engine (the unfused rule: residual_threshold.wgsl; reference:
// src/reference/lut.rs::residual_threshold). A residual block's second conv ends in
//   code = q(BN(acc) + step * s)
// with s the block input's code of the same channel at (oy RSTRIDE, ox RSTRIDE) (option-A
// shortcut: s = 0 for channels o >= cin). For each s this is monotonic in acc, so it is a
// threshold row per (channel, s): th[o][s][0..n) and flag[o][s]:
//   flag 1: #{ i : acc >= th_i };  flag -1: #{ i : acc <= th_i };  flag 0: th_0 (constant).
// s differs per pixel and channel, so every row is read at a constant index (a broadcast
// from the uniform buffer) and the lane's row is picked with selects: n (n + 1) selects and
// 2 n compares per 4 channels, instead of per-lane gathers.
//#include _bconv_block

// Subsampling of the shortcut: output pixel (oy, ox) reads block input pixel
// (oy RSTRIDE, ox RSTRIDE).
override RSTRIDE: u32 = 1u;

struct Shortcut {
    // Block input [N, in_h, in_w, KOUT, cinw] and its channel count.
    in_h: u32,
    in_w: u32,
    cin: u32,
    cinw: u32,
}

// Staged rows (bconv_stage.wgsl::stage_residual): channel block c = g QV + q, row s owns the
// n + 1 elements from (c (n + 1) + s) (n + 1): element 0 the flags of its 4 channels,
// element 1 + i their threshold i.
@group(0) @binding(5) var<uniform> rth_u: array<vec4<u32>, 4096>;
@group(0) @binding(6) var<storage, read> xin: array<u32>;
@group(0) @binding(7) var<uniform> sc: Shortcut;

// Word jw of the group's channels in plane b of the block input at output pixel i of the
// block, as lane i: planes.w[2 b + jw]. Words past the input's channels read as zero.
fn shortcut_words(bl: Block) -> Planes {
    var words: Planes;
    let n = bl.row / p.ho;
    let oy = bl.row % p.ho;
    let word0 = (p.o_base + bl.g * QV * 4u) / 32u;
    let nw = (QV + 7u) / 8u;
    for (var i = 0u; i < PB; i++) {
        let ox = bl.ox0 + i;
        if ox >= p.wo { break; }
        let base = ((n * sc.in_h + oy * RSTRIDE) * sc.in_w + ox * RSTRIDE) * KOUT * sc.cinw;
        for (var b = 0u; b < KOUT; b++) {
            for (var jw = 0u; jw < nw; jw++) {
                if word0 + jw < sc.cinw {
                    words.w[2u * b + jw][i] = xin[base + b * sc.cinw + word0 + jw];
                }
            }
        }
    }
    return words;
}

// Shortcut codes of channels 4q .. 4q + 3 of the group for pixel i (0 past cin).
fn shortcut4(bl: Block, words: ptr<function, Planes>, q: u32, i: u32) -> vec4<u32> {
    let lane = vec4<u32>((4u * q) % 32u) + vec4<u32>(0u, 1u, 2u, 3u);
    var s = vec4<u32>();
    for (var b = 0u; b < KOUT; b++) {
        s |= ((vec4<u32>((*words).w[2u * b + q / 8u][i]) >> lane) & vec4<u32>(1u)) << vec4<u32>(b);
    }
    let o = vec4<u32>(p.o_base + (bl.g * QV + q) * 4u) + vec4<u32>(0u, 1u, 2u, 3u);
    return select(vec4<u32>(), s, o < vec4<u32>(sc.cin));
}

// Element `slot` of row s for every s, each lane taking the row of its own shortcut code.
fn pick(c: u32, slot: u32, s: vec4<u32>) -> vec4<i32> {
    let levels = (1u << KOUT) - 1u;
    let base = c * (levels + 1u) * (levels + 1u) + slot;
    var v = bitcast<vec4<i32>>(rth_u[base]);
    for (var r = 1u; r <= levels; r++) {
        v = select(v, bitcast<vec4<i32>>(rth_u[base + r * (levels + 1u)]), s == vec4<u32>(r));
    }
    return v;
}

// Codes of 4 channels (channel block c) of one pixel with shortcut codes s.
fn residual_codes4(acc: vec4<i32>, s: vec4<u32>, c: u32) -> vec4<u32> {
    let levels = (1u << KOUT) - 1u;
    var up = vec4<u32>();
    var down = vec4<u32>();
    for (var i = 0u; i < levels; i++) {
        let t = pick(c, 1u + i, s);
        up += select(vec4<u32>(), vec4<u32>(1u), acc >= t);
        down += select(vec4<u32>(), vec4<u32>(1u), acc <= t);
    }
    let flag = pick(c, 0u, s);
    let constant = bitcast<vec4<u32>>(pick(c, 1u, s));
    return select(select(down, up, flag > vec4<i32>(0)), constant, flag == vec4<i32>(0));
}

// Codes of channel block q of the 4 pixels, ORed into the planes.
fn pack_residual(bl: Block, a: Px4, t: vec4<u32>, q: u32, words: ptr<function, Planes>,
                 planes: ptr<function, Planes>) {
    let c = bl.g * QV + q;
    let c0 = residual_codes4(block_acc(a.p0, t.x), shortcut4(bl, words, q, 0u), c);
    let c1 = residual_codes4(block_acc(a.p1, t.y), shortcut4(bl, words, q, 1u), c);
    let c2 = residual_codes4(block_acc(a.p2, t.z), shortcut4(bl, words, q, 2u), c);
    let c3 = residual_codes4(block_acc(a.p3, t.w), shortcut4(bl, words, q, 3u), c);
    let lane = vec4<u32>((4u * q) % 32u) + vec4<u32>(0u, 1u, 2u, 3u);
    for (var b = 0u; b < KOUT; b++) {
        (*planes).w[2u * b + q / 8u] |= vec4<u32>(plane_bits(c0, b, lane), plane_bits(c1, b, lane),
                                                  plane_bits(c2, b, lane), plane_bits(c3, b, lane));
    }
}

@compute @workgroup_size(64)
fn forward_residual(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let bl = block_of(wid, nwg, lid);
    if !bl.valid { return; }
    var s = block_sums(bl);
    var words = shortcut_words(bl);
    var planes: Planes;
    for (var q = 0u; q < QV; q++) {
        pack_residual(bl, block(&s, q), s.t, q, &words, &planes);
    }
    store_planes(bl, &planes);
}
