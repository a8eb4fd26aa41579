//! Per-adapter choice among exact implementations of one op: time each candidate once on the
//! adapter and remember the fastest. Used where several kernels compute bit-identical results
//! and only their speed differs by adapter (ops::binconv, ops::first_table).

use super::{Gpu, Recorder};
use crate::error::Result;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// A process-wide cache of choices, keyed by whatever decides the choice (adapter name,
/// geometry, code widths, ...).
pub struct Choices<K, V>(Mutex<Option<HashMap<K, V>>>);

impl<K: Eq + Hash, V: Copy> Choices<K, V> {
    pub const fn new() -> Self {
        Choices(Mutex::new(None))
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get_or_insert_with(HashMap::new).get(key).copied()
    }

    pub fn insert(&self, key: K, value: V) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get_or_insert_with(HashMap::new).insert(key, value);
    }
}

impl<K: Eq + Hash, V: Copy> Default for Choices<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

/// Time every candidate: one untimed run (pipeline compilation), then the faster of two
/// timed runs. Returns the fastest and each candidate's time in seconds.
pub fn fastest<V: Copy>(
    gpu: &Gpu,
    candidates: &[V],
    mut record: impl FnMut(&mut Recorder, V) -> Result<()>,
) -> Result<(V, Vec<(V, f64)>)> {
    let mut times = Vec::with_capacity(candidates.len());
    let mut best: Option<(f64, V)> = None;
    for &c in candidates {
        let mut t = f64::INFINITY;
        for rep in 0..3 {
            let mut rec = Recorder::new(gpu).with_timing(64);
            record(&mut rec, c)?;
            let s = rec.submit_timed()?.best_s();
            if rep > 0 {
                t = t.min(s);
            }
        }
        times.push((c, t));
        if best.is_none_or(|(b, _)| t < b) {
            best = Some((t, c));
        }
    }
    let (_, choice) = best
        .ok_or_else(|| crate::error::Error::Invalid("no implementation to choose from".into()))?;
    Ok((choice, times))
}
