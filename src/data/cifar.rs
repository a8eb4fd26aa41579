//! The CIFAR-10 and CIFAR-100 binary formats (the "binary version" archives).
//!
//! A record is its label byte(s), then 3072 pixel bytes as three 32x32 planes R, G, B
//! (CHW). CIFAR-10 records have one label; CIFAR-100 records have a coarse label
//! (0..19) then a fine label (0..99).

use super::{dataset_name, Dataset, Format, Splits, CIFAR10_CLASSES};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

const SIDE: usize = 32;
const PLANE: usize = SIDE * SIDE;
/// Pixel bytes per record: 3 planes of 32x32.
const PIXELS: usize = 3 * PLANE;

/// Load CIFAR-10 from `dir`: data_batch_1..5.bin (train), test_batch.bin (test),
/// class names from batches.meta.txt when present.
pub fn load_cifar10(
    dir: &Path,
    limit_train: Option<usize>,
    limit_test: Option<usize>,
) -> Result<Splits> {
    let train_files: Vec<PathBuf> = (1..=5)
        .map(|i| dir.join(format!("data_batch_{i}.bin")))
        .collect();
    let test_files = [dir.join("test_batch.bin")];
    let classes = match read_names(&dir.join("batches.meta.txt"))? {
        Some(names) => names,
        None => CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect(),
    };
    let layout = Records {
        labels: 1,
        label_at: 0,
        classes: classes.len(),
    };
    Ok(Splits {
        train: read_split(&train_files, &layout, limit_train, &classes)?,
        test: read_split(&test_files, &layout, limit_test, &classes)?,
        name: dataset_name(dir),
        format: Format::Cifar10,
    })
}

/// Load CIFAR-100 from `dir`: train.bin, test.bin, with the fine labels (or the coarse
/// ones when `coarse`); names from fine_label_names.txt / coarse_label_names.txt when
/// present, else "class_0", "class_1", ...
pub fn load_cifar100(
    dir: &Path,
    coarse: bool,
    limit_train: Option<usize>,
    limit_test: Option<usize>,
) -> Result<Splits> {
    let (names_file, count, label_at) = if coarse {
        ("coarse_label_names.txt", 20, 0)
    } else {
        ("fine_label_names.txt", 100, 1)
    };
    let classes = match read_names(&dir.join(names_file))? {
        Some(names) => names,
        None => (0..count).map(|i| format!("class_{i}")).collect(),
    };
    let layout = Records {
        labels: 2,
        label_at,
        classes: classes.len(),
    };
    Ok(Splits {
        train: read_split(&[dir.join("train.bin")], &layout, limit_train, &classes)?,
        test: read_split(&[dir.join("test.bin")], &layout, limit_test, &classes)?,
        name: dataset_name(dir),
        format: Format::Cifar100,
    })
}

/// How a record is laid out.
struct Records {
    /// Label bytes before the pixels.
    labels: usize,
    /// Which label byte to use.
    label_at: usize,
    /// Labels must be below this.
    classes: usize,
}

/// Read records from `files` in order until `limit` images (all when `None`).
fn read_split(
    files: &[PathBuf],
    layout: &Records,
    limit: Option<usize>,
    classes: &[String],
) -> Result<Dataset> {
    if let Some(missing) = files.iter().find(|f| !f.is_file()) {
        return Err(Error::data(
            missing,
            "missing (expected a CIFAR binary batch file)",
        ));
    }
    let record = layout.labels + PIXELS;
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for file in files {
        if limit.is_some_and(|l| labels.len() >= l) {
            break;
        }
        let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
        if bytes.is_empty() {
            return Err(Error::data(file, "is empty (expected CIFAR records)"));
        }
        if bytes.len() % record != 0 {
            return Err(Error::data(
                file,
                format!(
                    "truncated record: the file is {} bytes, not a whole number of {record}-byte \
                     records (record {} is incomplete)",
                    bytes.len(),
                    bytes.len() / record
                ),
            ));
        }
        for (r, rec) in bytes.chunks_exact(record).enumerate() {
            if limit.is_some_and(|l| labels.len() >= l) {
                break;
            }
            let label = rec[layout.label_at];
            if label as usize >= layout.classes {
                return Err(Error::data(
                    file,
                    format!(
                        "record {r} has label {label}, expected 0..{}",
                        layout.classes - 1
                    ),
                ));
            }
            labels.push(label as u32);
            chw_to_hwc(&rec[layout.labels..], &mut images);
        }
    }
    Dataset::new(images, labels, (SIDE, SIDE, 3), classes.to_vec())
}

/// Append one CIFAR image in HWC order: hwc[(y*32 + x)*3 + ch] = chw[ch*1024 + y*32 + x].
fn chw_to_hwc(chw: &[u8], out: &mut Vec<u8>) {
    let (r, rest) = chw.split_at(PLANE);
    let (g, b) = rest.split_at(PLANE);
    for p in 0..PLANE {
        out.extend_from_slice(&[r[p], g[p], b[p]]);
    }
}

/// Class names, one per non-empty line, or `None` when the file does not exist.
fn read_names(path: &Path) -> Result<Option<Vec<String>>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let names: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            if names.is_empty() {
                return Err(Error::data(path, "holds no class names"));
            }
            Ok(Some(names))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}
