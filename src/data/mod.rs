//! Datasets for training and evaluation: readers for the CIFAR-10 / CIFAR-100 binary
//! batches, IDX files (MNIST, Fashion-MNIST; gzipped or not) and image folders
//! (`ROOT/{train,test}/<class>/*.png|jpg`), a decoded-image cache for folders, and the
//! [`Batcher`] that shuffles, augments and cuts a [`Dataset`] into batches.
//!
//! Every dataset ends up in memory as u8 pixels in NHWC order (the layout the first
//! layer uploads), with one `u32` label per image.

mod augment;
mod batch;
mod cache;
mod cifar;
mod dataset;
mod decode;
mod defaults;
mod detect;
mod folder;
mod idx;
mod resize;
mod size;

pub use augment::{deserialize_augment, Augment, AugmentKind, Draw};
pub use batch::{Batch, Batcher, Epoch};
pub use cache::{default_cache_dir, CacheLocation};
pub use cifar::{load_cifar10, load_cifar100};
pub use dataset::Dataset;
pub use defaults::{default_dataset, CIFAR10_CLASSES, FASHION_MNIST_CLASSES, SYSTEM_FASHION_MNIST};
pub use detect::detect;
pub use folder::{load_folder, FolderOptions};
pub use idx::load_idx;
pub use resize::prepare_image;
pub use size::pixel_bytes;

use crate::{Error, Result};
use std::path::Path;
use strum::{Display, EnumMessage, EnumString, IntoStaticStr, VariantArray};

/// Which reader to use. `Auto` looks at the directory's contents (see [`detect`]).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray, EnumMessage)]
#[strum(serialize_all = "lowercase", ascii_case_insensitive)]
pub enum Format {
    /// Recognize the format from the directory's contents.
    #[default]
    Auto,
    /// CIFAR-10 binary batches: data_batch_1..5.bin, test_batch.bin.
    Cifar10,
    /// CIFAR-100 binary: train.bin, test.bin.
    Cifar100,
    /// Image folders: `ROOT/{train,test}/<class>/*.{png,jpg,jpeg}`.
    Folder,
    /// IDX files (MNIST, Fashion-MNIST), gzipped or not.
    Idx,
}

/// A training set and a test set read from one place.
#[derive(Clone, Debug)]
pub struct Splits {
    pub train: Dataset,
    pub test: Dataset,
    /// The dataset directory's name, e.g. "cifar10-jpeg".
    pub name: String,
    /// The format it was read as (never `Auto`).
    pub format: Format,
}

/// How to load a dataset. `Default` reads everything at its stored size.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Keep only the first N training images (for folders: in the class-interleaved
    /// order described in [`load_folder`]).
    pub limit_train: Option<usize>,
    /// Keep only the first N test images.
    pub limit_test: Option<usize>,
    /// Bring every image to (width, height): scale so the image covers the target,
    /// then crop the center. Required for folders whose images differ in size.
    pub resize: Option<(u32, u32)>,
    /// CIFAR-100: use the 20 coarse labels instead of the 100 fine ones.
    pub cifar100_coarse: bool,
    /// Where image folders keep their decoded cache.
    pub cache: CacheLocation,
}

/// Load the train and test splits at `path`. With [`Format::Auto`] the format is
/// recognized from the directory (or from its one sub-directory that holds a dataset).
pub fn load(path: &Path, format: Format, opts: &LoadOptions) -> Result<Splits> {
    let (path, format) = match format {
        Format::Auto => detect(path)?,
        f => (path.to_path_buf(), f),
    };
    let mut splits = match format {
        Format::Cifar10 => load_cifar10(&path, opts.limit_train, opts.limit_test)?,
        Format::Cifar100 => load_cifar100(
            &path,
            opts.cifar100_coarse,
            opts.limit_train,
            opts.limit_test,
        )?,
        Format::Idx => load_idx(&path, opts.limit_train, opts.limit_test)?,
        Format::Folder => {
            // Folders resize while decoding (sizes may differ); done here.
            let folder = FolderOptions {
                resize: opts.resize,
                limit_train: opts.limit_train,
                limit_test: opts.limit_test,
                cache: opts.cache.clone(),
            };
            return load_folder(&path, &folder);
        }
        Format::Auto => {
            return Err(Error::data(
                &path,
                "the dataset format could not be recognized",
            ))
        }
    };
    if let Some((w, h)) = opts.resize {
        splits.train = splits.train.resized(w, h)?;
        splits.test = splits.test.resized(w, h)?;
    }
    Ok(splits)
}

/// The last component of `path`, used as the dataset's name.
pub(crate) fn dataset_name(path: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dataset".to_string())
}
