//! IDX files (MNIST, Fashion-MNIST and kin), plain or gzipped.
//!
//! An IDX file is a big-endian header, then the data:
//!   bytes 0..2 = 0, byte 2 = element type (0x08: unsigned byte), byte 3 = ndims,
//!   then ndims u32 sizes, then prod(sizes) elements.
//! Images are [n, rows, cols] (magic 0x00000803), labels [n] (magic 0x00000801).

use super::{dataset_name, Dataset, Format, Splits, FASHION_MNIST_CLASSES};
use crate::{Error, Result};
use flate2::read::GzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Element type byte for unsigned bytes, the only one image datasets use.
const UBYTE: u8 = 0x08;

/// The file holding `prefix` ("train-images", "t10k-labels", ...) in `dir`, under any
/// of the names it is distributed as: `-idx3-ubyte` or `.idx3-ubyte`, optionally `.gz`.
pub(crate) fn find_file(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let ndims = if prefix.ends_with("images") { 3 } else { 1 };
    ["-", "."]
        .iter()
        .flat_map(|sep| {
            let name = format!("{prefix}{sep}idx{ndims}-ubyte");
            [format!("{name}.gz"), name]
        })
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

/// Load `dir`'s train (train-images / train-labels) and test (t10k-images /
/// t10k-labels) splits, keeping the first `limit_*` images of each. Class names are
/// Fashion-MNIST's when the directory's name contains "fashion", else the label
/// numbers ("0".."9").
pub fn load_idx(
    dir: &Path,
    limit_train: Option<usize>,
    limit_test: Option<usize>,
) -> Result<Splits> {
    let train = load_split(dir, "train", limit_train)?;
    let test = load_split(dir, "t10k", limit_test)?;
    if (train.h, train.w) != (test.h, test.w) {
        return Err(Error::data(
            &test.images_path,
            format!(
                "images are {}x{} but the training images are {}x{}",
                test.h, test.w, train.h, train.w
            ),
        ));
    }
    let name = dataset_name(dir);
    let max_label = train
        .labels
        .iter()
        .chain(&test.labels)
        .copied()
        .max()
        .unwrap_or(0);
    let classes: Vec<String> = if name.to_lowercase().contains("fashion") && max_label < 10 {
        FASHION_MNIST_CLASSES
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        (0..(max_label as usize + 1).max(10))
            .map(|i| i.to_string())
            .collect()
    };
    let shape = (train.h, train.w, 1);
    Ok(Splits {
        train: Dataset::new(train.images, train.labels, shape, classes.clone())?,
        test: Dataset::new(test.images, test.labels, shape, classes)?,
        name,
        format: Format::Idx,
    })
}

struct IdxSplit {
    images: Vec<u8>,
    labels: Vec<u32>,
    h: usize,
    w: usize,
    images_path: PathBuf,
}

fn load_split(dir: &Path, split: &str, limit: Option<usize>) -> Result<IdxSplit> {
    let find = |kind: &str| {
        let prefix = format!("{split}-{kind}");
        find_file(dir, &prefix).ok_or_else(|| {
            let ndims = if kind == "images" { 3 } else { 1 };
            Error::data(dir, format!("missing {prefix}-idx{ndims}-ubyte (or .gz)"))
        })
    };
    let (images_path, labels_path) = (find("images")?, find("labels")?);
    let mut images = IdxReader::open(&images_path)?;
    let mut labels = IdxReader::open(&labels_path)?;
    let dims = images.header(3, "images [n, rows, cols]")?;
    let (n, h, w) = (dims[0], dims[1], dims[2]);
    let m = labels.header(1, "labels [n]")?[0];
    if n != m {
        return Err(Error::data(
            &labels_path,
            format!(
                "holds {m} labels but {} holds {n} images",
                images_path.display()
            ),
        ));
    }
    if n == 0 || h == 0 || w == 0 {
        return Err(Error::data(
            &images_path,
            format!("holds no pixels: {n} images of {h}x{w}"),
        ));
    }
    let take = limit.map_or(n, |l| l.min(n));
    let bytes = super::size::pixel_bytes("the declared images", take, h, w, 1)
        .map_err(|e| Error::data(&images_path, e.to_string()))?;
    let pixels = images.payload(bytes, &format!("{take} images of {h}x{w}"))?;
    let label_bytes = labels.payload(take, &format!("{take} labels"))?;
    if take == n {
        images.expect_end(n, "images")?;
        labels.expect_end(n, "labels")?;
    }
    Ok(IdxSplit {
        images: pixels,
        labels: label_bytes.into_iter().map(u32::from).collect(),
        h,
        w,
        images_path,
    })
}

/// A reader over one IDX file that turns every failure into an error naming it.
struct IdxReader {
    path: PathBuf,
    gzipped: bool,
    inner: Box<dyn Read>,
}

impl IdxReader {
    fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut buf = BufReader::new(file);
        // gzip streams start with 1f 8b, whatever the file is called.
        let head = buf.fill_buf().map_err(|e| Error::io(path, e))?;
        let gzipped = head.starts_with(&[0x1f, 0x8b]);
        let inner: Box<dyn Read> = if gzipped {
            Box::new(GzDecoder::new(buf))
        } else {
            Box::new(buf)
        };
        Ok(IdxReader {
            path: path.to_path_buf(),
            gzipped,
            inner,
        })
    }

    fn read_error(&self, e: std::io::Error) -> Error {
        if self.gzipped {
            Error::data(&self.path, format!("corrupt or truncated gzip data: {e}"))
        } else {
            Error::io(&self.path, e)
        }
    }

    /// Read up to `n` bytes; fewer only at the end of the data.
    fn read_up_to(&mut self, n: usize) -> Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(n.min(1 << 28));
        let res = (&mut self.inner).take(n as u64).read_to_end(&mut buf);
        res.map_err(|e| self.read_error(e))?;
        Ok(buf)
    }

    /// Read and check the header: magic 00 00 08 `ndims`, then `ndims` big-endian sizes.
    fn header(&mut self, ndims: u8, what: &str) -> Result<Vec<usize>> {
        let magic = self.read_up_to(4)?;
        let want = [0, 0, UBYTE, ndims];
        if magic.len() < 4 {
            return Err(Error::data(
                &self.path,
                "too short to be an IDX file (no header)",
            ));
        }
        if magic != want {
            return Err(Error::data(
                &self.path,
                format!(
                    "wrong IDX magic number 0x{}: expected 0x{} (unsigned-byte {what})",
                    hex(&magic),
                    hex(&want)
                ),
            ));
        }
        let sizes = self.read_up_to(4 * ndims as usize)?;
        if sizes.len() < 4 * ndims as usize {
            return Err(Error::data(&self.path, "truncated IDX header"));
        }
        Ok(sizes
            .chunks_exact(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .collect())
    }

    /// Read exactly `n` bytes of data, described as `what` in the error.
    fn payload(&mut self, n: usize, what: &str) -> Result<Vec<u8>> {
        let data = self.read_up_to(n)?;
        if data.len() < n {
            return Err(Error::data(
                &self.path,
                format!(
                    "truncated: {what} need {n} bytes after the header, the file has {}",
                    data.len()
                ),
            ));
        }
        Ok(data)
    }

    /// After all `count` items: the data must end here (which also makes a gzip
    /// stream check its CRC trailer).
    fn expect_end(&mut self, count: usize, what: &str) -> Result<()> {
        let extra = self.read_up_to(1)?;
        if !extra.is_empty() {
            return Err(Error::data(
                &self.path,
                format!("has data after the {count} {what} its header declares"),
            ));
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
