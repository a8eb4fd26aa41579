//! Recognize a dataset's format from the files in its directory.

use super::idx::find_file;
use super::Format;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The format of the dataset in `dir`, and the directory that holds it: `dir` itself,
/// or its one sub-directory that holds a dataset (e.g. `cifar-10-batches-bin/` inside
/// the folder an archive was unpacked into). Signs, checked in this order:
/// - CIFAR-10: data_batch_1.bin
/// - CIFAR-100: train.bin and test.bin
/// - IDX: train-images-idx3-ubyte (or .gz)
/// - image folders: train/ and test/ sub-directories
pub fn detect(dir: &Path) -> Result<(PathBuf, Format)> {
    if !dir.is_dir() {
        let msg = if dir.exists() {
            "is not a directory (a dataset is a directory)"
        } else {
            "does not exist"
        };
        return Err(Error::data(dir, msg));
    }
    if let Some(format) = detect_here(dir) {
        return Ok((dir.to_path_buf(), format));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut found: Vec<(PathBuf, Format)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter_map(|p| detect_here(&p).map(|f| (p, f)))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::data(
            dir,
            "no dataset recognized: expected CIFAR-10 (data_batch_1.bin ...), CIFAR-100 \
             (train.bin, test.bin), IDX (train-images-idx3-ubyte[.gz] ...) or image folders \
             (train/<class>/*.png|jpg, test/<class>/...)",
        )),
        _ => {
            let names: Vec<String> = found
                .iter()
                .map(|(p, f)| format!("{} ({f})", p.display()))
                .collect();
            Err(Error::data(
                dir,
                format!("holds several datasets, name one: {}", names.join(", ")),
            ))
        }
    }
}

fn detect_here(dir: &Path) -> Option<Format> {
    if dir.join("data_batch_1.bin").is_file() {
        Some(Format::Cifar10)
    } else if dir.join("train.bin").is_file() && dir.join("test.bin").is_file() {
        Some(Format::Cifar100)
    } else if find_file(dir, "train-images").is_some() {
        Some(Format::Idx)
    } else if dir.join("train").is_dir() && dir.join("test").is_dir() {
        Some(Format::Folder)
    } else {
        None
    }
}
