//! Image folders: `ROOT/train/<class>/*.{png,jpg,jpeg}` and `ROOT/test/<class>/...`.

use super::cache::{self, CacheLocation, KeyHasher};
use super::decode::{decode_images, image_size, Target};
use super::{dataset_name, Dataset, Format, Splits};
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// How to load an image folder.
#[derive(Clone, Debug, Default)]
pub struct FolderOptions {
    /// Bring every image to (width, height): scale to cover, then crop the center.
    /// Without it all images must have the size of the first training image.
    pub resize: Option<(u32, u32)>,
    /// Keep the first N training images (class-interleaved order, see [`load_folder`]).
    pub limit_train: Option<usize>,
    /// Keep the first N test images.
    pub limit_test: Option<usize>,
    /// Where the decoded cache lives (used only when loading everything).
    pub cache: CacheLocation,
}

/// One image file of a split.
pub(crate) struct ImageFile {
    pub path: PathBuf,
    pub label: u32,
    size: u64,
    modified_ns: u128,
}

impl AsRef<Path> for ImageFile {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

/// Load an image folder. Classes are the sub-directories of `train/`, sorted by name
/// (label = position), and `test/` must have the same ones. Files with the extensions
/// png, jpg, jpeg (any case) are read, sorted by name within a class, then interleaved
/// across classes (class 0's first image, class 1's first, ..., class 0's second, ...)
/// so that the first N images of a split are balanced. Images are decoded to RGB on
/// all cores.
///
/// A full load (no limits) is cached in the cache directory, keyed by the folder's
/// files (paths, sizes, modification times) and the resize target; the next full load
/// reads the cache. A cache that fails its checks is ignored (with a warning) and
/// rebuilt. Limited loads decode just the images they keep and leave the cache alone.
pub fn load_folder(root: &Path, opts: &FolderOptions) -> Result<Splits> {
    let (classes, train_files) = scan_split(root, "train")?;
    let (test_classes, test_files) = scan_split(root, "test")?;
    check_same_classes(root, &classes, &test_classes)?;
    let name = dataset_name(root);
    let limited =
        |files: &[ImageFile], limit: Option<usize>| limit.is_some_and(|l| l < files.len());
    let full = !limited(&train_files, opts.limit_train) && !limited(&test_files, opts.limit_test);
    let cache_file = match opts.cache.dir() {
        Some(dir) if full => {
            let key = cache_key(root, opts.resize, &train_files, &test_files);
            Some((cache::cache_path(&dir, &name, key), key))
        }
        _ => None,
    };
    if let Some((path, key)) = &cache_file {
        match cache::read(path, *key) {
            Ok(Some((train, test))) => {
                log::info!(
                    "{}: read decoded images from {}",
                    root.display(),
                    path.display()
                );
                return Ok(Splits {
                    train,
                    test,
                    name,
                    format: Format::Folder,
                });
            }
            Ok(None) => {}
            Err(e) => log::warn!("{e}; rebuilding it"),
        }
    }
    let train_kept = first_n(&train_files, opts.limit_train);
    let test_kept = first_n(&test_files, opts.limit_test);
    let (train, test) = decode_splits(
        root,
        opts.resize,
        (&train_files, train_kept, test_kept),
        classes,
    )?;
    if let Some((path, key)) = &cache_file {
        match cache::write(path, *key, &train, &test) {
            Ok(()) => log::info!(
                "{}: cached decoded images in {}",
                root.display(),
                path.display()
            ),
            Err(e) => log::warn!("could not write the dataset cache: {e}"),
        }
    }
    Ok(Splits {
        train,
        test,
        name,
        format: Format::Folder,
    })
}

fn first_n(files: &[ImageFile], limit: Option<usize>) -> &[ImageFile] {
    &files[..files.len().min(limit.unwrap_or(usize::MAX))]
}

fn check_same_classes(root: &Path, train: &[String], test: &[String]) -> Result<()> {
    if train == test {
        return Ok(());
    }
    let only = |a: &[String], b: &[String]| -> String {
        let v: Vec<&str> = a
            .iter()
            .filter(|x| !b.contains(x))
            .map(String::as_str)
            .collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    };
    Err(Error::data(
        root.join("test"),
        format!(
            "class folders differ from train/: only in train: {}; only in test: {}",
            only(train, test),
            only(test, train)
        ),
    ))
}

/// Decode the kept train and test files. The size is the resize target, or else the
/// size of the first training image (`all_train[0]`, kept or not).
fn decode_splits(
    root: &Path,
    resize: Option<(u32, u32)>,
    (all_train, train, test): (&[ImageFile], &[ImageFile], &[ImageFile]),
    classes: Vec<String>,
) -> Result<(Dataset, Dataset)> {
    let first = &all_train
        .first()
        .ok_or_else(|| Error::data(root, "no training images"))?
        .path;
    let (width, height) = match resize {
        Some(size) => size,
        None => image_size(first)?,
    };
    if width == 0 || height == 0 {
        return Err(Error::Invalid(format!(
            "resize target {width}x{height} must be at least 1x1"
        )));
    }
    // The size comes from --resize or from the first file's header: check it before
    // allocating for every image.
    let what = match resize {
        Some(_) => format!("--resize {height}x{width}"),
        None => format!("{} (its declared size sets every image's)", first.display()),
    };
    super::size::pixel_bytes(
        &what,
        train.len() + test.len(),
        height as usize,
        width as usize,
        3,
    )?;
    let target = Target {
        width,
        height,
        resize: resize.is_some(),
        like: first,
    };
    log::info!(
        "{}: decoding {} + {} images",
        root.display(),
        train.len(),
        test.len()
    );
    let started = std::time::Instant::now();
    let train_pixels = decode_images(train, &target)?;
    let test_pixels = decode_images(test, &target)?;
    log::info!("decoded in {:.1} s", started.elapsed().as_secs_f64());
    let shape = (height as usize, width as usize, 3);
    let labels = |files: &[ImageFile]| files.iter().map(|f| f.label).collect();
    let train = Dataset::new(train_pixels, labels(train), shape, classes.clone())?;
    let test = Dataset::new(test_pixels, labels(test), shape, classes)?;
    Ok((train, test))
}

/// Classes (sorted sub-directory names) and image files of `root/split`.
fn scan_split(root: &Path, split: &str) -> Result<(Vec<String>, Vec<ImageFile>)> {
    let dir = root.join(split);
    if !dir.is_dir() {
        return Err(Error::data(
            &dir,
            "missing: an image folder dataset needs ROOT/train/<class>/ and ROOT/test/<class>/",
        ));
    }
    let mut classes = Vec::new();
    for path in list_dir(&dir)? {
        if path.is_dir() {
            let name = file_name(&path)?;
            if !name.starts_with('.') {
                classes.push(name);
            }
        }
    }
    classes.sort();
    if classes.is_empty() {
        return Err(Error::data(
            &dir,
            "holds no class folders (expected <class>/*.png|jpg)",
        ));
    }
    let mut per_class = Vec::with_capacity(classes.len());
    for (label, class) in classes.iter().enumerate() {
        let class_dir = dir.join(class);
        let mut files = Vec::new();
        let entries = std::fs::read_dir(&class_dir).map_err(|e| Error::io(&class_dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&class_dir, e))?;
            let path = entry.path();
            if !is_image_name(&path) {
                continue;
            }
            // The entry's own stat is cheaper than a path lookup; links are followed.
            let meta = match entry.file_type() {
                Ok(t) if !t.is_symlink() => entry.metadata(),
                _ => std::fs::metadata(&path),
            };
            let meta = meta.map_err(|e| Error::io(&path, e))?;
            if meta.is_file() {
                let modified_ns = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                files.push(ImageFile {
                    path,
                    label: label as u32,
                    size: meta.len(),
                    modified_ns,
                });
            }
        }
        if files.is_empty() {
            return Err(Error::data(
                &class_dir,
                "holds no images (.png, .jpg or .jpeg)",
            ));
        }
        files.sort_by(|a, b| a.path.file_name().cmp(&b.path.file_name()));
        per_class.push(files.into_iter());
    }
    // Round-robin over classes: the first N images are balanced.
    let mut files = Vec::new();
    loop {
        let before = files.len();
        files.extend(per_class.iter_mut().filter_map(Iterator::next));
        if files.len() == before {
            break;
        }
    }
    Ok((classes, files))
}

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    entries
        .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, e)))
        .collect()
}

fn file_name(path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(String::from)
        .ok_or_else(|| Error::data(path, "folder name is not valid UTF-8"))
}

/// A png/jpg/jpeg file (any case), not hidden (macOS leaves `._name.jpg` files behind).
fn is_image_name(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'));
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    !hidden && matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg"))
}

/// Hash of what the decoded pixels depend on: the folder, every file (path relative to
/// the root, label, size, modification time), the resize target.
fn cache_key(
    root: &Path,
    resize: Option<(u32, u32)>,
    train: &[ImageFile],
    test: &[ImageFile],
) -> u64 {
    let mut h = KeyHasher::new();
    let canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    h.bytes(canonical.as_os_str().as_encoded_bytes());
    match resize {
        Some((w, h2)) => h.u64(1 << 63 | (w as u64) << 32 | h2 as u64),
        None => h.u64(0),
    }
    for files in [train, test] {
        h.u64(files.len() as u64);
        for f in files {
            let rel = f.path.strip_prefix(root).unwrap_or(&f.path);
            h.bytes(rel.as_os_str().as_encoded_bytes());
            h.u64(f.label as u64);
            h.u64(f.size);
            h.u64(f.modified_ns as u64);
            h.u64((f.modified_ns >> 64) as u64);
        }
    }
    h.finish()
}
