//! Pooling over NHWC activations `[n, h, w, c]`, no padding: windows lie fully inside the
//! image, output size `ho = (h - k) / stride + 1` (same for w).
//!
//! Max-pool ties: the first maximum in scan order (window row, then column) wins, i.e. the
//! smallest input index among equal values. `argmax` holds flat input indices
//! `((n * h + ih) * w + iw) * c + ch`.

/// Output spatial size of a k x k window at `stride` over `size` pixels.
pub fn out_size(size: usize, k: usize, stride: usize) -> usize {
    (size - k) / stride + 1
}

/// Max-pool forward: (y [n, ho, wo, c], argmax as flat input indices).
pub fn max_forward(x: &[f32], shape: [usize; 4], k: usize, stride: usize) -> (Vec<f32>, Vec<i32>) {
    let [n, h, w, c] = shape;
    let (ho, wo) = (out_size(h, k, stride), out_size(w, k, stride));
    let mut y = Vec::with_capacity(n * ho * wo * c);
    let mut arg = Vec::with_capacity(n * ho * wo * c);
    for b in 0..n {
        for oh in 0..ho {
            for ow in 0..wo {
                for ch in 0..c {
                    let mut best = f32::NEG_INFINITY;
                    let mut best_i = None;
                    for kh in 0..k {
                        for kw in 0..k {
                            let i = ((b * h + oh * stride + kh) * w + ow * stride + kw) * c + ch;
                            // Strictly greater: an equal later value does not replace.
                            if best_i.is_none() || x[i] > best {
                                best = x[i];
                                best_i = Some(i);
                            }
                        }
                    }
                    y.push(best);
                    arg.push(best_i.unwrap_or(0) as i32);
                }
            }
        }
    }
    (y, arg)
}

/// Max-pool backward: dx\[i\] = sum of dy over the outputs whose argmax is i.
pub fn max_backward(dy: &[f32], argmax: &[i32], input_shape: [usize; 4]) -> Vec<f32> {
    let mut dx = vec![0f32; input_shape.iter().product()];
    for (g, &i) in dy.iter().zip(argmax) {
        dx[i as usize] += g;
    }
    dx
}

/// Average-pool forward: y = (sum of the k x k window) / (k * k).
pub fn avg_forward(x: &[f32], shape: [usize; 4], k: usize, stride: usize) -> Vec<f32> {
    let [n, h, w, c] = shape;
    let (ho, wo) = (out_size(h, k, stride), out_size(w, k, stride));
    let mut y = Vec::with_capacity(n * ho * wo * c);
    for b in 0..n {
        for oh in 0..ho {
            for ow in 0..wo {
                for ch in 0..c {
                    let mut s = 0f64;
                    for kh in 0..k {
                        for kw in 0..k {
                            s += x[((b * h + oh * stride + kh) * w + ow * stride + kw) * c + ch]
                                as f64;
                        }
                    }
                    y.push((s / (k * k) as f64) as f32);
                }
            }
        }
    }
    y
}

/// Average-pool backward: every input of a window receives dy / (k * k).
pub fn avg_backward(dy: &[f32], input_shape: [usize; 4], k: usize, stride: usize) -> Vec<f32> {
    let [n, h, w, c] = input_shape;
    let (ho, wo) = (out_size(h, k, stride), out_size(w, k, stride));
    let mut dx = vec![0f64; n * h * w * c];
    for b in 0..n {
        for oh in 0..ho {
            for ow in 0..wo {
                for ch in 0..c {
                    let g = dy[((b * ho + oh) * wo + ow) * c + ch] as f64 / (k * k) as f64;
                    for kh in 0..k {
                        for kw in 0..k {
                            dx[((b * h + oh * stride + kh) * w + ow * stride + kw) * c + ch] += g;
                        }
                    }
                }
            }
        }
    }
    dx.into_iter().map(|v| v as f32).collect()
}

/// Global average pool: y[n, c] = mean over h, w of x[n, h, w, c].
pub fn global_avg_forward(x: &[f32], shape: [usize; 4]) -> Vec<f32> {
    let [n, h, w, c] = shape;
    let mut y = vec![0f64; n * c];
    for b in 0..n {
        for p in 0..h * w {
            for ch in 0..c {
                y[b * c + ch] += x[(b * h * w + p) * c + ch] as f64;
            }
        }
    }
    y.into_iter().map(|v| (v / (h * w) as f64) as f32).collect()
}

/// Global average pool backward: dx[n, h, w, c] = dy[n, c] / (h * w).
pub fn global_avg_backward(dy: &[f32], input_shape: [usize; 4]) -> Vec<f32> {
    let [n, h, w, c] = input_shape;
    let mut dx = Vec::with_capacity(n * h * w * c);
    for b in 0..n {
        for _ in 0..h * w {
            for ch in 0..c {
                dx.push(dy[b * c + ch] / (h * w) as f32);
            }
        }
    }
    dx
}
