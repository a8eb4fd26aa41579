// Pooling over NHWC activations, no padding: k x k windows at `stride`, fully inside the
// image; ho = (h - k) / stride + 1, wo likewise.
//
//   max forward:  y[n,oh,ow,c] = max over the window, argmax = flat input index of the first
//                 maximum in scan order (window row, then column): later equal values lose.
//   max backward: dx[i] = sum of dy[o] over the outputs o whose argmax is i, added in (oh, ow)
//                 order by one invocation per (image, channel) column (no atomics).
//   avg forward:  y = sum over the window / (k * k)
//   avg backward: dx[i] = sum of dy[o] over the windows containing i, / (k * k)
//   global avg:   y[n, c] = sum_{h,w} x[n,h,w,c] / (h * w);  dx[n,h,w,c] = dy[n, c] / (h * w)
//#include _common

struct Params {
    n: u32,
    h: u32,
    w: u32,
    c: u32,
    ho: u32,
    wo: u32,
    k: u32,
    stride: u32,
    // Invocations of the dispatch (outputs or inputs, depending on the entry point).
    total: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;

// Output element i -> flat input index of its window's top-left corner (same channel).
fn window_origin(i: u32) -> u32 {
    let ch = i % p.c;
    let pix = i / p.c;
    let ow = pix % p.wo;
    let t = pix / p.wo;
    let oh = t % p.ho;
    let b = t / p.ho;
    return ((b * p.h + oh * p.stride) * p.w + ow * p.stride) * p.c + ch;
}

// Range [lo, hi) of output positions along one axis whose window covers input position x:
// o * stride <= x <= o * stride + k - 1  <=>  ceil((x - k + 1) / stride) <= o <= x / stride.
fn covering(x: u32, out_len: u32) -> vec2<u32> {
    var lo = 0u;
    if x + 1u > p.k {
        lo = (x + 1u - p.k + p.stride - 1u) / p.stride;
    }
    let hi = min(x / p.stride + 1u, out_len);
    return vec2<u32>(lo, max(lo, hi));
}

// ---- max forward ----
@group(0) @binding(1) var<storage, read> mf_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> mf_y: array<f32>;
@group(0) @binding(3) var<storage, read_write> mf_arg: array<i32>;

@compute @workgroup_size(WG)
fn max_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, WG);
    if i >= p.total { return; }
    let origin = window_origin(i);
    var best = mf_x[origin];
    var best_i = origin;
    for (var kh = 0u; kh < p.k; kh++) {
        for (var kw = 0u; kw < p.k; kw++) {
            let j = origin + (kh * p.w + kw) * p.c;
            let v = mf_x[j];
            // Strictly greater: the first maximum in scan order wins ties.
            let take = v > best;
            best = select(best, v, take);
            best_i = select(best_i, j, take);
        }
    }
    mf_y[i] = best;
    mf_arg[i] = i32(best_i);
}

// Input element i -> (b, ih, iw, ch).
fn input_coords(i: u32) -> vec4<u32> {
    let ch = i % p.c;
    let pix = i / p.c;
    let iw = pix % p.w;
    let t = pix / p.w;
    return vec4<u32>(t / p.h, t % p.h, iw, ch);
}

// ---- max backward: one invocation per (image, channel) column ----
// Walks that column's outputs in (oh, ow) order and adds dy[o] into dx[argmax[o]]
// (dx cleared beforehand). An argmax stays in its output's image and channel, so columns
// touch disjoint elements of dx; within a column the order is fixed, so each dx[i] is the
// sum of the dy of the windows whose argmax is i, in (oh, ow) order: no atomics, and no
// need to know the window size or stride.
@group(0) @binding(1) var<storage, read> mb_dy: array<f32>;
@group(0) @binding(2) var<storage, read> mb_arg: array<i32>;
@group(0) @binding(3) var<storage, read_write> mb_dx: array<f32>;

@compute @workgroup_size(WG)
fn max_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, WG);
    if id >= p.total { return; }
    let b = id / p.c;
    let ch = id - b * p.c;
    let outputs = p.ho * p.wo;
    for (var q = 0u; q < outputs; q++) {
        let o = (b * outputs + q) * p.c + ch;
        let i = u32(mb_arg[o]);
        // dx[argmax[o]] += dy[o]
        mb_dx[i] = mb_dx[i] + mb_dy[o];
    }
}

// ---- average forward ----
@group(0) @binding(1) var<storage, read> af_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> af_y: array<f32>;

@compute @workgroup_size(WG)
fn avg_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, WG);
    if i >= p.total { return; }
    let origin = window_origin(i);
    var s = 0.0;
    for (var kh = 0u; kh < p.k; kh++) {
        for (var kw = 0u; kw < p.k; kw++) {
            s += af_x[origin + (kh * p.w + kw) * p.c];
        }
    }
    // y = sum / (k * k)
    af_y[i] = s / f32(p.k * p.k);
}

// ---- average backward (gather) ----
@group(0) @binding(1) var<storage, read> ab_dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> ab_dx: array<f32>;

@compute @workgroup_size(WG)
fn avg_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, WG);
    if i >= p.total { return; }
    let q = input_coords(i);
    let rh = covering(q.y, p.ho);
    let rw = covering(q.z, p.wo);
    var s = 0.0;
    for (var oh = rh.x; oh < rh.y; oh++) {
        for (var ow = rw.x; ow < rw.y; ow++) {
            s += ab_dy[((q.x * p.ho + oh) * p.wo + ow) * p.c + q.w];
        }
    }
    // dx = (sum of covering dy) / (k * k)
    ab_dx[i] = s / f32(p.k * p.k);
}

// ---- global average forward: one invocation per (n, c), pixels in order ----
@group(0) @binding(1) var<storage, read> gf_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> gf_y: array<f32>;

@compute @workgroup_size(WG)
fn global_avg_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, WG);
    if i >= p.total { return; }
    let b = i / p.c;
    let ch = i - b * p.c;
    let hw = p.h * p.w;
    var s = 0.0;
    for (var q = 0u; q < hw; q++) {
        s += gf_x[(b * hw + q) * p.c + ch];
    }
    // y = sum / (h * w)
    gf_y[i] = s / f32(hw);
}

// ---- global average backward: dx[n,h,w,c] = dy[n,c] / (h * w) ----
@group(0) @binding(1) var<storage, read> gb_dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> gb_dx: array<f32>;

@compute @workgroup_size(WG)
fn global_avg_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, WG);
    if i >= p.total { return; }
    let ch = i % p.c;
    let b = i / (p.h * p.w * p.c);
    gb_dx[i] = gb_dy[b * p.c + ch] / f32(p.h * p.w);
}
