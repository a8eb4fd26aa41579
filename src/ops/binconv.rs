//! Forward pass of a binary-weight convolution on integer codes, by either of two exact
//! paths, chosen per adapter and shape:
//!
//! * `Float`: the f32 convolution of the codes with the signs (+1/-1). Every partial sum is an
//!   integer below 2^24, so f32 addition is exact in any order.
//! * `Packed`: pack the codes into bit-planes and the signs into bits, then the popcount
//!   convolution `sum_b 2^b (2 popcount(a_b & w) - popcount(a_b))`, converted to f32.
//!
//! Both produce the same integer accumulators bit for bit (tests/binconv.rs), so the choice
//! is only about speed: on hardware adapters the first use of a (shape, bits) times both
//! once and caches the faster. Software adapters take the packed path for codes of up to
//! 2 bits without timing: it won every such shape measured on lavapipe by 2-5x, and timing
//! the float path compiled its kernels (about 2 s of a cold start) only to discard them.
//! `PIXEMBED_BINCONV=float|packed` forces a path.

use crate::error::Result;
use crate::gpu::choice::{fastest, Choices};
use crate::gpu::{Gpu, Recorder, Tensor};
use crate::ops::layout::ConvGeom;
use crate::ops::{bconv, conv, pack};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinConvPath {
    Float,
    Packed,
}

/// The path `PIXEMBED_BINCONV` forces, if set; an unknown value is an error.
pub fn forced() -> Result<Option<BinConvPath>> {
    let Ok(v) = std::env::var("PIXEMBED_BINCONV") else {
        return Ok(None);
    };
    match v.as_str() {
        "float" => Ok(Some(BinConvPath::Float)),
        "packed" => Ok(Some(BinConvPath::Packed)),
        _ => Err(crate::Error::Invalid(format!(
            "PIXEMBED_BINCONV={v:?}: expected float or packed (or unset it)"
        ))),
    }
}

type Key = (String, ConvGeom, u32);

static CHOICES: Choices<Key, BinConvPath> = Choices::new();

/// The faster exact path for this adapter, shape and code width (measured once, cached).
pub fn choose(gpu: &Gpu, geom: &ConvGeom, bits: u32) -> Result<BinConvPath> {
    if let Some(p) = forced()? {
        return Ok(p);
    }
    if gpu.is_software() && bits <= 2 {
        return Ok(BinConvPath::Packed);
    }
    let key = (gpu.summary().name.clone(), *geom, bits);
    if let Some(p) = CHOICES.get(&key) {
        return Ok(p);
    }
    let codes = Tensor::zeros(gpu, crate::gpu::DType::F32, &geom.input_shape())?;
    let signs = Tensor::zeros(gpu, crate::gpu::DType::F32, &geom.weight_shape())?;
    let (best, times) = fastest(
        gpu,
        &[BinConvPath::Float, BinConvPath::Packed],
        |rec, path| run(rec, geom, bits, &codes, &signs, path).map(|_| ()),
    )?;
    log::info!("binary conv {geom:?} {bits}-bit: {best:?} path ({times:.2?} s)");
    CHOICES.insert(key, best);
    Ok(best)
}

fn run(
    rec: &mut Recorder,
    geom: &ConvGeom,
    bits: u32,
    codes: &Tensor,
    signs: &Tensor,
    path: BinConvPath,
) -> Result<Tensor> {
    match path {
        BinConvPath::Float => conv::forward(rec, geom, codes, signs),
        BinConvPath::Packed => {
            let x = pack::pack_codes(rec, bits, codes)?;
            let w = pack::pack_signs(rec, signs)?;
            let ones = Tensor::from_slice(rec.gpu(), &[geom.o], &vec![1.0f32; geom.o])?;
            bconv::forward_scaled(rec, geom, bits, &x, &w, &ones)
        }
    }
}

/// acc\[n,y,x,o\] = sum codes * signs, as f32 (exact), by the given path.
pub fn forward_with(
    rec: &mut Recorder,
    geom: &ConvGeom,
    bits: u32,
    codes: &Tensor,
    signs: &Tensor,
    path: BinConvPath,
) -> Result<Tensor> {
    run(rec, geom, bits, codes, signs, path)
}

/// acc\[n,y,x,o\] = sum codes * signs, as f32 (exact), by the faster path.
pub fn forward(
    rec: &mut Recorder,
    geom: &ConvGeom,
    bits: u32,
    codes: &Tensor,
    signs: &Tensor,
) -> Result<Tensor> {
    let path = choose(rec.gpu(), geom, bits)?;
    run(rec, geom, bits, codes, signs, path)
}
