//! Training health: the fraction of binary weights whose sign flipped during an epoch, the
//! signal BNN practitioners watch (near 0: the binary layers are not training).

use crate::error::Result;
use crate::gpu::Gpu;
use crate::nn::{Model, ParamKind};

/// The sign (w >= 0, as the forward pass binarizes) of every latent binary weight, in
/// visiting order.
pub fn latent_signs(gpu: &Gpu, model: &mut Model) -> Result<Vec<bool>> {
    let mut tensors = Vec::new();
    model.visit(&mut |p| {
        if p.kind == ParamKind::Latent {
            tensors.push(p.value.clone());
        }
    });
    let mut signs = Vec::new();
    for t in tensors {
        signs.extend(t.to_vec::<f32>(gpu)?.into_iter().map(|w| w >= 0.0));
    }
    Ok(signs)
}

/// The fraction of binary weights whose sign differs between two snapshots.
pub fn sign_flip_fraction(before: &[bool], after: &[bool]) -> f64 {
    let n = before.len().min(after.len());
    if n == 0 {
        return 0.0;
    }
    let flipped = before.iter().zip(after).filter(|(a, b)| a != b).count();
    flipped as f64 / n as f64
}
