//! Optimizer steps on latent float parameters: the spec of shaders/optim.wgsl.
//!
//! Weight decay has one meaning for both optimizers: decoupled decay (SGDW / AdamW), each
//! step first shrinks the parameter, p = p - lr wd p, then takes the gradient step.

/// The range a parameter is clamped to after each update: [lo, hi].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clip {
    pub lo: f32,
    pub hi: f32,
}

impl Clip {
    /// [-c, c] (latent binary weights: [-1, 1]).
    pub fn symmetric(c: f32) -> Self {
        Clip { lo: -c, hi: c }
    }
    pub fn apply(&self, x: f32) -> f32 {
        x.clamp(self.lo, self.hi)
    }
}

/// SGD with momentum and decoupled weight decay, in place:
///   p = p - lr wd p;  v = momentum v + g;  p = p - lr v;  then p = clamp(p, lo, hi) if clipped.
#[allow(clippy::too_many_arguments)]
pub fn sgd_step(
    param: &mut [f32],
    grad: &[f32],
    velocity: &mut [f32],
    lr: f32,
    momentum: f32,
    weight_decay: f32,
    clip: Option<Clip>,
) {
    for i in 0..param.len() {
        param[i] -= lr * weight_decay * param[i];
        velocity[i] = momentum * velocity[i] + grad[i];
        param[i] -= lr * velocity[i];
        if let Some(c) = clip {
            param[i] = c.apply(param[i]);
        }
    }
}

/// Adam's bias corrections (1 - beta1^step, 1 - beta2^step) for a 1-based step, computed in
/// f64 and rounded to f32. The one definition the GPU op and the reference share.
pub fn adam_bias_corrections(beta1: f32, beta2: f32, step: u32) -> (f32, f32) {
    let e = step as i32;
    (
        (1.0 - (beta1 as f64).powi(e)) as f32,
        (1.0 - (beta2 as f64).powi(e)) as f32,
    )
}

/// AdamW (decoupled weight decay), in place, for a 1-based `step`:
///   p = p - lr wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
///   p = p - lr (m / bc1) / (sqrt(v / bc2) + eps);  then p = clamp(p, lo, hi) if clipped,
/// with (bc1, bc2) from [`adam_bias_corrections`].
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    param: &mut [f32],
    grad: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    step: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    clip: Option<Clip>,
) {
    let (bc1, bc2) = adam_bias_corrections(beta1, beta2, step);
    for i in 0..param.len() {
        let g = grad[i];
        param[i] -= lr * weight_decay * param[i];
        m[i] = beta1 * m[i] + (1.0 - beta1) * g;
        v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
        let mhat = m[i] / bc1;
        let vhat = v[i] / bc2;
        param[i] -= lr * mhat / (vhat.sqrt() + eps);
        if let Some(c) = clip {
            param[i] = c.apply(param[i]);
        }
    }
}

/// Sum of squares of every element of every gradient, accumulated in f64.
pub fn grad_norm_sq(grads: &[&[f32]]) -> f32 {
    grads
        .iter()
        .flat_map(|g| g.iter())
        .map(|&x| (x as f64) * (x as f64))
        .sum::<f64>() as f32
}
