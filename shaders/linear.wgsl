// Fully connected layer as one strided matrix product (x [N, I], w [O, I], row-major):
//
//   out[m, j] = sum_k A[m, k] * B[k, j]  (+ bias[j])
//   A[m, k] = a[m * a_m + k * a_k],  B[k, j] = b[k * b_k + j * b_j]
//
//   forward  y  [N, O] = x w^T:  A = x  (a_m = I, a_k = 1),  B = w^T (b_k = 1, b_j = I)
//   backward dx [N, I] = dy w:   A = dy (a_m = O, a_k = 1),  B = w   (b_k = I, b_j = 1)
//   backward dw [O, I] = dy^T x: A = dy^T (a_m = 1, a_k = O), B = x  (b_k = I, b_j = 1)
//
// Each invocation computes a 4 x 4 block of outputs (register blocking) and sums k in
// order 0..K-1, so every output is a fixed-order sum (deterministic, no atomics). Rows and
// columns past the edge read a clamped (valid) index and are not stored.
//#include _common

struct Params {
    m: u32,
    n: u32,
    k: u32,
    // Blocks of 4 columns per row of blocks.
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

// Column c of the 4 x 4 block: acc_c[r] = sum_k A[m0 + r, k] * B[k, j0 + c].
struct Block {
    c0: vec4<f32>,
    c1: vec4<f32>,
    c2: vec4<f32>,
    c3: vec4<f32>,
}

fn block_product(m0: u32, j0: u32) -> Block {
    // Edge rows and columns read the last valid one (their results are not stored).
    let ra = vec4<u32>(min(m0, p.m - 1u), min(m0 + 1u, p.m - 1u), min(m0 + 2u, p.m - 1u),
                       min(m0 + 3u, p.m - 1u)) * p.a_m;
    let cb = vec4<u32>(min(j0, p.n - 1u), min(j0 + 1u, p.n - 1u), min(j0 + 2u, p.n - 1u),
                       min(j0 + 3u, p.n - 1u)) * p.b_j;
    var acc = Block(vec4<f32>(), vec4<f32>(), vec4<f32>(), vec4<f32>());
    for (var kk = 0u; kk < p.k; kk++) {
        let ka = kk * p.a_k;
        let kb = kk * p.b_k;
        let av = vec4<f32>(a[ra.x + ka], a[ra.y + ka], a[ra.z + ka], a[ra.w + ka]);
        acc.c0 += av * b[kb + cb.x];
        acc.c1 += av * b[kb + cb.y];
        acc.c2 += av * b[kb + cb.z];
        acc.c3 += av * b[kb + cb.w];
    }
    return acc;
}

fn block_of(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> vec2<u32> {
    let id = linear_index(wid, nwg, lid, WG);
    let row_block = id / p.col_blocks;
    return vec2<u32>(row_block * 4u, (id - row_block * p.col_blocks) * 4u);
}

// out[m0 + r, j] = col[r] + add for the rows inside the matrix (a column j past the edge
// is skipped).
fn store_column(m0: u32, j: u32, col: vec4<f32>, add: f32) {
    if j >= p.n { return; }
    for (var r = 0u; r < 4u; r++) {
        if m0 + r >= p.m { return; }
        out[(m0 + r) * p.n + j] = col[r] + add;
    }
}

fn store(m0: u32, j0: u32, acc: Block, add: vec4<f32>) {
    store_column(m0, j0, acc.c0, add.x);
    store_column(m0, j0 + 1u, acc.c1, add.y);
    store_column(m0, j0 + 2u, acc.c2, add.z);
    store_column(m0, j0 + 3u, acc.c3, add.w);
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
    let j = min(o.y + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.n - 1u));
    let add = vec4<f32>(bias[j.x], bias[j.y], bias[j.z], bias[j.w]);
    store(o.x, o.y, block_product(o.x, o.y), add);
}
