//! Standard class names and the dataset used when none is named.

use super::Format;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The CIFAR-10 classes in label order (0..9).
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// The Fashion-MNIST classes in label order (0..9).
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Where Debian's `dataset-fashion-mnist` package puts the full Fashion-MNIST.
pub const SYSTEM_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// The sample shipped with the crate (4000 train / 1000 test Fashion-MNIST images).
const SAMPLE_DIR: &str = "assets/fashion-mnist-sample";

/// The dataset to use when the user names none: the system's full Fashion-MNIST
/// (`apt-get install dataset-fashion-mnist`) if installed, else the sample in
/// `assets/`: found where the crate was built, then beside the executable (or any
/// folder above it), then under the current directory.
pub fn default_dataset() -> Result<(PathBuf, Format)> {
    let system = Path::new(SYSTEM_FASHION_MNIST);
    if holds_idx(system) {
        return Ok((system.to_path_buf(), Format::Idx));
    }
    let mut tried = vec![system.to_path_buf()];
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLE_DIR);
    let beside_exe = std::env::current_exe().ok().into_iter().flat_map(|exe| {
        exe.ancestors()
            .skip(1)
            .map(|dir| dir.join(SAMPLE_DIR))
            .collect::<Vec<_>>()
    });
    let in_cwd = std::env::current_dir().ok().map(|d| d.join(SAMPLE_DIR));
    for candidate in std::iter::once(built).chain(beside_exe).chain(in_cwd) {
        if holds_idx(&candidate) {
            return Ok((candidate, Format::Idx));
        }
        tried.push(candidate);
    }
    let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(Error::data(
        system,
        format!(
            "no default dataset: install Fashion-MNIST (`apt-get install dataset-fashion-mnist`) \
             or name a dataset directory; looked in: {}",
            list.join(", ")
        ),
    ))
}

fn holds_idx(dir: &Path) -> bool {
    super::idx::find_file(dir, "train-images").is_some()
}
