// Float convolution, general kernels: any kernel size, stride, padding and channel counts.
// One invocation per output element; sums run in a fixed order, so results are
// deterministic. The fast paths (conv_tiled, conv_wgrad) cover the common shapes.
// Layouts (src/ops/layout.rs): x [N,H,W,C], w [O,KH,KW,C], y/dy [N,Ho,Wo,O], all f32.
//#include _common

struct Params {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    ho: u32,
    wo: u32,
    o: u32,
    pad: u32,
    kh: u32,
    kw: u32,
    stride: u32,
    // Elements of the output of this entry point.
    total: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// Bindings: a = x, b = w, out = y.
// y[n,oy,ox,o] = sum_{ky,kx,c} x[n, oy*s+ky-pad, ox*s+kx-pad, c] * w[o,ky,kx,c]
@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.total {
        return;
    }
    let o = i % p.o;
    let ox = (i / p.o) % p.wo;
    let oy = (i / (p.o * p.wo)) % p.ho;
    let n = i / (p.o * p.wo * p.ho);
    var acc = 0.0;
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = i32(oy * p.stride + ky) - i32(p.pad);
        if iy < 0 || iy >= i32(p.h) {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = i32(ox * p.stride + kx) - i32(p.pad);
            if ix < 0 || ix >= i32(p.w) {
                continue;
            }
            let xb = ((n * p.h + u32(iy)) * p.w + u32(ix)) * p.c;
            let wb = ((o * p.kh + ky) * p.kw + kx) * p.c;
            for (var c = 0u; c < p.c; c++) {
                acc = fma(a[xb + c], b[wb + c], acc);
            }
        }
    }
    out[i] = acc;
}

// Bindings: a = dy, b = w, out = dx.
// dx[n,iy,ix,c] = sum_{ky,kx,o} dy[n,oy,ox,o] * w[o,ky,kx,c] over the output positions with
// oy*s + ky - pad = iy and ox*s + kx - pad = ix, i.e. oy = (iy + pad - ky) / s when that
// divides exactly and 0 <= oy < Ho (same for x).
@compute @workgroup_size(64)
fn backward_data(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.total {
        return;
    }
    let c = i % p.c;
    let ix = (i / p.c) % p.w;
    let iy = (i / (p.c * p.w)) % p.h;
    let n = i / (p.c * p.w * p.h);
    var acc = 0.0;
    for (var ky = 0u; ky < p.kh; ky++) {
        let ty = i32(iy + p.pad) - i32(ky);
        if ty < 0 || u32(ty) % p.stride != 0u || u32(ty) / p.stride >= p.ho {
            continue;
        }
        let oy = u32(ty) / p.stride;
        for (var kx = 0u; kx < p.kw; kx++) {
            let tx = i32(ix + p.pad) - i32(kx);
            if tx < 0 || u32(tx) % p.stride != 0u || u32(tx) / p.stride >= p.wo {
                continue;
            }
            let ox = u32(tx) / p.stride;
            let db = ((n * p.ho + oy) * p.wo + ox) * p.o;
            for (var o = 0u; o < p.o; o++) {
                acc = fma(a[db + o], b[((o * p.kh + ky) * p.kw + kx) * p.c + c], acc);
            }
        }
    }
    out[i] = acc;
}

// Bindings: a = x, b = dy, out = dw.
// dw[o,ky,kx,c] = sum_{n,oy,ox} dy[n,oy,ox,o] * x[n, oy*s+ky-pad, ox*s+kx-pad, c],
// summed in the order n, oy, ox.
@compute @workgroup_size(64)
fn backward_weight(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.total {
        return;
    }
    let c = i % p.c;
    let kx = (i / p.c) % p.kw;
    let ky = (i / (p.c * p.kw)) % p.kh;
    let o = i / (p.c * p.kw * p.kh);
    var acc = 0.0;
    for (var n = 0u; n < p.n; n++) {
        for (var oy = 0u; oy < p.ho; oy++) {
            let iy = i32(oy * p.stride + ky) - i32(p.pad);
            if iy < 0 || iy >= i32(p.h) {
                continue;
            }
            for (var ox = 0u; ox < p.wo; ox++) {
                let ix = i32(ox * p.stride + kx) - i32(p.pad);
                if ix < 0 || ix >= i32(p.w) {
                    continue;
                }
                let d = b[((n * p.ho + oy) * p.wo + ox) * p.o + o];
                acc = fma(d, a[((n * p.h + u32(iy)) * p.w + u32(ix)) * p.c + c], acc);
            }
        }
    }
    out[i] = acc;
}
