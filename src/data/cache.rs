//! The decoded-image cache for image folders: decoding 60,000 JPEGs takes seconds,
//! reading their pixels back from one file a fraction of that.
//!
//! A cache file is named by a hash of everything its contents depend on (the folder's
//! path, every image's relative path, label, size and modification time, the resize
//! target and this file format's version), so a changed folder gets a new file instead
//! of stale pixels. Layout, little-endian:
//!
//!   "PXDCACHE" | version u32 | key u64 | h u32 | w u32 | c u32 | classes u32
//!   | per class: len u32, UTF-8 bytes | n_train u64 | n_test u64
//!   | train pixels (n_train*h*w*c) | train labels (n_train u32)
//!   | test pixels | test labels | crc32 u32 of every byte between magic and crc.

use super::Dataset;
use crate::{Error, Result};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"PXDCACHE";
/// Bump when the layout or the decoding (resize filter, colour conversion) changes.
pub(crate) const VERSION: u32 = 1;

/// Where image folders keep their decoded cache.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CacheLocation {
    /// [`default_cache_dir`]: $PIXEMBED_CACHE, else $XDG_CACHE_HOME/pixembed, else
    /// ~/.cache/pixembed.
    #[default]
    Default,
    /// This directory.
    Dir(PathBuf),
    /// No cache: decode every time.
    Off,
}

impl CacheLocation {
    /// The directory to use, or `None` when caching is off or no location is known.
    pub fn dir(&self) -> Option<PathBuf> {
        match self {
            CacheLocation::Default => default_cache_dir(),
            CacheLocation::Dir(d) => Some(d.clone()),
            CacheLocation::Off => None,
        }
    }
}

/// $PIXEMBED_CACHE, else $XDG_CACHE_HOME/pixembed, else $HOME/.cache/pixembed.
pub fn default_cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("PIXEMBED_CACHE")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("pixembed")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("pixembed")))
}

/// FNV-1a, 64 bit: h = (h ^ byte) * 0x100000001b3 for each byte, from 0xcbf29ce484222325.
/// Written out (not std's Hasher) so a key means the same on every build.
pub(crate) struct KeyHasher(u64);

impl KeyHasher {
    pub(crate) fn new() -> Self {
        let mut h = KeyHasher(0xcbf2_9ce4_8422_2325);
        h.u64(VERSION as u64);
        h
    }
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.u64(bytes.len() as u64);
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    pub(crate) fn u64(&mut self, v: u64) {
        for b in v.to_le_bytes() {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

/// `dir/<name>-<key as 16 hex digits>.bin`, `name` cut down to [A-Za-z0-9_-].
pub(crate) fn cache_path(dir: &Path, name: &str, key: u64) -> PathBuf {
    let name: String = name
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' {
                ch
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{name}-{key:016x}.bin"))
}

/// Write both splits to `path` atomically ([`crate::io::write_atomic_with`]), so a reader
/// never sees half a cache.
pub(crate) fn write(path: &Path, key: u64, train: &Dataset, test: &Dataset) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    crate::io::write_atomic_with(path, |w| write_file(w, key, train, test))
}

fn write_file(w: &mut dyn Write, key: u64, train: &Dataset, test: &Dataset) -> std::io::Result<()> {
    let mut out = CrcWriter {
        inner: w,
        crc: crc32fast::Hasher::new(),
    };
    out.inner.write_all(MAGIC)?;
    let mut header = Vec::new();
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&key.to_le_bytes());
    for v in [train.h, train.w, train.c, train.classes.len()] {
        header.extend_from_slice(&(v as u32).to_le_bytes());
    }
    for class in &train.classes {
        header.extend_from_slice(&(class.len() as u32).to_le_bytes());
        header.extend_from_slice(class.as_bytes());
    }
    header.extend_from_slice(&(train.n as u64).to_le_bytes());
    header.extend_from_slice(&(test.n as u64).to_le_bytes());
    out.write_all(&header)?;
    for d in [train, test] {
        out.write_all(&d.images)?;
        let labels: Vec<u8> = d.labels.iter().flat_map(|l| l.to_le_bytes()).collect();
        out.write_all(&labels)?;
    }
    let crc = out.crc.clone().finalize();
    out.inner.write_all(&crc.to_le_bytes())
}

struct CrcWriter<W: Write> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> CrcWriter<W> {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.crc.update(bytes);
        self.inner.write_all(bytes)
    }
}

/// Read the cache at `path` made for `key`. `Ok(None)` when there is none; an error
/// (naming the file) when it exists but is not a valid cache for `key`. The pixels are
/// read straight into the datasets' buffers (no second copy of a large file).
pub(crate) fn read(path: &Path, key: u64) -> Result<Option<(Dataset, Dataset)>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let bad = |msg: &str| Error::data(path, format!("invalid dataset cache: {msg}"));
    let mut r = CrcReader {
        inner: BufReader::with_capacity(1 << 16, file),
        crc: crc32fast::Hasher::new(),
        read: 0,
    };
    let short = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => bad("truncated"),
        _ => Error::io(path, e),
    };
    let mut magic = [0u8; 8];
    r.inner.read_exact(&mut magic).map_err(short)?;
    if &magic != MAGIC {
        return Err(bad("wrong magic"));
    }
    if r.u32().map_err(short)? != VERSION {
        return Err(bad("written by another version"));
    }
    if r.u64().map_err(short)? != key {
        return Err(bad("made for other files"));
    }
    let mut dims = [0usize; 4];
    for d in &mut dims {
        *d = r.u32().map_err(short)? as usize;
    }
    let [h, w, c, n_classes] = dims;
    let mut classes = Vec::new();
    for _ in 0..n_classes.min(1 << 20) {
        let len = r.u32().map_err(short)? as usize;
        if len > 4096 {
            return Err(bad("class name too long"));
        }
        let name = r.bytes(len).map_err(short)?;
        classes.push(String::from_utf8(name).map_err(|_| bad("class name is not UTF-8"))?);
    }
    let n_train = r.u64().map_err(short)? as usize;
    let n_test = r.u64().map_err(short)? as usize;
    // Check the total length before reading on, so a bogus header allocates nothing:
    // magic + header + (n_train + n_test) * (image bytes + 4 label bytes) + crc.
    let image_len = h
        .checked_mul(w)
        .and_then(|v| v.checked_mul(c))
        .ok_or_else(|| bad("bad shape"))?;
    let expected = (n_train.checked_add(n_test))
        .and_then(|n| n.checked_mul(image_len.checked_add(4)?))
        .and_then(|p| p.checked_add(MAGIC.len() + r.read + 4));
    if expected != Some(file_len as usize) {
        return Err(bad("length does not match its header"));
    }
    let mut split = |n: usize| -> Result<(Vec<u8>, Vec<u32>)> {
        let images = r.bytes(n * image_len).map_err(short)?;
        let labels = r.bytes(n * 4).map_err(short)?;
        let labels = labels
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok((images, labels))
    };
    let (train, test) = (split(n_train)?, split(n_test)?);
    let computed = r.crc.clone().finalize();
    let mut stored = [0u8; 4];
    r.inner.read_exact(&mut stored).map_err(short)?;
    if u32::from_le_bytes(stored) != computed {
        return Err(bad("checksum mismatch"));
    }
    let dataset = |(images, labels)| {
        Dataset::new(images, labels, (h, w, c), classes.clone()).map_err(|e| bad(&e.to_string()))
    };
    Ok(Some((dataset(train)?, dataset(test)?)))
}

/// Reads through a checksum, counting bytes.
struct CrcReader<R: Read> {
    inner: R,
    crc: crc32fast::Hasher,
    read: usize,
}

impl<R: Read> CrcReader<R> {
    fn bytes(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0u8; n];
        self.inner.read_exact(&mut buf)?;
        self.crc.update(&buf);
        self.read += n;
        Ok(buf)
    }
    fn u32(&mut self) -> std::io::Result<u32> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> std::io::Result<u64> {
        let b = self.bytes(8)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap_or_default()))
    }
}
