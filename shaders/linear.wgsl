// Fully connected layer as one strided matrix product (x [N, I], w [O, I], row-major):
//
//   out[m, j] = sum_k A[m, k] * B[k, j]  (+ bias[j])
//   A[m, k] = a[m * a_m + k * a_k],  B[k, j] = b[k * b_k + j * b_j]
//
//   forward  y  [N, O] = x w^T:  A = x  (a_m = I, a_k = 1),  B = w^T (b_k = 1, b_j = I)
//   backward dx [N, I] = dy w:   A = dy (a_m = O, a_k = 1),  B = w   (b_k = I, b_j = 1)
//   backward dw [O, I] = dy^T x: A = dy^T (a_m = 1, a_k = O), B = x  (b_k = I, b_j = 1)
//
// Each invocation computes an 8 x 8 block of outputs (register blocking) and sums k in
// order 0..K-1, so every output is a fixed-order sum (deterministic, no atomics). Rows and
// columns past the edge read a clamped (valid) index and are not stored. On llvmpipe every
// storage load costs about the same per 32-bit component whether scalar or vec4, so the
// block size, not the load width, sets the speed: 16 loads per 64 multiply-adds here.
//#include _common

struct Params {
    m: u32,
    n: u32,
    k: u32,
    // Blocks of 8 columns per row of blocks.
    col_blocks: u32,
    a_m: u32,
    a_k: u32,
    b_k: u32,
    b_j: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

// outer(u, v)[c][r] = u[r] * v[c]: column c is u scaled by v[c].
fn outer(u: vec4<f32>, v: vec4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(u * v.x, u * v.y, u * v.z, u * v.w);
}

// The 8 x 8 output block at (m0, j0) as four 4 x 4 quadrants (rows m0 + 4 hi_r ..,
// columns j0 + 4 hi_c ..); q[c][r] is output (m0 + r, j0 + c) of its quadrant.
struct Block {
    q00: mat4x4<f32>,
    q01: mat4x4<f32>,
    q10: mat4x4<f32>,
    q11: mat4x4<f32>,
}

// Element offsets of rows (or columns) i0 + t, t = 0..3, clamped to the last valid one
// (edge results are computed from valid data and not stored), times the stride.
fn offsets(i0: u32, len: u32, stride: u32) -> vec4<u32> {
    return min(vec4<u32>(i0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(len - 1u)) * stride;
}

fn a_column(r: vec4<u32>, ka: u32) -> vec4<f32> {
    return vec4<f32>(a[r.x + ka], a[r.y + ka], a[r.z + ka], a[r.w + ka]);
}

fn b_row(c: vec4<u32>, kb: u32) -> vec4<f32> {
    return vec4<f32>(b[kb + c.x], b[kb + c.y], b[kb + c.z], b[kb + c.w]);
}

// out[m0 + r, j0 + c] = sum_k A[m0 + r, k] B[k, j0 + c] for the 8 x 8 block, k in order.
// Per k: 8 loads of A and 8 of B feed 64 multiply-adds (loads are the cost on llvmpipe).
fn block_product(m0: u32, j0: u32) -> Block {
    let ra0 = offsets(m0, p.m, p.a_m);
    let ra1 = offsets(m0 + 4u, p.m, p.a_m);
    let cb0 = offsets(j0, p.n, p.b_j);
    let cb1 = offsets(j0 + 4u, p.n, p.b_j);
    var acc = Block(mat4x4<f32>(), mat4x4<f32>(), mat4x4<f32>(), mat4x4<f32>());
    for (var k = 0u; k < p.k; k++) {
        let a0 = a_column(ra0, k * p.a_k);
        let a1 = a_column(ra1, k * p.a_k);
        let b0 = b_row(cb0, k * p.b_k);
        let b1 = b_row(cb1, k * p.b_k);
        acc.q00 += outer(a0, b0);
        acc.q01 += outer(a0, b1);
        acc.q10 += outer(a1, b0);
        acc.q11 += outer(a1, b1);
    }
    return acc;
}

fn block_of(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> vec2<u32> {
    let id = linear_index(wid, nwg, lid, WG);
    let row_block = id / p.col_blocks;
    return vec2<u32>(row_block * 8u, (id - row_block * p.col_blocks) * 8u);
}

// out[m0 + r, j0 + c] = q[c][r] + add[c] for the quadrant's outputs inside the matrix.
fn store_quadrant(m0: u32, j0: u32, q: mat4x4<f32>, add: vec4<f32>) {
    for (var c = 0u; c < 4u; c++) {
        if j0 + c >= p.n { return; }
        for (var r = 0u; r < 4u; r++) {
            if m0 + r >= p.m { break; }
            // out[m, j] = sum_k A[m, k] B[k, j] (+ bias[j])
            out[(m0 + r) * p.n + j0 + c] = q[c][r] + add[c];
        }
    }
}

fn store(m0: u32, j0: u32, acc: Block, add0: vec4<f32>, add1: vec4<f32>) {
    store_quadrant(m0, j0, acc.q00, add0);
    store_quadrant(m0, j0 + 4u, acc.q01, add1);
    store_quadrant(m0 + 4u, j0, acc.q10, add0);
    store_quadrant(m0 + 4u, j0 + 4u, acc.q11, add1);
}

// out = A B. Bindings: p, a, b, out.
@compute @workgroup_size(WG)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let o = block_of(wid, nwg, lid);
    if o.x >= p.m { return; }
    store(o.x, o.y, block_product(o.x, o.y), vec4<f32>(), vec4<f32>());
}

// out = A B + bias. Bindings: p, a, b, out, bias.
@compute @workgroup_size(WG)
fn matmul_bias(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let o = block_of(wid, nwg, lid);
    if o.x >= p.m { return; }
    let j0 = offsets(o.y, p.n, 1u);
    let j1 = offsets(o.y + 4u, p.n, 1u);
    let add0 = vec4<f32>(bias[j0.x], bias[j0.y], bias[j0.z], bias[j0.w]);
    let add1 = vec4<f32>(bias[j1.x], bias[j1.y], bias[j1.z], bias[j1.w]);
    store(o.x, o.y, block_product(o.x, o.y), add0, add1);
}
