//! The dataset layer: every reader on small files written here, their errors on bad
//! input, the decoded cache, format detection, the batcher's determinism, the shipped
//! sample, and (when PIXEMBED_DATA / PIXEMBED_FASHION_MNIST are set) the real data.
//! CPU only.

mod common;

#[path = "data/batching.rs"]
mod batching;
#[path = "data/folders.rs"]
mod folders;
#[path = "data/readers.rs"]
mod readers;
#[path = "data/real.rs"]
mod real;

use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A fresh, empty directory under the system temp dir, unique to this process and
/// `name`, removed when dropped.
pub struct TmpDir(PathBuf);

impl std::ops::Deref for TmpDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn tmp_dir(name: &str) -> TmpDir {
    let dir = std::env::temp_dir().join(format!("pixembed-data-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TmpDir(dir)
}

/// An unsigned-byte IDX file: 00 00 08 ndims, big-endian sizes, data.
pub fn idx_bytes(sizes: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, sizes.len() as u8];
    for s in sizes {
        out.extend_from_slice(&s.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Pixel byte of test image `i` at (y, x, ch): distinct enough to catch mix-ups.
pub fn pixel(i: usize, y: usize, x: usize, ch: usize) -> u8 {
    (i * 37 + y * 11 + x * 3 + ch * 101) as u8
}

/// Write an MNIST-style IDX dataset of `n_train` / `n_test` h x w images (pixels from
/// [`pixel`], labels i % 10) into `dir`, gzipped or not.
pub fn write_idx(dir: &Path, (n_train, n_test): (usize, usize), (h, w): (usize, usize), gz: bool) {
    std::fs::create_dir_all(dir).unwrap();
    for (split, n) in [("train", n_train), ("t10k", n_test)] {
        let mut images = Vec::new();
        for i in 0..n {
            for y in 0..h {
                for x in 0..w {
                    images.push(pixel(i, y, x, 0));
                }
            }
        }
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        let files = [
            (
                format!("{split}-images-idx3-ubyte"),
                idx_bytes(&[n as u32, h as u32, w as u32], &images),
            ),
            (
                format!("{split}-labels-idx1-ubyte"),
                idx_bytes(&[n as u32], &labels),
            ),
        ];
        for (name, bytes) in files {
            if gz {
                std::fs::write(dir.join(format!("{name}.gz")), gzip(&bytes)).unwrap();
            } else {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }
}

/// A CIFAR record: label bytes, then image `i` of [`pixel`] as R, G, B planes of 32x32.
pub fn cifar_record(labels: &[u8], i: usize) -> Vec<u8> {
    let mut rec = labels.to_vec();
    for ch in 0..3 {
        for y in 0..32 {
            for x in 0..32 {
                rec.push(pixel(i, y, x, ch));
            }
        }
    }
    rec
}

/// Assert that `err` is a data/IO error whose message names `file` and contains `words`.
pub fn assert_names(err: pixembed::Error, file: &Path, words: &str) {
    let msg = err.to_string();
    eprintln!("expected error: {msg}");
    let name = file.display().to_string();
    assert!(msg.contains(&name), "error should name {name}: {msg}");
    assert!(msg.contains(words), "error should say {words:?}: {msg}");
}
