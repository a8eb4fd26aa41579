// Deterministic column sums of a row-major f32 matrix [R, C]: out[c] = sum_r x[r, c].
//   One pass maps [R, C] to [ceil(R / CHUNK), C]:
//     out[k, c] = x[k CHUNK, c] + x[k CHUNK + 1, c] + ... + x[min((k+1) CHUNK, R) - 1, c]
//   added in ascending row order from 0.0. The host repeats the pass on its output until one
//   row is left, so the order of additions depends on (R, C) only: runs are bit-identical
//   (reference: src/reference/reduce.rs). No atomics.
//   Neighbouring lanes take neighbouring columns, so their loads are contiguous.
//#include _common

const CHUNK: u32 = 256u;

struct Params {
    rows: u32,
    cols: u32,
    out_rows: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn sum_chunks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.out_rows * p.cols { return; }
    let c = i % p.cols;
    let k = i / p.cols;
    let r0 = k * CHUNK;
    let r1 = min(r0 + CHUNK, p.rows);
    // s = sum_{r = r0}^{r1 - 1} x[r, c], ascending r
    var s = 0.0;
    for (var r = r0; r < r1; r++) {
        s += x[r * p.cols + c];
    }
    out[i] = s;
}
