//! Deterministic column sums: the exact order of additions that `shaders/reduce.wgsl` uses,
//! so that the GPU and this reference agree bit for bit.

/// Rows summed by one invocation in one pass of [`sum_rows`].
pub const SUM_CHUNK: usize = 256;

/// Column sums of a row-major `[rows, cols]` matrix: out\[c\] = sum_r x[r, c].
///
/// Order (the spec the kernel follows): one pass maps `[R, C]` to `[ceil(R / CHUNK), C]` with
/// out[k, c] = x[k CHUNK, c] + x[k CHUNK + 1, c] + ... (ascending rows, starting from 0.0);
/// passes repeat until one row is left. `rows == 0` gives zeros.
pub fn sum_rows(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    if rows == 0 {
        return vec![0.0; cols];
    }
    let mut cur = x[..rows * cols].to_vec();
    let mut r = rows;
    loop {
        let out_rows = r.div_ceil(SUM_CHUNK);
        let mut next = vec![0.0f32; out_rows * cols];
        for k in 0..out_rows {
            for c in 0..cols {
                let mut s = 0.0f32;
                for row in k * SUM_CHUNK..((k + 1) * SUM_CHUNK).min(r) {
                    s += cur[row * cols + c];
                }
                next[k * cols + c] = s;
            }
        }
        cur = next;
        r = out_rows;
        if r == 1 {
            return cur;
        }
    }
}
