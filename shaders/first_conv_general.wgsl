// Fused float first layer, general path (any kernel size, channel count and code width, no
// uniform-buffer size requirement): the same math as first_conv.wgsl with folded weights
// w' and thresholds t' read from storage buffers,
//   code_o = #{ j : sum_{ky,kx,c} w'[o,ky,kx,c] (v - m_c) >= t'_oj }   (padding: v - m_c = 0),
// one invocation per (output pixel, output word): it computes the word's 32 channels and
// writes that word of every plane. Slow; the fast path covers the usual shapes.
//#include _common

struct Params {
    h: u32,
    w: u32,
    ho: u32,
    wo: u32,
    c: u32,
    k: u32,
    stride: u32,
    pad: u32,
    o: u32,
    // Words per plane ceil(O / 32), code bits, thresholds per channel 2^bits - 1.
    ow: u32,
    bits: u32,
    levels: u32,
    // Invocations: output pixels x ow.
    total: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    // m_c = 255 mean_c per input channel.
    mean: array<vec4<f32>, 64>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pixels: array<u32>;
// w'[(o K + ky) K + kx) C + c] and t'[o levels + j].
@group(0) @binding(2) var<storage, read> wf: array<f32>;
@group(0) @binding(3) var<storage, read> tf: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

fn pixel_byte(e: u32) -> u32 {
    return (pixels[e >> 2u] >> ((e & 3u) * 8u)) & 0xffu;
}

@compute @workgroup_size(64)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, 64u);
    if id >= p.total { return; }
    let jw = id % p.ow;
    let pix = id / p.ow;
    let ox = pix % p.wo;
    let oy = (pix / p.wo) % p.ho;
    let n = pix / (p.wo * p.ho);
    let taps = p.k * p.k * p.c;
    var planes = array<u32, 8>();
    for (var l = 0u; l < 32u; l++) {
        let o = jw * 32u + l;
        if o >= p.o { break; }
        var acc = 0.0;
        for (var ky = 0u; ky < p.k; ky++) {
            let iy = i32(oy * p.stride + ky) - i32(p.pad);
            if iy < 0 || iy >= i32(p.h) { continue; }
            for (var kx = 0u; kx < p.k; kx++) {
                let ix = i32(ox * p.stride + kx) - i32(p.pad);
                if ix < 0 || ix >= i32(p.w) { continue; }
                let base = ((n * p.h + u32(iy)) * p.w + u32(ix)) * p.c;
                let wb = o * taps + (ky * p.k + kx) * p.c;
                for (var c = 0u; c < p.c; c++) {
                    let v = f32(pixel_byte(base + c)) - p.mean[c / 4u][c % 4u];
                    acc = fma(wf[wb + c], v, acc);
                }
            }
        }
        var code = 0u;
        for (var j = 0u; j < p.levels; j++) {
            code += select(0u, 1u, acc >= tf[o * p.levels + j]);
        }
        for (var b = 0u; b < p.bits; b++) {
            planes[b] |= ((code >> b) & 1u) << l;
        }
    }
    for (var b = 0u; b < p.bits; b++) {
        out[(pix * p.bits + b) * p.ow + jw] = planes[b];
    }
}
