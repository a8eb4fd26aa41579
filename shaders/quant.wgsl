// Activation quantizer, elementwise.
//   forward:  code = round(clamp(x, 0, max) * n / max)        (codes 0..n, stored as f32)
//             the quantized value is code * max / n; consumers fold the step max/n into
//             their scale so that convolutions sum exact integers.
//   backward: dx = dvalue * 1[0 < x < max]                      (straight-through estimator)
//#include _common

struct Params {
    n: u32,
    max_v: f32,
    scale: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 256u);
    if i >= p.n { return; }
    y[i] = quant_code(x[i], p.max_v, p.scale);
}

@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

// Bindings: p, x (pre-quantizer input), y = upstream gradient w.r.t. the quantized value
// (read only here), dx = output.
@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 256u);
    if i >= p.n { return; }
    dx[i] = y[i] * ste_mask(x[i], p.max_v);
}

// Same bindings as backward, with y = gradient w.r.t. the codes:
// dx = dcodes * scale * 1[0 < x < max]  (d code / dx = n / max on the open interval).
@compute @workgroup_size(256)
fn backward_codes(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 256u);
    if i >= p.n { return; }
    dx[i] = y[i] * p.scale * ste_mask(x[i], p.max_v);
}
