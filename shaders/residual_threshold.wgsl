// Integer residual unit of the inference engine. A residual block's second conv ends in
//   code = q(BN(acc) + step * s),  s = the block input's code at the subsampled position
//                                      (0 for zero-padded channels o >= Cin)
// which, for each fixed s, is monotonic in the integer accumulator acc. So it folds into
// thresholds per (channel o, shortcut code s): th[o][s][0..n) ascending and a flag:
//   flag  1: code = #{ j : acc >= th[o][s][j] }
//   flag -1: code = #{ j : acc <= th[o][s][j] }
//   flag  0: code = th[o][s][0]  (constant)
// Output: the next layer's packed bit-planes (layout: src/ops/layout.rs).
//#include _common

struct Params {
    n: u32, ho: u32, wo: u32, o: u32,
    h: u32, w: u32, cin: u32, stride: u32,
    bits: u32,      // activation bits k (codes 0..n, n = 2^k - 1), in and out
    ow: u32,        // output words per plane = ceil(O / 32)
    cinw: u32,      // input words per plane = ceil(Cin / 32)
    total: u32,     // N * Ho * Wo * ow
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> acc: array<i32>;        // [N,Ho,Wo,O]
@group(0) @binding(2) var<storage, read> xin: array<u32>;        // packed [N,H,W,k,Cinw]
@group(0) @binding(3) var<storage, read> th: array<i32>;         // [O, n+1, n]
@group(0) @binding(4) var<storage, read> flags: array<i32>;      // [O, n+1]
@group(0) @binding(5) var<storage, read_write> out: array<u32>;  // packed [N,Ho,Wo,k,Ow]

fn input_code(n: u32, y: u32, x: u32, c: u32) -> u32 {
    if c >= p.cin { return 0u; }
    let base = ((n * p.h + y * p.stride) * p.w + x * p.stride) * p.bits * p.cinw;
    var code = 0u;
    for (var b = 0u; b < p.bits; b++) {
        code |= ((xin[base + b * p.cinw + c / 32u] >> (c % 32u)) & 1u) << b;
    }
    return code;
}

// One invocation per (output pixel, word j): the 32 codes of the word are computed once and
// written as all k planes.
@compute @workgroup_size(64)
fn apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.total { return; }
    let j = i % p.ow;
    let pix = i / p.ow;
    let x = pix % p.wo;
    let y = (pix / p.wo) % p.ho;
    let n = pix / (p.wo * p.ho);
    let levels = (1u << p.bits) - 1u;
    var planes: array<u32, 8>;
    for (var b = 0u; b < 8u; b++) { planes[b] = 0u; }
    for (var bit = 0u; bit < 32u; bit++) {
        let o = j * 32u + bit;
        if o >= p.o { break; }
        let a = acc[pix * p.o + o];
        let s = input_code(n, y, x, o);
        let row = o * (levels + 1u) + s;
        let flag = flags[row];
        var code = 0u;
        if flag == 0 {
            code = u32(th[row * levels]);
        } else {
            for (var t = 0u; t < levels; t++) {
                let v = th[row * levels + t];
                code += select(u32(a <= v), u32(a >= v), flag > 0);
            }
        }
        for (var b = 0u; b < p.bits; b++) {
            planes[b] |= ((code >> b) & 1u) << bit;
        }
    }
    let base = pix * p.bits * p.ow + j;
    for (var b = 0u; b < p.bits; b++) {
        out[base + b * p.ow] = planes[b];
    }
}
