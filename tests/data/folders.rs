//! Image folders: decoding, ordering, resizing, errors, and the decoded cache.

use crate::{assert_names, tmp_dir};
use pixembed::data::{self, CacheLocation, FolderOptions, Format};
use std::path::Path;

/// An RGB test image whose pixels encode (seed, y, x, ch).
fn test_image(w: u32, h: u32, seed: u8) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([seed.wrapping_mul(40), (y * 9) as u8, (x * 7) as u8])
    })
}

/// ROOT/{train,test}/{a_cat,b_dog}/ with PNGs (exact pixels) of `size`:
/// train: a_cat 2, b_dog 3; test: 1 each. Seeds: a_cat 0.., b_dog 10..
fn write_folder(root: &Path, size: u32) {
    for (split, counts) in [("train", [2, 3]), ("test", [1, 1])] {
        for (class, (count, seed0)) in ["a_cat", "b_dog"].iter().zip(counts.iter().zip([0u8, 10])) {
            let dir = root.join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..*count {
                let path = dir.join(format!("{i:02}.png"));
                test_image(size, size, seed0 + i as u8).save(&path).unwrap();
            }
        }
    }
}

fn opts(cache: CacheLocation) -> FolderOptions {
    FolderOptions {
        cache,
        ..Default::default()
    }
}

#[test]
fn folder_classes_sorted_images_interleaved_pixels_exact() {
    let tmp = tmp_dir("folder");
    let root = tmp.join("pets");
    write_folder(&root, 6);
    // A JPEG with an upper-case extension and a stray text file.
    let extra = root.join("train/a_cat/zz.JPG");
    test_image(6, 6, 3)
        .save_with_format(&extra, image::ImageFormat::Jpeg)
        .unwrap();
    std::fs::write(root.join("train/a_cat/notes.txt"), "not an image").unwrap();
    let s = data::load_folder(&root, &opts(CacheLocation::Off)).unwrap();
    assert_eq!((s.name.as_str(), s.format), ("pets", Format::Folder));
    assert_eq!(s.train.classes, vec!["a_cat", "b_dog"]);
    assert_eq!(
        (s.train.n, s.test.n, s.train.h, s.train.w, s.train.c),
        (6, 2, 6, 6, 3)
    );
    // Round-robin: a0 b0 a1 b1 a2(zz.JPG) b2.
    assert_eq!(s.train.labels, vec![0, 1, 0, 1, 0, 1]);
    let expect = |seed| test_image(6, 6, seed).into_raw();
    assert_eq!(s.train.image(0).unwrap(), &expect(0)[..]);
    assert_eq!(s.train.image(3).unwrap(), &expect(11)[..]);
    assert_eq!(s.train.image(5).unwrap(), &expect(12)[..]);
    assert_eq!(s.test.image(1).unwrap(), &expect(10)[..]);
    // Limits keep the first images of that order.
    let limited = FolderOptions {
        limit_train: Some(3),
        limit_test: Some(1),
        ..opts(CacheLocation::Off)
    };
    let l = data::load_folder(&root, &limited).unwrap();
    assert_eq!(
        (l.train.n, l.test.n, l.train.labels.clone()),
        (3, 1, vec![0, 1, 0])
    );
    assert_eq!(l.train.images[..], s.train.images[..3 * 108]);
}

#[test]
fn folder_mis_sized_image_is_an_error_unless_resized() {
    let root = tmp_dir("folder-size");
    write_folder(&root, 8);
    let odd = root.join("test/b_dog/00.png");
    test_image(10, 12, 1).save(&odd).unwrap();
    let err = data::load_folder(&root, &opts(CacheLocation::Off)).unwrap_err();
    assert_names(err, &odd, "10x12");
    let resized = FolderOptions {
        resize: Some((5, 4)),
        ..opts(CacheLocation::Off)
    };
    let s = data::load_folder(&root, &resized).unwrap();
    assert_eq!(
        (s.train.h, s.train.w, s.test.images.len()),
        (4, 5, 2 * 4 * 5 * 3)
    );
}

#[test]
fn folder_corrupt_image_is_an_error_naming_the_file() {
    let root = tmp_dir("folder-corrupt");
    write_folder(&root, 4);
    let bad = root.join("train/b_dog/01.png");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
    let err = data::load_folder(&root, &opts(CacheLocation::Off)).unwrap_err();
    assert_names(err, &bad, "cannot decode image");
}

#[test]
fn folder_class_without_images_is_an_error_naming_it() {
    let root = tmp_dir("folder-empty");
    write_folder(&root, 4);
    let empty = root.join("train/c_eel");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("readme.txt"), "no images").unwrap();
    let err = data::load_folder(&root, &opts(CacheLocation::Off)).unwrap_err();
    assert_names(err, &empty, "holds no images");
}

#[test]
fn folder_train_and_test_classes_must_match() {
    let root = tmp_dir("folder-classes");
    write_folder(&root, 4);
    std::fs::rename(root.join("test/b_dog"), root.join("test/b_wolf")).unwrap();
    let err = data::load_folder(&root, &opts(CacheLocation::Off)).unwrap_err();
    assert_names(
        err,
        &root.join("test"),
        "only in train: b_dog; only in test: b_wolf",
    );
}

/// Replace `path`'s contents with garbage of the same length and keep its
/// modification time, so only a decode (not the cache key) can notice.
fn sabotage_keeping_size_and_mtime(path: &Path) {
    let meta = std::fs::metadata(path).unwrap();
    std::fs::write(path, vec![0xAB; meta.len() as usize]).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.set_modified(meta.modified().unwrap()).unwrap();
}

#[test]
fn folder_cache_round_trip_and_corrupt_cache_recovery() {
    let base = tmp_dir("folder-cache");
    let (root, cache_dir) = (base.join("pets"), base.join("cache"));
    write_folder(&root, 5);
    let cached = opts(CacheLocation::Dir(cache_dir.clone()));
    let first = data::load_folder(&root, &cached).unwrap();
    let files: Vec<_> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one cache file, no temporaries: {files:?}");
    let cache_file = &files[0];
    assert!(cache_file
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("pets-"));
    let good_cache = std::fs::read(cache_file).unwrap();

    // A flipped byte: the cache is ignored, rebuilt, and the result unchanged.
    let mut bad = good_cache.clone();
    bad[good_cache.len() / 2] ^= 0xFF;
    std::fs::write(cache_file, &bad).unwrap();
    let rebuilt = data::load_folder(&root, &cached).unwrap();
    assert_eq!((&rebuilt.train, &rebuilt.test), (&first.train, &first.test));
    assert_eq!(
        std::fs::read(cache_file).unwrap(),
        good_cache,
        "cache rewritten"
    );

    // With an image unreadable but size and mtime unchanged, a load can only succeed
    // by reading the cache.
    let image = root.join("train/b_dog/01.png");
    sabotage_keeping_size_and_mtime(&image);
    let from_cache = data::load_folder(&root, &cached).unwrap();
    assert_eq!(
        (&from_cache.train, &from_cache.test),
        (&first.train, &first.test)
    );

    // A truncated cache is ignored too: the load decodes, and meets the bad image.
    std::fs::write(cache_file, &good_cache[..good_cache.len() - 9]).unwrap();
    let err = data::load_folder(&root, &cached).unwrap_err();
    assert_names(err, &image, "cannot decode image");
}

/// `--resize` to a size no machine holds is an error naming it, before decoding.
#[test]
fn folder_huge_resize_is_an_error() {
    let tmp = tmp_dir("folder-huge");
    let root = tmp.join("pets");
    write_folder(&root, 6);
    let o = FolderOptions {
        resize: Some((2_000_000, 3_000_000)),
        ..opts(CacheLocation::Off)
    };
    let e = data::load_folder(&root, &o).unwrap_err();
    assert!(e.to_string().contains("--resize 3000000x2000000"), "{e}");
}
