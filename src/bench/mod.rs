//! Benchmarks: op rates (`pixembed bench ops`), first-layer variants and whole networks.
//! Timing uses GPU timestamps where the adapter has them, wall time otherwise (and says so).

pub mod first_layer;
pub mod network;
pub mod ops;
pub mod report;

use crate::error::Result;
use crate::gpu::{Gpu, Recorder};
use serde::Serialize;

/// Median and spread of repeated runs, in seconds.
#[derive(Clone, Debug, Serialize)]
pub struct Timing {
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    pub runs: usize,
    /// "gpu-timestamps" or "wall-clock".
    pub source: &'static str,
}

/// Time the work `record` puts into one recorder: `warmup` untimed runs, then `reps` timed.
pub fn time_op(
    gpu: &Gpu,
    warmup: usize,
    reps: usize,
    mut record: impl FnMut(&mut Recorder) -> Result<()>,
) -> Result<Timing> {
    for _ in 0..warmup {
        let mut rec = Recorder::new(gpu);
        record(&mut rec)?;
        rec.submit();
        gpu.wait()?;
    }
    let mut times = Vec::with_capacity(reps);
    let mut source = "wall-clock";
    for _ in 0..reps.max(1) {
        let mut rec = Recorder::new(gpu).with_timing(2048);
        record(&mut rec)?;
        let t = rec.submit_timed()?;
        source = t.source();
        times.push(t.best_s());
    }
    times.sort_by(|a, b| a.total_cmp(b));
    Ok(Timing {
        median_s: times[times.len() / 2],
        min_s: times[0],
        max_s: times[times.len() - 1],
        runs: times.len(),
        source,
    })
}

/// One line of `pixembed bench ops`.
#[derive(Clone, Debug, Serialize)]
pub struct OpRate {
    /// Op and variant, e.g. "conv.forward f32".
    pub op: String,
    /// Shape in words, e.g. "\[64,32,32,64\] 3x3 64->64 s1".
    pub shape: String,
    pub timing: Timing,
    /// Work per run in `unit`s (e.g. MACs, bit-ops).
    pub work: f64,
    /// "G MAC/s", "Gbit-op/s", "GB/s".
    pub unit: &'static str,
}

impl OpRate {
    pub fn rate(&self) -> f64 {
        self.work / self.timing.median_s / 1e9
    }
}
