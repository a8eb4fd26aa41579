//! Per-channel integer thresholds: the one definition of how an integer accumulator becomes
//! a k-bit code at inference (batch-norm + activation quantizer folded into thresholds).
//!
//! Channel `o` has `2^k - 1` thresholds `t[o][0..n]` (stored ascending) and a flag:
//!
//! * flag > 0 (1, increasing; positive BN scale): `code = #{ i : acc >= t[o][i] }`
//! * flag < 0 (-1, decreasing; negative BN scale): `code = #{ i : acc <= t[o][i] }`
//! * flag = 0 (constant output): `code = clamp(t[o][0], 0, 2^k - 1)`
//!
//! Counting makes the code well defined for any threshold values (duplicates give skipped
//! codes; unsorted values still count). With ascending thresholds the increasing count is
//! the usual thermometer: code >= i + 1 exactly when acc >= t\[o\]\[i\].

use super::pack::pack_bitplanes;

/// Thresholds per channel for k-bit codes: `2^k - 1`.
pub fn levels(bits: u32) -> usize {
    (1usize << bits) - 1
}

/// The code of one accumulator under one channel's thresholds `t` (length `2^k - 1`).
pub fn threshold_code(acc: i32, t: &[i32], flag: i32, bits: u32) -> u32 {
    let top = levels(bits) as i32;
    if flag == 0 {
        // Constant channel: the code is stored in the first slot.
        return t[0].clamp(0, top) as u32;
    }
    let mut code = 0;
    for &ti in t {
        // Increasing: count thresholds reached from below; decreasing: from above.
        let counted = if flag > 0 { acc >= ti } else { acc <= ti };
        if counted {
            code += 1;
        }
    }
    code
}

/// Codes of accumulators `acc` laid out `[M, O]` (channels last): `values` is `[O, 2^k - 1]`,
/// `flags` is `[O]`.
pub fn threshold_codes(
    acc: &[i32],
    o: usize,
    values: &[i32],
    flags: &[i32],
    bits: u32,
) -> Vec<u32> {
    let n = levels(bits);
    acc.iter()
        .enumerate()
        .map(|(i, &a)| {
            let ch = i % o;
            threshold_code(a, &values[ch * n..(ch + 1) * n], flags[ch], bits)
        })
        .collect()
}

/// The same codes packed as bit-planes: `[M, k, Ow]` words, `Ow = ceil(O / 32)`.
pub fn threshold_packed(
    acc: &[i32],
    o: usize,
    values: &[i32],
    flags: &[i32],
    bits: u32,
) -> Vec<u32> {
    pack_bitplanes(&threshold_codes(acc, o, values, flags, bits), o, bits)
}
