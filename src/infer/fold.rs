//! Folding batch-norm + activation quantizer into integer thresholds, exactly.
//!
//! After a binary conv the training graph computes, per channel o and integer accumulator a,
//!   code = q(BN(a))                       (plain unit)
//!   code = q(BN(a) + step * s)            (second conv of a residual block, shortcut code s)
//! Each is monotonic in a (non-decreasing for gamma > 0, non-increasing for gamma < 0,
//! constant for gamma = 0 or saturated channels). Rather than solving for the boundaries in
//! f64 (which can land one step off the graph's own f32 arithmetic), the thresholds are read
//! off the graph itself: every integer a in [-A, A] (A = the largest reachable |acc|) is run
//! through the same GPU kernels that evaluation uses, and each threshold is the smallest
//! (increasing) or largest (decreasing) accumulator that reaches the next code. The integer
//! engine therefore reproduces the training graph's codes bit for bit.

use crate::error::{Error, Result};
use crate::gpu::{Gpu, Recorder, Tensor};
use crate::nn::norm::{BatchNorm, BN_EPS};
use crate::ops::{bn, quant, shortcut};
use crate::reference::QuantSpec;

/// Thresholds of one unit: `values` [O, S, n] ascending and `flags` [O, S], S = 1 (plain)
/// or n_in + 1 (residual, one row per shortcut code). Conventions: see
/// shaders/residual_threshold.wgsl (flag 1: code = #{acc >= t}; -1: #{acc <= t}; 0: t\[0\]).
#[derive(Clone, Debug, PartialEq)]
pub struct Folded {
    pub o: usize,
    pub rows: usize,
    pub levels: usize,
    pub values: Vec<i32>,
    pub flags: Vec<i32>,
}

/// Derive thresholds from the codes of accumulators lo..=lo+len-1 for one (channel, row).
pub fn thresholds_from_codes(codes: &[u32], lo: i32, levels: usize) -> Result<(Vec<i32>, i32)> {
    let first = codes[0];
    if codes.iter().all(|&c| c == first) {
        return Ok((vec![first as i32; levels], 0));
    }
    let increasing = codes.windows(2).all(|w| w[0] <= w[1]);
    let decreasing = codes.windows(2).all(|w| w[0] >= w[1]);
    let hi = lo + codes.len() as i32 - 1;
    if increasing {
        // t_j = smallest acc with code >= j (hi + 1: never reached).
        let t = (1..=levels as u32)
            .map(|j| {
                codes
                    .iter()
                    .position(|&c| c >= j)
                    .map_or(hi + 1, |r| lo + r as i32)
            })
            .collect();
        Ok((t, 1))
    } else if decreasing {
        // u_j = largest acc with code >= j (lo - 1: never reached); ascending order u_n..u_1.
        let mut t: Vec<i32> = (1..=levels as u32)
            .map(|j| {
                codes
                    .iter()
                    .rposition(|&c| c >= j)
                    .map_or(lo - 1, |r| lo + r as i32)
            })
            .collect();
        t.reverse();
        Ok((t, -1))
    } else {
        Err(Error::Invalid(
            "batch-norm + quantizer is not monotonic in the accumulator".into(),
        ))
    }
}

/// Fold a unit's batch-norm and quantizer. `acc_max` bounds |acc|; `residual` is
/// Some((cin, n_in)) for the second conv of a residual block (shortcut codes 0..=n_in on the
/// first `cin` channels).
pub fn fold_unit(
    gpu: &Gpu,
    bnl: &BatchNorm,
    spec: QuantSpec,
    acc_max: i32,
    residual: Option<(usize, u32)>,
) -> Result<Folded> {
    let o = bnl.gamma.value.numel();
    let levels = spec.levels() as usize;
    let r = (2 * acc_max + 1) as usize;
    let lo = -acc_max;
    let probe: Vec<f32> = (0..r)
        .flat_map(|i| std::iter::repeat_n((lo + i as i32) as f32, o))
        .collect();
    let x = Tensor::from_slice(gpu, &[1, r, 1, o], &probe)?;
    let rows = residual.map_or(1, |(_, n_in)| n_in as usize + 1);
    let mut values = vec![0i32; o * rows * levels];
    let mut flags = vec![0i32; o * rows];
    for s in 0..rows {
        let mut rec = Recorder::new(gpu);
        let y = bn::forward_infer(
            &mut rec,
            &x,
            &bnl.gamma.value,
            &bnl.beta.value,
            &bnl.mean.value,
            &bnl.var.value,
            BN_EPS,
        )?;
        let y = match residual {
            Some((cin, _)) => {
                let codes = Tensor::from_slice(gpu, &[1, r, 1, cin], &vec![s as f32; r * cin])?;
                shortcut::forward(&mut rec, &y, &codes, 1, spec.step())?
            }
            None => y,
        };
        let codes = quant::forward(&mut rec, spec, &y)?;
        rec.submit();
        let codes = codes.to_vec::<f32>(gpu)?;
        for ch in 0..o {
            let col: Vec<u32> = (0..r).map(|i| codes[i * o + ch] as u32).collect();
            let (t, f) = thresholds_from_codes(&col, lo, levels)
                .map_err(|e| Error::Invalid(format!("channel {ch}: {e}")))?;
            let row = ch * rows + s;
            values[row * levels..(row + 1) * levels].copy_from_slice(&t);
            flags[row] = f;
        }
    }
    Ok(Folded {
        o,
        rows,
        levels,
        values,
        flags,
    })
}
