//! Writes assets/fashion-mnist-sample/: the first 4000 training and first 1000 test
//! images (and labels) of Fashion-MNIST, as gzipped IDX files in the original layout.
//!
//!     cargo run --release --example make_fashion_sample -- \
//!         /usr/share/datasets/fashion-mnist assets/fashion-mnist-sample
//!
//! The source is Debian's `dataset-fashion-mnist` package (or any folder holding the
//! four original .gz files).

use anyhow::{bail, Context, Result};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::{Read, Write};
use std::path::Path;

const TRAIN: usize = 4000;
const TEST: usize = 1000;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, dst] = args.as_slice() else {
        bail!("usage: make_fashion_sample SOURCE_DIR OUTPUT_DIR");
    };
    let (src, dst) = (Path::new(src), Path::new(dst));
    std::fs::create_dir_all(dst)?;
    for (name, keep) in [
        ("train-images-idx3-ubyte", TRAIN),
        ("train-labels-idx1-ubyte", TRAIN),
        ("t10k-images-idx3-ubyte", TEST),
        ("t10k-labels-idx1-ubyte", TEST),
    ] {
        let from = src.join(format!("{name}.gz"));
        let mut data = Vec::new();
        GzDecoder::new(std::fs::File::open(&from).with_context(|| from.display().to_string())?)
            .read_to_end(&mut data)
            .with_context(|| from.display().to_string())?;
        let out = head(&data, keep).with_context(|| from.display().to_string())?;
        let to = dst.join(format!("{name}.gz"));
        let mut gz = GzEncoder::new(std::fs::File::create(&to)?, Compression::best());
        gz.write_all(&out)?;
        gz.finish()?;
        println!("{}: {keep} items", to.display());
    }
    Ok(())
}

/// The IDX file `data` cut to its first `keep` items: the header with the count
/// (first size) replaced, then keep * (product of the other sizes) bytes.
fn head(data: &[u8], keep: usize) -> Result<Vec<u8>> {
    if data.len() < 4 || data[..3] != [0, 0, 8] {
        bail!("not an unsigned-byte IDX file");
    }
    let ndims = data[3] as usize;
    let header = 4 + 4 * ndims;
    let sizes: Vec<usize> = data[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    if sizes[0] < keep {
        bail!("holds {} items, fewer than {keep}", sizes[0]);
    }
    let item: usize = sizes[1..].iter().product();
    let mut out = data[..header].to_vec();
    out[4..8].copy_from_slice(&(keep as u32).to_be_bytes());
    out.extend_from_slice(&data[header..header + keep * item]);
    Ok(out)
}
