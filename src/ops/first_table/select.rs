//! Per-adapter choice of the code-table first layer's implementation: the first use of an image
//! size times every available implementation on a probe batch (about 64k pixels, at most the
//! real batch) and caches the fastest for every batch size of that image size (all are exact,
//! so the choice is only about speed; the work per pixel does not depend on the batch).
//! `PIXEMBED_FIRST_TABLE=gather|folded8|folded16` forces one where it is available.

use super::{CodeTableConv, Impl, Width};
use crate::error::Result;
use crate::gpu::choice::{fastest, Choices};
use crate::gpu::{Gpu, Tensor};
use crate::ops::layout::ConvGeom;
use rand::{Rng, SeedableRng};

/// The implementation `PIXEMBED_FIRST_TABLE` forces, if set; an unknown value is an error.
pub fn forced() -> Result<Option<Impl>> {
    let Ok(v) = std::env::var("PIXEMBED_FIRST_TABLE") else {
        return Ok(None);
    };
    match v.as_str() {
        "gather" => Ok(Some(Impl::Gather)),
        "folded8" => Ok(Some(Impl::Folded(Width::W8))),
        "folded16" => Ok(Some(Impl::Folded(Width::W16))),
        _ => Err(crate::Error::Invalid(format!(
            "PIXEMBED_FIRST_TABLE={v:?}: expected gather, folded8 or folded16 (or unset it)"
        ))),
    }
}

/// Input pixels of the batch the choice is timed on.
const PROBE_PIXELS: usize = 1 << 16;

/// (adapter, geometry of one image, code bits, output bits, available implementations).
type Key = (String, ConvGeom, u32, u32, Vec<Impl>);

static CHOICES: Choices<Key, Impl> = Choices::new();

impl CodeTableConv {
    /// The fastest implementation for pixels of `shape` `[N, H, W, C]` on this adapter.
    pub fn choose(&self, gpu: &Gpu, shape: &[usize]) -> Result<Impl> {
        let impls = self.impls();
        if let Some(f) = forced()?.filter(|f| impls.contains(f)) {
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
        if let Some(i) = CHOICES.get(&key) {
            return Ok(i);
        }
        let probe_n = (PROBE_PIXELS / (h * w).max(1)).clamp(1, n.max(1));
        let probe = [probe_n, h, w, shape[3]];
        let (best, times) = self.time_impls(gpu, &probe, &impls)?;
        log::info!(
            "code-table first layer {:?} {}-bit codes: {} ({})",
            key.1,
            self.code_bits,
            best.name(),
            times
                .iter()
                .map(|(i, t)| format!("{} {:.2} ms", i.name(), t * 1e3))
                .collect::<Vec<_>>()
                .join(", ")
        );
        CHOICES.insert(key, best);
        Ok(best)
    }

    /// Each implementation timed on pseudo-random pixels ([`fastest`]).
    fn time_impls(
        &self,
        gpu: &Gpu,
        shape: &[usize],
        impls: &[Impl],
    ) -> Result<(Impl, Vec<(Impl, f64)>)> {
        let len: usize = shape.iter().product();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x9e37_79b9);
        let px: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let pixels = Tensor::from_slice(gpu, shape, &px)?;
        fastest(gpu, impls, |rec, imp| {
            self.forward_with(rec, &pixels, imp).map(|_| ())
        })
    }
}
