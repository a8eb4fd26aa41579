//! The real datasets, when present: PIXEMBED_DATA names the folder holding
//! cifar10-jpeg/, PIXEMBED_FASHION_MNIST the Fashion-MNIST IDX folder. Without them
//! these tests pass after recording the skip (tests/common: PIXEMBED_SKIP_LOG).

use pixembed::data::{
    self, CacheLocation, Format, LoadOptions, CIFAR10_CLASSES, FASHION_MNIST_CLASSES,
};
use std::path::PathBuf;
use std::time::Instant;

/// The path in `var`, or `None` (after saying why the test does not run).
fn dataset_from_env(var: &str, sub: &str) -> Option<PathBuf> {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => Some(PathBuf::from(v).join(sub).components().collect()),
        _ => {
            crate::common::record_skip(&format!("{var} not set"));
            None
        }
    }
}

fn check_cifar10(s: &data::Splits, n_train: usize, n_test: usize) {
    assert_eq!((s.train.n, s.test.n), (n_train, n_test));
    assert_eq!((s.train.h, s.train.w, s.train.c), (32, 32, 3));
    assert_eq!((s.test.h, s.test.w, s.test.c), (32, 32, 3));
    assert_eq!(s.train.classes, CIFAR10_CLASSES.map(String::from).to_vec());
    assert_eq!(s.format, Format::Folder);
}

#[test]
fn cifar10_jpeg_limited_load() {
    let Some(dir) = dataset_from_env("PIXEMBED_DATA", "cifar10-jpeg") else {
        return;
    };
    let opts = LoadOptions {
        limit_train: Some(1000),
        limit_test: Some(200),
        cache: CacheLocation::Off,
        ..Default::default()
    };
    let t = Instant::now();
    let s = data::load(&dir, Format::Auto, &opts).unwrap();
    eprintln!(
        "cifar10-jpeg, 1000 + 200 images: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    check_cifar10(&s, 1000, 200);
    // Class-interleaved order: the first 1000 are balanced.
    assert_eq!(s.train.class_counts(), vec![100; 10]);
}

#[test]
fn cifar10_jpeg_full_load_and_cache() {
    let Some(dir) = dataset_from_env("PIXEMBED_DATA", "cifar10-jpeg") else {
        return;
    };
    let opts = LoadOptions::default();
    let t = Instant::now();
    let first = data::load(&dir, Format::Folder, &opts).unwrap();
    let first_s = t.elapsed().as_secs_f64();
    check_cifar10(&first, 50000, 10000);
    assert_eq!(first.train.class_counts(), vec![5000; 10]);
    assert_eq!(first.test.class_counts(), vec![1000; 10]);
    let t = Instant::now();
    let second = data::load(&dir, Format::Folder, &opts).unwrap();
    let second_s = t.elapsed().as_secs_f64();
    eprintln!(
        "cifar10-jpeg, 60000 images: {first_s:.2} s, then {second_s:.2} s (cache in {})",
        data::default_cache_dir().map_or("nowhere".into(), |d| d.display().to_string())
    );
    assert_eq!((&second.train, &second.test), (&first.train, &first.test));
}

#[test]
fn fashion_mnist_full_load() {
    let Some(dir) = dataset_from_env("PIXEMBED_FASHION_MNIST", "") else {
        return;
    };
    let s = data::load(&dir, Format::Auto, &LoadOptions::default()).unwrap();
    assert_eq!((s.train.n, s.test.n), (60000, 10000));
    assert_eq!((s.train.h, s.train.w, s.train.c), (28, 28, 1));
    assert_eq!(
        s.train.classes,
        FASHION_MNIST_CLASSES.map(String::from).to_vec()
    );
    assert_eq!(s.train.class_counts(), vec![6000; 10]);
    assert_eq!(s.test.class_counts(), vec![1000; 10]);
}
