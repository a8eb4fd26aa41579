// Weight packing for the register-blocked convolution (conv_tiled.wgsl): one output
// channel group of a convolution, laid out so that a uniform-buffer read at one address
// gives four neighbouring output channels of one tap and input channel:
//   wg[((ky * KW + kx) * CN + (ci - c0)) * OG + j] = weight of output channel g0 + j,
//   tap (ky, kx), input channel ci, for the input channels c0 .. c0 + CN - 1 of one chunk.
// Two views of w [O,KH,KW,C]:
//   flip = 0 (forward):        CIN = C, outputs are o:  w[g0 + j, ky, kx, ci]
//   flip = 1 (backward data):  CIN = O, outputs are c:  w[ci, KH-1-ky, KW-1-kx, g0 + j]
//     (the gradient w.r.t. the input of a stride-1 convolution is a convolution of dy with
//     the weights flipped in space and transposed in channels, padding KH - 1 - pad).
// Entries of the group past the last channel are written as zero.
//#include _common

struct Params {
    o: u32,
    kh: u32,
    kw: u32,
    c: u32,
    // First channel of the group, channels per group, flip (0 or 1), entries in all.
    g0: u32,
    og: u32,
    flip: u32,
    total: u32,
    // Input channel chunk: first channel and count.
    c0: u32,
    cn: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> wg: array<f32>;

@compute @workgroup_size(64)
fn pack_group(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.total {
        return;
    }
    let cout = select(p.o, p.c, p.flip == 1u);
    let j = i % p.og;
    let ci = p.c0 + (i / p.og) % p.cn;
    let tap = i / (p.og * p.cn);
    let kx = tap % p.kw;
    let ky = tap / p.kw;
    let g = p.g0 + j;
    var v = 0.0;
    if g < cout {
        if p.flip == 1u {
            v = w[((ci * p.kh + (p.kh - 1u - ky)) * p.kw + (p.kw - 1u - kx)) * p.c + g];
        } else {
            v = w[((g * p.kh + ky) * p.kw + kx) * p.c + ci];
        }
    }
    wg[i] = v;
}
