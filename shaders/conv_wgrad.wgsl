// Gradient of a float convolution w.r.t. its weights, in two deterministic passes:
//   dw[o,ky,kx,c] = sum_{n,oy,ox} dy[n,oy,ox,o] * x[n, oy*S+ky-pad, ox*S+kx-pad, c]
// The sum over the N*Ho*Wo output pixels is split into chunks of consecutive pixels:
//   partial (here): part[k][o][ky][kx][c] = the sum over chunk k (pixels in increasing order);
//   reduce (conv_reduce.wgsl): dw[i] = part[0][i] + part[1][i] + ... (chunks in order).
// No atomics; two runs give the same bits.
//
// `partial` runs once per chunk. The chunk's rows of dy (O floats per pixel, O % 4 == 0)
// are bound as a uniform window, so every lane reads them at the same address, while x is
// read per lane. One invocation owns 16 output channels x one tap x 4 input channels.
//#include _common

override S: u32 = 1u;

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
    // This chunk: first output pixel, pixel count, index; vec4 index in dy of the window's
    // first entry.
    p0: u32,
    count: u32,
    chunk: u32,
    win_vec0: u32,
    // Invocations: ceil(o/16) groups * taps * ceil(c/4).
    total: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// 64 KiB of dy (the [N*Ho*Wo, O] matrix) from vec4 entry win_vec0 on.
@group(0) @binding(2) var<uniform> dyw: array<vec4<f32>, 4096>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;

@compute @workgroup_size(64)
fn partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let t_raw = linear_index(wid, nwg, lid, 64u);
    let live = t_raw < p.total;
    let t = min(t_raw, p.total - 1u);
    let cq = (p.c + 3u) / 4u;
    let c0 = (t % cq) * 4u;
    let tap = (t / cq) % (p.kh * p.kw);
    let g = t / (cq * p.kh * p.kw);
    let ky = tap / p.kw;
    let kx = tap % p.kw;
    let o4 = p.o / 4u;

    // acc[q][j] = dw[16g + 4q .. 16g + 4q + 3, ky, kx, c0 + j] over this chunk
    var acc: array<array<vec4<f32>, 4>, 4>;
    for (var i = 0u; i < p.count; i++) {
        let pix = p.p0 + i;
        let ox = pix % p.wo;
        let oy = (pix / p.wo) % p.ho;
        let n = pix / (p.wo * p.ho);
        let iy = i32(oy * S + ky) - i32(p.pad);
        let ix = i32(ox * S + kx) - i32(p.pad);
        let inside = iy >= 0 && iy < i32(p.h) && ix >= 0 && ix < i32(p.w);
        let xb = ((n * p.h + u32(clamp(iy, 0, i32(p.h) - 1))) * p.w
            + u32(clamp(ix, 0, i32(p.w) - 1))) * p.c;
        // x[n, iy, ix, c0 .. c0 + 3], zero outside the image and past C
        let xv = vec4<f32>(
            select(0.0, x[xb + min(c0, p.c - 1u)], inside),
            select(0.0, x[xb + min(c0 + 1u, p.c - 1u)], inside && c0 + 1u < p.c),
            select(0.0, x[xb + min(c0 + 2u, p.c - 1u)], inside && c0 + 2u < p.c),
            select(0.0, x[xb + min(c0 + 3u, p.c - 1u)], inside && c0 + 3u < p.c),
        );
        let db = pix * o4 + 4u * g - p.win_vec0;
        for (var q = 0u; q < 4u; q++) {
            // dy[pix, 16g + 4q .. 16g + 4q + 3]
            let d = dyw[db + q];
            acc[q][0] += d * xv.x;
            acc[q][1] += d * xv.y;
            acc[q][2] += d * xv.z;
            acc[q][3] += d * xv.w;
        }
    }
    // part[chunk][o][ky][kx][c]
    let k = p.kh * p.kw * p.c;
    let base = p.chunk * p.o * k + tap * p.c + c0;
    for (var q = 0u; q < 4u; q++) {
        let o = 16u * g + 4u * q;
        for (var j = 0u; j < 4u; j++) {
            let v = acc[q][j];
            let ok = live && c0 + j < p.c && o < p.o;
            if ok {
                part[base + o * k + j] = v.x;
                part[base + (o + 1u) * k + j] = v.y;
                part[base + (o + 2u) * k + j] = v.z;
                part[base + (o + 3u) * k + j] = v.w;
            }
        }
    }
}

