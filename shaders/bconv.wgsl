// Bitwise convolution, general kernel: 1-bit weights x k-bit activations, any shape.
// One invocation per output element (n, oy, ox, o); every operand is read from storage.
//
//   acc = sum over taps (ky, kx) with (iy, ix) = (oy s - pad + ky, ox s - pad + kx) inside
//         the image, over bit-planes b and words j, of
//         2^b (2 popcount(a_bj & w_j) - popcount(a_bj))
// a_bj: word j of plane b of input pixel (n, iy, ix) (layout [N, H, W, k, Cw]);
// w_j: word j of weight row (o, ky, kx) (layout [O, KH, KW, Cw], bit 1 = +1, 0 = -1).
// Taps outside the image are skipped (exact zero padding). With S = sum 2^b popcount(a & w)
// and T = sum 2^b popcount(a), acc = 2 S - T.
//#include _common

struct Params {
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    o: u32,
    cw: u32,
    bits: u32,
    kh: u32,
    kw: u32,
    stride: u32,
    pad: u32,
    // Output elements N * Ho * Wo * O.
    total: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> wt: array<u32>;

// The accumulator of output element i = ((n Ho + oy) Wo + ox) O + o.
fn accumulate(i: u32) -> i32 {
    let o = i % p.o;
    let pix = i / p.o;
    let ox = pix % p.wo;
    let oy = (pix / p.wo) % p.ho;
    let n = pix / (p.wo * p.ho);
    var s = 0u;
    var t = 0u;
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = i32(oy * p.stride + ky) - i32(p.pad);
        if iy < 0 || iy >= i32(p.h) { continue; }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = i32(ox * p.stride + kx) - i32(p.pad);
            if ix < 0 || ix >= i32(p.w) { continue; }
            let a_base = ((n * p.h + u32(iy)) * p.w + u32(ix)) * p.bits * p.cw;
            let w_base = ((o * p.kh + ky) * p.kw + kx) * p.cw;
            for (var b = 0u; b < p.bits; b++) {
                for (var j = 0u; j < p.cw; j++) {
                    let a = x[a_base + b * p.cw + j];
                    // S += 2^b popcount(a & w), T += 2^b popcount(a)
                    s += countOneBits(a & wt[w_base + j]) << b;
                    t += countOneBits(a) << b;
                }
            }
        }
    }
    return 2 * i32(s) - i32(t);
}

@group(0) @binding(3) var<storage, read_write> out_i32: array<i32>;

@compute @workgroup_size(64)
fn forward_i32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.total { return; }
    out_i32[i] = accumulate(i);
}

@group(0) @binding(3) var<storage, read_write> out_f32: array<f32>;
@group(0) @binding(4) var<storage, read> scale: array<f32>;

// y = f32(acc) * scale[o]: one rounding (acc is exact in f32 below 2^24).
@compute @workgroup_size(64)
fn forward_scaled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.total { return; }
    out_f32[i] = f32(accumulate(i)) * scale[i % p.o];
}
