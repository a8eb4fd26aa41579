//! CIFAR binary and IDX readers, format detection, the shipped sample.

use crate::{assert_names, cifar_record, gzip, idx_bytes, pixel, tmp_dir, write_idx};
use pixembed::data::{self, Format, LoadOptions, FASHION_MNIST_CLASSES};
use std::path::Path;

fn write_cifar10(dir: &Path, per_batch: usize, n_test: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut i = 0;
    for b in 1..=5 {
        let mut bytes = Vec::new();
        for _ in 0..per_batch {
            bytes.extend(cifar_record(&[(i % 10) as u8], i));
            i += 1;
        }
        std::fs::write(dir.join(format!("data_batch_{b}.bin")), bytes).unwrap();
    }
    let bytes: Vec<u8> = (0..n_test)
        .flat_map(|i| cifar_record(&[(9 - i % 10) as u8], 1000 + i))
        .collect();
    std::fs::write(dir.join("test_batch.bin"), bytes).unwrap();
}

/// Image `img` of `d` at (y, x, ch), read through the NHWC layout.
fn at(d: &data::Dataset, img: usize, y: usize, x: usize, ch: usize) -> u8 {
    d.images[((img * d.h + y) * d.w + x) * d.c + ch]
}

#[test]
fn cifar10_reads_all_batches_and_converts_chw_to_hwc() {
    let tmp = tmp_dir("cifar10");
    let dir = tmp.join("cifar-10-batches-bin");
    write_cifar10(&dir, 3, 4);
    let s = data::load_cifar10(&dir, None, None).unwrap();
    assert_eq!((s.train.n, s.test.n), (15, 4));
    assert_eq!((s.train.h, s.train.w, s.train.c), (32, 32, 3));
    assert_eq!(
        s.train.classes,
        data::CIFAR10_CLASSES.map(String::from).to_vec()
    );
    assert_eq!(
        s.train.labels,
        (0..15).map(|i| (i % 10) as u32).collect::<Vec<_>>()
    );
    assert_eq!(s.test.labels, vec![9, 8, 7, 6]);
    for (img, y, x, ch) in [(0, 0, 0, 0), (7, 5, 31, 2), (14, 31, 0, 1)] {
        assert_eq!(
            at(&s.train, img, y, x, ch),
            pixel(img, y, x, ch),
            "train {img} ({y},{x},{ch})"
        );
    }
    assert_eq!(at(&s.test, 3, 9, 4, 2), pixel(1003, 9, 4, 2));
    assert_eq!(
        (s.name.as_str(), s.format),
        ("cifar-10-batches-bin", Format::Cifar10)
    );

    // Limits stop early; names come from batches.meta.txt when present.
    let names: Vec<String> = (0..10).map(|i| format!("thing {i}")).collect();
    std::fs::write(dir.join("batches.meta.txt"), names.join("\n") + "\n\n").unwrap();
    let s = data::load_cifar10(&dir, Some(7), Some(1)).unwrap();
    assert_eq!((s.train.n, s.test.n, s.train.labels[6]), (7, 1, 6));
    assert_eq!(s.train.classes, names);
}

#[test]
fn cifar100_uses_fine_labels_or_coarse_on_request() {
    let dir = tmp_dir("cifar100");
    let rec = |i: usize| cifar_record(&[(i % 20) as u8, (i * 7 % 100) as u8], i);
    std::fs::write(
        dir.join("train.bin"),
        (0..5).flat_map(rec).collect::<Vec<_>>(),
    )
    .unwrap();
    std::fs::write(
        dir.join("test.bin"),
        (5..7).flat_map(rec).collect::<Vec<_>>(),
    )
    .unwrap();
    let fine = data::load_cifar100(&dir, false, None, None).unwrap();
    assert_eq!(fine.train.labels, vec![0, 7, 14, 21, 28]);
    assert_eq!(fine.test.labels, vec![35, 42]);
    assert_eq!(
        (fine.train.classes.len(), fine.train.classes[3].as_str()),
        (100, "class_3")
    );
    assert_eq!(at(&fine.test, 1, 2, 3, 1), pixel(6, 2, 3, 1));
    let opts = LoadOptions {
        cifar100_coarse: true,
        ..Default::default()
    };
    let coarse = data::load(&dir, Format::Cifar100, &opts).unwrap();
    assert_eq!(coarse.train.labels, vec![0, 1, 2, 3, 4]);
    assert_eq!(coarse.train.classes.len(), 20);
}

#[test]
fn cifar_truncated_record_is_an_error_naming_the_file() {
    let dir = tmp_dir("cifar-trunc");
    write_cifar10(&dir, 2, 2);
    let file = dir.join("data_batch_3.bin");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(3073 + 100);
    std::fs::write(&file, bytes).unwrap();
    let err = data::load_cifar10(&dir, None, None).unwrap_err();
    assert_names(err, &file, "truncated record");
    // A missing batch is named too.
    std::fs::remove_file(dir.join("test_batch.bin")).unwrap();
    let err = data::load_cifar10(&dir, Some(1), None).unwrap_err();
    assert_names(err, &dir.join("test_batch.bin"), "missing");
}

#[test]
fn idx_plain_and_gzipped_read_the_same() {
    let root = tmp_dir("idx");
    write_idx(&root.join("plain"), (12, 5), (7, 9), false);
    write_idx(&root.join("gz"), (12, 5), (7, 9), true);
    let plain = data::load_idx(&root.join("plain"), None, None).unwrap();
    let gz = data::load_idx(&root.join("gz"), None, None).unwrap();
    assert_eq!(plain.train, gz.train);
    assert_eq!(plain.test, gz.test);
    assert_eq!(
        (plain.train.n, plain.train.h, plain.train.w, plain.train.c),
        (12, 7, 9, 1)
    );
    assert_eq!(plain.test.labels, vec![0, 1, 2, 3, 4]);
    assert_eq!(at(&plain.train, 11, 6, 8, 0), pixel(11, 6, 8, 0));
    assert_eq!(
        plain.train.classes,
        (0..10).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    let limited = data::load_idx(&root.join("gz"), Some(3), Some(2)).unwrap();
    assert_eq!((limited.train.n, limited.test.n), (3, 2));
    assert_eq!(limited.train.images[..], gz.train.images[..3 * 63]);
}

#[test]
fn idx_class_names_follow_the_directory_name() {
    let tmp = tmp_dir("idx-names");
    let dir = tmp.join("My-Fashion-MNIST");
    write_idx(&dir, (3, 2), (4, 4), true);
    let s = data::load_idx(&dir, None, None).unwrap();
    assert_eq!(
        s.train.classes,
        FASHION_MNIST_CLASSES.map(String::from).to_vec()
    );
    assert_eq!(s.name, "My-Fashion-MNIST");
}

#[test]
fn idx_wrong_magic_is_an_error_naming_the_file() {
    let dir = tmp_dir("idx-magic");
    write_idx(&dir, (4, 2), (3, 3), false);
    // A labels file (ndims 1) where the images should be.
    let file = dir.join("train-images-idx3-ubyte");
    std::fs::write(&file, idx_bytes(&[4], &[0; 4])).unwrap();
    assert_names(
        data::load_idx(&dir, None, None).unwrap_err(),
        &file,
        "magic",
    );
}

#[test]
fn idx_count_mismatch_is_an_error_naming_the_file() {
    let dir = tmp_dir("idx-count");
    write_idx(&dir, (4, 2), (3, 3), true);
    let file = dir.join("t10k-labels-idx1-ubyte.gz");
    std::fs::write(&file, gzip(&idx_bytes(&[3], &[0; 3]))).unwrap();
    let err = data::load_idx(&dir, None, None).unwrap_err();
    assert_names(err, &file, "holds 3 labels but");
}

#[test]
fn idx_truncation_is_an_error_naming_the_file() {
    let dir = tmp_dir("idx-trunc");
    write_idx(&dir, (40, 2), (8, 8), true);
    // A gzip stream cut in half.
    let file = dir.join("train-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    assert_names(data::load_idx(&dir, None, None).unwrap_err(), &file, "gzip");
    // A plain file whose data is shorter than its header says.
    write_idx(&dir, (40, 2), (8, 8), false);
    std::fs::remove_file(&file).unwrap();
    let file = dir.join("train-images-idx3-ubyte");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 1]).unwrap();
    assert_names(
        data::load_idx(&dir, None, None).unwrap_err(),
        &file,
        "truncated",
    );
}

#[test]
fn auto_detects_every_format() {
    let root = tmp_dir("detect");
    write_cifar10(&root.join("c10"), 1, 1);
    std::fs::create_dir_all(root.join("c100")).unwrap();
    for f in ["train.bin", "test.bin"] {
        std::fs::write(root.join("c100").join(f), cifar_record(&[1, 2], 0)).unwrap();
    }
    write_idx(&root.join("idx"), (2, 2), (3, 3), true);
    for split in ["train", "test"] {
        std::fs::create_dir_all(root.join("folder").join(split).join("a")).unwrap();
    }
    for (dir, want) in [
        ("c10", Format::Cifar10),
        ("c100", Format::Cifar100),
        ("idx", Format::Idx),
        ("folder", Format::Folder),
    ] {
        assert_eq!(
            data::detect(&root.join(dir)).unwrap(),
            (root.join(dir), want),
            "{dir}"
        );
    }
    // A folder holding one dataset resolves to it; holding several is an error.
    let outer = root.join("outer");
    write_idx(&outer.join("inner"), (2, 2), (3, 3), false);
    assert_eq!(
        data::detect(&outer).unwrap(),
        (outer.join("inner"), Format::Idx)
    );
    let s = data::load(&outer, Format::Auto, &LoadOptions::default()).unwrap();
    assert_eq!(
        (s.format, s.name.as_str(), s.train.n),
        (Format::Idx, "inner", 2)
    );
    assert!(data::detect(&root)
        .unwrap_err()
        .to_string()
        .contains("several"));
    let empty = tmp_dir("detect-empty");
    assert_names(
        data::detect(&empty).unwrap_err(),
        &empty,
        "no dataset recognized",
    );
}

#[test]
fn format_parses_and_prints() {
    for f in [
        Format::Auto,
        Format::Cifar10,
        Format::Cifar100,
        Format::Folder,
        Format::Idx,
    ] {
        assert_eq!(f.to_string().parse::<Format>().unwrap(), f);
    }
    assert_eq!("CIFAR10".parse::<Format>().unwrap(), Format::Cifar10);
    assert!("mnist".parse::<Format>().is_err());
}

#[test]
fn load_resizes_non_folder_datasets() {
    let dir = tmp_dir("idx-resize");
    write_idx(&dir, (3, 2), (28, 28), false);
    let opts = LoadOptions {
        resize: Some((32, 16)),
        ..Default::default()
    };
    let s = data::load(&dir, Format::Idx, &opts).unwrap();
    assert_eq!((s.train.n, s.train.h, s.train.w, s.train.c), (3, 16, 32, 1));
    assert_eq!(s.train.images.len(), 3 * 16 * 32);
}

#[test]
fn shipped_sample_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fashion-mnist-sample");
    let s = data::load(&dir, Format::Auto, &LoadOptions::default()).unwrap();
    assert_eq!((s.train.n, s.test.n), (4000, 1000));
    assert_eq!((s.train.h, s.train.w, s.train.c), (28, 28, 1));
    assert_eq!(
        s.train.classes,
        FASHION_MNIST_CLASSES.map(String::from).to_vec()
    );
    assert!(
        s.train.class_counts().iter().all(|&c| c > 300),
        "{:?}",
        s.train.class_counts()
    );
    // The default dataset is this sample or the system's full Fashion-MNIST.
    let (path, format) = data::default_dataset().unwrap();
    assert_eq!(format, Format::Idx);
    let opts = LoadOptions {
        limit_train: Some(10),
        limit_test: Some(10),
        ..Default::default()
    };
    let d = data::load(&path, format, &opts).unwrap();
    assert_eq!((d.train.n, d.train.h, d.train.classes.len()), (10, 28, 10));
}

/// Sizes from a file's header or from --resize are checked before anything is allocated
/// for them: an error that says what is too big, not a panic or an out-of-memory abort.
#[test]
fn huge_declared_sizes_are_errors() {
    let tmp = tmp_dir("huge-idx");
    let dir = tmp.join("huge");
    std::fs::create_dir_all(&dir).unwrap();
    // 60,000 images of 65,535 x 65,535: 2.6e14 bytes, declared by a 16-byte header.
    for split in ["train", "t10k"] {
        std::fs::write(
            dir.join(format!("{split}-images-idx3-ubyte")),
            crate::idx_bytes(&[60_000, 65_535, 65_535], &[0; 64]),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{split}-labels-idx1-ubyte")),
            crate::idx_bytes(&[60_000], &[0; 64]),
        )
        .unwrap();
    }
    let e = data::load(&dir, Format::Idx, &Default::default()).unwrap_err();
    // Refused for its size before any pixel is read (not as a truncated file).
    assert!(
        e.to_string().contains("65535x65535") && e.to_string().contains("memory available"),
        "{e}"
    );
    // A small dataset resized to a huge size.
    let idx = tmp.join("small");
    crate::write_idx(&idx, (4, 2), (8, 8), false);
    let opts = data::LoadOptions {
        resize: Some((1 << 20, 1 << 20)),
        ..Default::default()
    };
    let e = data::load(&idx, Format::Idx, &opts).unwrap_err();
    assert!(e.to_string().contains("1048576x1048576"), "{e}");
}
