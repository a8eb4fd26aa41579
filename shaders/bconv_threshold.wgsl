// Per-channel integer thresholds, shared by shaders/threshold.wgsl and the fused bitwise
// convolution. Every file that includes this one binds the thresholds at bindings 1 and 2.
// The one definition is src/reference/threshold.rs; with n = 2^k - 1 thresholds per channel,
// t = th_values[o * n .. o * n + n] (ascending):
//   flag > 0 (increasing): code = #{ i : acc >= t[i] }
//   flag < 0 (decreasing): code = #{ i : acc <= t[i] }   (negative BN scale)
//   flag = 0 (constant):   code = clamp(t[0], 0, n)
// Branch-free: each threshold is compared in both directions and the flag selects. With
// sorted t0 <= t1 <= t2 (k = 2) the count's bits are bit1 = [acc >= t1] and
// bit0 = [acc >= t0] xor [acc >= t1] xor [acc >= t2]; counting gives the same and also
// defines the code for any k and for unsorted values.

@group(0) @binding(1) var<storage, read> th_values: array<i32>;
@group(0) @binding(2) var<storage, read> th_flags: array<i32>;

fn threshold_code(acc: i32, o: u32, levels: u32) -> u32 {
    let base = o * levels;
    var up = 0u;
    var down = 0u;
    for (var i = 0u; i < levels; i++) {
        let t = th_values[base + i];
        up += select(0u, 1u, acc >= t);
        down += select(0u, 1u, acc <= t);
    }
    let flag = th_flags[o];
    let constant = u32(clamp(th_values[base], 0, i32(levels)));
    return select(select(down, up, flag > 0), constant, flag == 0);
}
