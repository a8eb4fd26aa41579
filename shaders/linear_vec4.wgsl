// Matrix product out [M, N] = A B (+ bias) with vec4 loads, for the linear layer when the
// dimensions allow them (the host checks; otherwise linear.wgsl's strided kernel runs).
//
// Each operand is a row-major matrix read four floats at a time, along one of its two axes
// (chosen per pipeline by `override` constants):
//   A_ALONG_K: A is stored [M, K], a4[m * K/4 + k/4] = A[m, k..k+3]    (needs K % 4 == 0)
//   else:      A is stored [K, M], a4[k * M/4 + m/4] = A[k, m..m+3]^T  (needs M % 4 == 0)
//   B_ALONG_K: B^T is stored [N, K], b4[j * K/4 + k/4] = B[k..k+3, j]  (needs K % 4 == 0)
//   else:      B is stored [K, N], b4[k * N/4 + j/4] = B[k, j..j+3]    (needs N % 4 == 0)
// The linear layer (x [Nb, I], w [O, I], dy [Nb, O]):
//   forward  y  = x w^T:  A = x  [M=Nb, K=I] along k,  B^T = w [N=O, K=I] along k
//   backward dx = dy w:   A = dy [M=Nb, K=O] along k,  B = w  [K=O, N=I]   along n
//   backward dw = dy^T x: A^T = dy [K=Nb, M=O] along m, B = x [K=Nb, N=I]  along n
//
// One invocation computes a 4 x 4 output block: per step of four k it loads a 4 x 4 tile of
// A and of B (four vec4 each) and adds their product,
//   acc[c][r] += sum_t A[m0 + r, k + t] * B[k + t, j0 + c],
// so every output is a fixed-order sum over k (deterministic, no atomics). Rows and columns
// past the edge read a clamped valid index and are not stored; k past K reads as zero.
//#include _common

override A_ALONG_K: bool = true;
override B_ALONG_K: bool = true;

struct Params {
    m: u32,
    n: u32,
    k: u32,
    col_blocks: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

// Row (or column) index m0 + t clamped to the last valid one, for t = 0..3.
fn clamped(m0: u32, len: u32) -> vec4<u32> {
    return min(vec4<u32>(m0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(len - 1u));
}

// tile[t] = A[m0 .. m0 + 3, k + t] (column t of the A tile, one vec4 over the rows).
fn a_tile(m0: u32, k: u32) -> mat4x4<f32> {
    if A_ALONG_K {
        let r = clamped(m0, p.m) * (p.k / 4u) + k / 4u;
        // rows[i] = A[m0 + i, k .. k + 3]; transposed into columns over k.
        return transpose(mat4x4<f32>(a4[r.x], a4[r.y], a4[r.z], a4[r.w]));
    } else {
        let kk = min(vec4<u32>(k) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.k - 1u));
        let i = kk * (p.m / 4u) + m0 / 4u;
        let z = vec4<f32>();
        return mat4x4<f32>(a4[i.x], select(z, a4[i.y], k + 1u < p.k),
                           select(z, a4[i.z], k + 2u < p.k), select(z, a4[i.w], k + 3u < p.k));
    }
}

// tile[c] = B[k .. k + 3, j0 + c] (column c of the B tile, one vec4 over k).
fn b_tile(j0: u32, k: u32) -> mat4x4<f32> {
    if B_ALONG_K {
        let j = clamped(j0, p.n) * (p.k / 4u) + k / 4u;
        return mat4x4<f32>(b4[j.x], b4[j.y], b4[j.z], b4[j.w]);
    } else {
        let kk = min(vec4<u32>(k) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.k - 1u));
        let i = kk * (p.n / 4u) + j0 / 4u;
        let z = vec4<f32>();
        // rows[t] = B[k + t, j0 .. j0 + 3]; transposed into columns over k. Rows past K
        // are zero (A's are too when it is read along m).
        return transpose(mat4x4<f32>(b4[i.x], select(z, b4[i.y], k + 1u < p.k),
                                     select(z, b4[i.z], k + 2u < p.k),
                                     select(z, b4[i.w], k + 3u < p.k)));
    }
}

// acc[c][r] = sum_k A[m0 + r, k] B[k, j0 + c], k in steps of four in order.
fn block_product(m0: u32, j0: u32) -> mat4x4<f32> {
    var acc = mat4x4<f32>();
    for (var k = 0u; k < p.k; k += 4u) {
        // (A_tile * B_tile)[c][r] = sum_t A_tile[t][r] * B_tile[c][t]
        acc += a_tile(m0, k) * b_tile(j0, k);
    }
    return acc;
}

fn block_of(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> vec2<u32> {
    let id = linear_index(wid, nwg, lid, WG);
    let row_block = id / p.col_blocks;
    return vec2<u32>(row_block * 4u, (id - row_block * p.col_blocks) * 4u);
}

// out[m0 + r, j0 + c] = acc[c][r] + add[c] inside the matrix.
fn store(m0: u32, j0: u32, acc: mat4x4<f32>, add: vec4<f32>) {
    for (var c = 0u; c < 4u; c++) {
        if j0 + c >= p.n { return; }
        for (var r = 0u; r < 4u; r++) {
            if m0 + r >= p.m { break; }
            out[(m0 + r) * p.n + j0 + c] = acc[c][r] + add[c];
        }
    }
}

// out = A B. Bindings: p, a, b, out.
@compute @workgroup_size(WG)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let o = block_of(wid, nwg, lid);
    if o.x >= p.m { return; }
    store(o.x, o.y, block_product(o.x, o.y), vec4<f32>());
}

// out = A B + bias. Bindings: p, a, b, out, bias.
@compute @workgroup_size(WG)
fn matmul_bias(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let o = block_of(wid, nwg, lid);
    if o.x >= p.m { return; }
    let j = clamped(o.y, p.n);
    let add = vec4<f32>(bias[j.x], bias[j.y], bias[j.z], bias[j.w]);
    store(o.x, o.y, block_product(o.x, o.y), add);
}
