//! Per-adapter choice of the table first layer's implementation: the first use of an image
//! size times every available implementation on a probe batch (about 64k pixels, at most the
//! real batch) and caches the fastest for every batch size of that image size (all are exact,
//! so the choice is only about speed; the work per pixel does not depend on the batch). `PIXEMBED_FIRST_TABLE=gather|folded8|folded16` forces one
//! where it is available.

use super::{Impl, TableConv, Width};
use crate::error::Result;
use crate::gpu::{Gpu, Recorder, Tensor};
use crate::ops::layout::ConvGeom;
use std::collections::HashMap;
use std::sync::Mutex;

fn forced() -> Option<Impl> {
    match std::env::var("PIXEMBED_FIRST_TABLE").ok()?.as_str() {
        "gather" => Some(Impl::Gather),
        "folded8" => Some(Impl::Folded(Width::W8)),
        "folded16" => Some(Impl::Folded(Width::W16)),
        _ => None,
    }
}

/// Input pixels of the batch the choice is timed on.
const PROBE_PIXELS: usize = 1 << 16;

/// (adapter, geometry of one image, code bits, output bits, available implementations).
type Key = (String, ConvGeom, u32, u32, Vec<Impl>);

static CHOICES: Mutex<Option<HashMap<Key, Impl>>> = Mutex::new(None);

impl TableConv {
    /// The fastest implementation for pixels of `shape` `[N, H, W, C]` on this adapter.
    pub fn choose(&self, gpu: &Gpu, shape: &[usize]) -> Result<Impl> {
        let impls = self.impls();
        if let Some(f) = forced().filter(|f| impls.contains(f)) {
            return Ok(f);
        }
        if impls.len() == 1 {
            return Ok(impls[0]);
        }
        let (n, h, w) = (shape[0], shape[1], shape[2]);
        let key = (
            gpu.summary().name.clone(),
            self.geom(1, h, w),
            self.code_bits,
            self.out_bits(),
            impls.clone(),
        );
        if let Some(i) = CHOICES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(HashMap::new)
            .get(&key)
        {
            return Ok(*i);
        }
        let probe_n = (PROBE_PIXELS / (h * w).max(1)).clamp(1, n.max(1));
        let probe = [probe_n, h, w, shape[3]];
        let (best, times) = self.time_impls(gpu, &probe, &impls)?;
        log::info!(
            "table first layer {:?} {}-bit codes: {} ({})",
            key.1,
            self.code_bits,
            best.name(),
            times
                .iter()
                .map(|(i, t)| format!("{} {:.2} ms", i.name(), t * 1e3))
                .collect::<Vec<_>>()
                .join(", ")
        );
        CHOICES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(HashMap::new)
            .insert(key, best);
        Ok(best)
    }

    /// One untimed run (pipeline compilation), then the faster of two timed runs, of each
    /// implementation on pseudo-random pixels.
    fn time_impls(
        &self,
        gpu: &Gpu,
        shape: &[usize],
        impls: &[Impl],
    ) -> Result<(Impl, Vec<(Impl, f64)>)> {
        let len: usize = shape.iter().product();
        let mut state = 0x9e37_79b9u32;
        let px: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8
            })
            .collect();
        let pixels = Tensor::from_slice(gpu, shape, &px)?;
        let mut times = Vec::new();
        let mut best = (f64::INFINITY, impls[0]);
        for &imp in impls {
            let mut t = f64::INFINITY;
            for rep in 0..3 {
                let mut rec = Recorder::new(gpu).with_timing(64);
                self.forward_with(&mut rec, &pixels, imp)?;
                let s = rec.submit_timed()?.best_s();
                if rep > 0 {
                    t = t.min(s);
                }
            }
            times.push((imp, t));
            if t < best.0 {
                best = (t, imp);
            }
        }
        Ok((best.1, times))
    }
}
