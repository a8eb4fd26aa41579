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

// src = a (pre-activation, output shape), other = block input codes; dst = out.
@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 256u);
    if i >= p.total { return; }
    let o = i % p.cout;
    let pix = i / p.cout;
    let x = pix % p.wo;
    let y = (pix / p.wo) % p.ho;
    let n = pix / (p.wo * p.ho);
    var s = 0.0;
    if o < p.cin {
        s = p.step * other[((n * p.h + y * p.stride) * p.w + x * p.stride) * p.cin + o];
    }
    dst[i] = src[i] + s;
}

// Backward binds p, src = dout (output shape), dcodes (input shape).
@group(0) @binding(2) var<storage, read_write> dcodes: array<f32>;

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 256u);
    if i >= p.total { return; }
    let c = i % p.cin;
    let pix = i / p.cin;
    let ix = pix % p.w;
    let iy = (pix / p.w) % p.h;
    let n = pix / (p.w * p.h);
    var g = 0.0;
    if iy % p.stride == 0u && ix % p.stride == 0u {
        g = p.step * src[((n * p.ho + iy / p.stride) * p.wo + ix / p.stride) * p.cout + c];
    }
    dcodes[i] = g;
}
