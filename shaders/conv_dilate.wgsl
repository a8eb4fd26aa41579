// Dilation of the upstream gradient for the strided gradient w.r.t. the input:
//   dd[n, u, v, o] = dy[n, u/S, v/S, o] if u % S == 0 and v % S == 0, else 0,
// for u < Ho*S, v < Wo*S (rows past (Ho-1)*S are zero). The gradient of a stride-S convolution is then
// the stride-1 convolution of dd with the flipped, transposed weights.
//#include _common

struct Params {
    ho: u32,
    wo: u32,
    o: u32,
    s: u32,
    // Dilated rows and columns, entries of dd in all.
    hd: u32,
    wd: u32,
    total: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dd: array<f32>;

@compute @workgroup_size(64)
fn dilate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.total {
        return;
    }
    let o = i % p.o;
    let v = (i / p.o) % p.wd;
    let u = (i / (p.o * p.wd)) % p.hd;
    let n = i / (p.o * p.wd * p.hd);
    var val = 0.0;
    if u % p.s == 0u && v % p.s == 0u {
        val = dy[((n * p.ho + u / p.s) * p.wo + v / p.s) * p.o + o];
    }
    dd[i] = val;
}
