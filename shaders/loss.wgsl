// Softmax cross-entropy over logits [N, K] with integer labels [N] (reference:
// src/reference/loss.rs). Per row i, label y:
//   m = max_j x_j,  s = sum_j exp(x_j - m)            (subtracting m keeps exp <= 1)
//   loss_i = log(s) - (x_y - m)                        (= logsumexp(x) - x_y)
//   dlogits_ij = (exp(x_j - m) / s - [j == y]) / N     (gradient of the mean loss)
// Top-k rule: label within the top k <=> #{j : x_j > x_y} < k (ties in the label's favour),
// for rows whose logits are all finite: a row with a NaN or infinite logit is a miss (every
// comparison with NaN is false, so the rule alone would count a diverged row as a hit), and
// is counted apart so that evaluation can report it.
// A label outside 0..K is read as class 0 (never out of bounds), and the row's loss and
// gradients are set to NaN so that the mean loss shows it; the row counts as a miss.
// Entry points (two dispatches each, no atomics):
//   rows + finalize        -> per-row losses, gradients, hit flags; mean loss and counts
//   hits + finalize_counts -> hit flags; counts (evaluation)
// Each entry point binds its own variables as @binding(0..); variables of different entry
// points share binding numbers.
//#include _common

struct Params {
    n: u32,
    k: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
// [N, 3]: 1 when the row's label is within the top 1 / top 5, else 0; 1 when the row has a
// non-finite logit.
@group(0) @binding(3) var<storage, read_write> hit: array<i32>;
@group(0) @binding(4) var<storage, read_write> per_row: array<f32>;
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;

fn nan_f32() -> f32 {
    return bitcast<f32>(0x7fc00000u);
}

// The row's label clamped into 0..K (safe to index with) and whether it was in range.
fn row_label(row: u32) -> vec2<u32> {
    let raw = labels[row];
    let ok = raw >= 0 && u32(raw) < p.k;
    return vec2<u32>(select(0u, u32(raw), ok), select(0u, 1u, ok));
}

// NaN or +-infinity: all exponent bits set (tested on the bits; a float comparison with NaN
// may be optimised away).
fn non_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}

// Hit flags of a row: above = #{j : x_j > x_y}; top-1 = above < 1, top-5 = above < 5, both
// only when every logit of the row is finite.
fn write_hits(row: u32, base: u32, y: u32, ok: bool) {
    let xy = logits[base + y];
    var above = 0u;
    var bad = false;
    for (var j = 0u; j < p.k; j++) {
        above += select(0u, 1u, logits[base + j] > xy);
        bad = bad || non_finite(logits[base + j]);
    }
    let counts = ok && !bad;
    hit[3u * row] = select(0, 1, counts && above < 1u);
    hit[3u * row + 1u] = select(0, 1, counts && above < 5u);
    hit[3u * row + 2u] = select(0, 1, bad);
}

@compute @workgroup_size(64)
fn rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let row = linear_index(wid, nwg, lid, 64u);
    if row >= p.n { return; }
    let base = row * p.k;
    let lab = row_label(row);
    let y = lab.x;
    let ok = lab.y == 1u;
    write_hits(row, base, y, ok);
    // m = max_j x_j
    var m = logits[base];
    for (var j = 1u; j < p.k; j++) {
        m = max(m, logits[base + j]);
    }
    // s = sum_j exp(x_j - m)
    var s = 0.0;
    for (var j = 0u; j < p.k; j++) {
        s += exp(logits[base + j] - m);
    }
    let inv_n = 1.0 / f32(p.n);
    let nan = nan_f32();
    // loss_i = log(s) - (x_y - m)
    per_row[row] = select(nan, log(s) - (logits[base + y] - m), ok);
    for (var j = 0u; j < p.k; j++) {
        // dlogits_ij = (exp(x_j - m) / s - [j == y]) / N
        let onehot = select(0.0, 1.0, j == y);
        let g = (exp(logits[base + j] - m) / s - onehot) * inv_n;
        dlogits[base + j] = select(nan, g, ok);
    }
}

@compute @workgroup_size(64)
fn hits(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let row = linear_index(wid, nwg, lid, 64u);
    if row >= p.n { return; }
    let lab = row_label(row);
    write_hits(row, row * p.k, lab.x, lab.y == 1u);
}

// Reductions over rows by one workgroup of WG lanes: lane t adds rows t, t + WG, t + 2 WG, ...
// in order, then a fixed binary tree over the lanes. The order depends on N only.
const WG: u32 = 256u;

@group(0) @binding(1) var<storage, read> f_hit: array<i32>;
@group(0) @binding(2) var<storage, read_write> f_correct: array<i32>;
@group(0) @binding(3) var<storage, read> f_per_row: array<f32>;
@group(0) @binding(4) var<storage, read_write> f_loss: array<f32>;

var<workgroup> part_loss: array<f32, WG>;
var<workgroup> part_top1: array<i32, WG>;
var<workgroup> part_top5: array<i32, WG>;
var<workgroup> part_bad: array<i32, WG>;

// Tree over the lanes: part[t] += part[t + w] for w = WG/2, WG/4, ..., 1.
fn tree_sum(t: u32, with_loss: bool) {
    workgroupBarrier();
    for (var w = WG / 2u; w > 0u; w >>= 1u) {
        if t < w {
            if with_loss {
                part_loss[t] += part_loss[t + w];
            }
            part_top1[t] += part_top1[t + w];
            part_top5[t] += part_top5[t + w];
            part_bad[t] += part_bad[t + w];
        }
        workgroupBarrier();
    }
}

// Bindings: p, hit flags [N, 3], counts out [2], per-row losses [N], mean loss out [1].
//   loss = (sum_i loss_i) / N,  correct = (sum_i top1_i, sum_i top5_i)
@compute @workgroup_size(256)
fn finalize(@builtin(local_invocation_index) t: u32) {
    var s = 0.0;
    var c1 = 0;
    var c5 = 0;
    for (var r = t; r < p.n; r += WG) {
        s += f_per_row[r];
        c1 += f_hit[3u * r];
        c5 += f_hit[3u * r + 1u];
    }
    part_loss[t] = s;
    part_top1[t] = c1;
    part_top5[t] = c5;
    part_bad[t] = 0;
    tree_sum(t, true);
    if t == 0u {
        f_loss[0] = part_loss[0] / f32(p.n);
        f_correct[0] = part_top1[0];
        f_correct[1] = part_top5[0];
    }
}

// Bindings: p, hit flags [N, 3], counts out [3] (top-1, top-5, rows with non-finite logits).
@compute @workgroup_size(256)
fn finalize_counts(@builtin(local_invocation_index) t: u32) {
    var c1 = 0;
    var c5 = 0;
    var bad = 0;
    for (var r = t; r < p.n; r += WG) {
        c1 += f_hit[3u * r];
        c5 += f_hit[3u * r + 1u];
        bad += f_hit[3u * r + 2u];
    }
    part_top1[t] = c1;
    part_top5[t] = c5;
    part_bad[t] = bad;
    tree_sum(t, false);
    if t == 0u {
        f_correct[0] = part_top1[0];
        f_correct[1] = part_top5[0];
        f_correct[2] = part_bad[0];
    }
}
