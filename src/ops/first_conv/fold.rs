//! Host folding of normalisation and batch-norm into the fused first layer's weights and
//! thresholds (the math is in the module docs of [`super`]).

use super::FirstConvSpec;
use crate::ops::threshold::levels;

/// Folded weights w' `[O, k, k, c]` and thresholds t' `[O, levels]` (module docs).
pub(super) fn fold(spec: &FirstConvSpec) -> (Vec<f32>, Vec<f32>) {
    let th = spec.thresholds;
    let (c, n) = (spec.c, levels(th.bits));
    let taps = spec.k * spec.k * c;
    let mut w = vec![0.0f32; th.channels() * taps];
    let mut t = vec![0.0f32; th.channels() * n];
    for o in 0..th.channels() {
        let flag = th.flags[o];
        let tv = &th.values[o * n..(o + 1) * n];
        if flag == 0 {
            let code = tv[0].clamp(0.0, n as f32) as usize;
            for (j, slot) in t[o * n..(o + 1) * n].iter_mut().enumerate() {
                *slot = if j < code { -f32::MAX } else { f32::MAX };
            }
            continue;
        }
        let s = if flag > 0 { 1.0 } else { -1.0 };
        for i in 0..taps {
            let std = spec.std[i % c] as f64;
            w[o * taps + i] = (s * spec.weights[o * taps + i] as f64 / (255.0 * std)) as f32;
        }
        let mut tt: Vec<f32> = tv.iter().map(|&x| (s * x as f64) as f32).collect();
        tt.sort_by(f32::total_cmp);
        t[o * n..(o + 1) * n].copy_from_slice(&tt);
    }
    (w, t)
}
