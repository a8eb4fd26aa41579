// Parameter-free residual shortcut ("option A" of He et al.): the block input's codes,
// subsampled by the block stride and zero-padded to the output channel count, scaled to
// values (code * step) and added to the block's pre-activation:
//   forward:  out[n,y,x,o] = a[n,y,x,o] + (o < Cin ? step * codes[n, y*s, x*s, o] : 0)
//   backward: dcodes[n,iy,ix,c] = (iy % s == 0 && ix % s == 0) ? step * dout[n, iy/s, ix/s, c] : 0
//             (da = dout passes through unchanged)
//#include _common

struct Params {
    n: u32, h: u32, w: u32, cin: u32,
    ho: u32, wo: u32, cout: u32, stride: u32,
    step: f32, total: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> other: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

// One invocation per output pixel, looping over its channels: the pixel's coordinates take
// three integer divisions once per pixel instead of four per element (a run-time division is
// a scalar instruction per lane on CPU adapters).
// src = a (pre-activation, output shape), other = block input codes; dst = out.
@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let pix = linear_index(wid, nwg, lid, 256u);
    if pix >= p.total { return; }
    let x = pix % p.wo;
    let y = (pix / p.wo) % p.ho;
    let n = pix / (p.wo * p.ho);
    let base = pix * p.cout;
    let ibase = ((n * p.h + y * p.stride) * p.w + x * p.stride) * p.cin;
    for (var o = 0u; o < p.cin; o++) {
        dst[base + o] = src[base + o] + p.step * other[ibase + o];
    }
    for (var o = p.cin; o < p.cout; o++) {
        dst[base + o] = src[base + o];
    }
}

// Backward binds p, src = dout (output shape), dcodes (input shape). One invocation per
// input pixel, looping over its channels.
@group(0) @binding(2) var<storage, read_write> dcodes: array<f32>;

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let pix = linear_index(wid, nwg, lid, 256u);
    if pix >= p.total { return; }
    let ix = pix % p.w;
    let iy = (pix / p.w) % p.h;
    let n = pix / (p.w * p.h);
    let base = pix * p.cin;
    if iy % p.stride == 0u && ix % p.stride == 0u {
        let obase = ((n * p.ho + iy / p.stride) * p.wo + ix / p.stride) * p.cout;
        for (var c = 0u; c < p.cin; c++) {
            dcodes[base + c] = p.step * src[obase + c];
        }
    } else {
        for (var c = 0u; c < p.cin; c++) {
            dcodes[base + c] = 0.0;
        }
    }
}
