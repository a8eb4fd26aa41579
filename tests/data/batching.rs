//! The batcher: seeded shuffles, deterministic augmentation, resume, evaluation order.

use pixembed::data::{Augment, AugmentKind, Batch, Batcher, Dataset, Draw};

/// `n` images of h x w x c whose pixels are all distinct per image (image i starts at
/// value i), labels i % classes.
fn dataset(n: usize, (h, w, c): (usize, usize, usize)) -> Dataset {
    let len = h * w * c;
    let images = (0..n * len)
        .map(|k| ((k / len) * 7 + k % len) as u8)
        .collect();
    let labels = (0..n as u32).map(|i| i % 10).collect();
    let classes = (0..10).map(|i| i.to_string()).collect();
    Dataset::new(images, labels, (h, w, c), classes).unwrap()
}

fn all(b: &Batcher, epoch: u64) -> Vec<Batch> {
    b.epoch(epoch).collect()
}

#[test]
fn same_seed_same_batches_other_epoch_other_order() {
    let d = dataset(50, (4, 4, 3));
    let a = Batcher::train(&d, 8, 42).unwrap();
    let b = Batcher::train(&d, 8, 42).unwrap();
    assert_eq!(all(&a, 3), all(&b, 3));
    assert_ne!(a.order(3), a.order(4));
    assert_ne!(a.order(3), Batcher::train(&d, 8, 43).unwrap().order(3));
    // Every image exactly once per epoch; the last partial batch kept.
    let mut order = a.order(3);
    order.sort();
    assert_eq!(order, (0..50).collect::<Vec<_>>());
    let batches = all(&a, 3);
    assert_eq!(batches.len(), 7);
    assert_eq!(
        batches.iter().map(|b| b.len).collect::<Vec<_>>(),
        vec![8, 8, 8, 8, 8, 8, 2]
    );
    // Batch contents follow the order: images and labels of the picked indices.
    let (o, first) = (a.order(3), &batches[0]);
    for (k, &i) in o[..8].iter().enumerate() {
        assert_eq!(&first.images[k * 48..(k + 1) * 48], d.image(i).unwrap());
        assert_eq!(first.labels[k], d.labels[i] as i32);
    }
}

#[test]
fn drop_last_and_eval_order() {
    let d = dataset(10, (2, 2, 1));
    let train = Batcher::train(&d, 4, 1).unwrap().drop_last(true);
    assert_eq!(train.batches_per_epoch(), 2);
    assert!(all(&train, 0).iter().all(|b| b.len == 4));
    let eval = Batcher::eval(&d, 4).unwrap();
    let batches = all(&eval, 5);
    assert_eq!(batches.len(), 3);
    let labels: Vec<i32> = batches.iter().flat_map(|b| b.labels.clone()).collect();
    assert_eq!(labels, (0..10).collect::<Vec<_>>());
    let images: Vec<u8> = batches.iter().flat_map(|b| b.images.clone()).collect();
    assert_eq!(images, d.images);
    assert!(Batcher::eval(&d, 0).is_err());
}

#[test]
fn augmentation_is_deterministic_and_changes_images() {
    let d = dataset(64, (32, 32, 3));
    let a = Batcher::train(&d, 16, 7)
        .unwrap()
        .augment(AugmentKind::CropFlip, 1);
    let plain = Batcher::train(&d, 16, 7).unwrap();
    assert_eq!(
        all(&a, 2),
        all(
            &Batcher::train(&d, 16, 7)
                .unwrap()
                .augment(AugmentKind::CropFlip, 1),
            2
        )
    );
    let (aug, raw) = (all(&a, 2), all(&plain, 2));
    // Same order and labels as without augmentation, but different pixels.
    assert_eq!(
        aug.iter().map(|b| &b.labels).collect::<Vec<_>>(),
        raw.iter().map(|b| &b.labels).collect::<Vec<_>>()
    );
    let changed = aug
        .iter()
        .zip(&raw)
        .filter(|(x, y)| x.images != y.images)
        .count();
    assert_eq!(changed, 4);
    // Draws depend on (seed, epoch, index), span the whole range and flip about half.
    let standard = Augment::standard(32, 32);
    assert_eq!(standard, Augment { pad: 4, flip: true });
    assert_eq!(standard.draw(7, 2, 5), standard.draw(7, 2, 5));
    let draws: Vec<_> = (0..400).map(|i| standard.draw(7, 2, i)).collect();
    assert!(draws.iter().all(|d| d.dy <= 8 && d.dx <= 8));
    assert!(draws.iter().any(|d| d.dy == 0) && draws.iter().any(|d| d.dx == 8));
    let flips = draws.iter().filter(|d| d.flip).count();
    assert!((150..250).contains(&flips), "{flips} flips of 400");
    assert_ne!(
        draws,
        (0..400).map(|i| standard.draw(7, 3, i)).collect::<Vec<_>>()
    );
}

#[test]
fn augment_apply_crops_with_zero_padding_and_flips() {
    // A 2x3 single-channel image:  1 2 3 / 4 5 6.
    let src = [1, 2, 3, 4, 5, 6];
    let a = Augment { pad: 1, flip: true };
    let mut out = [0u8; 6];
    let draw = |dy, dx, flip| Draw { dy, dx, flip };
    // dy = dx = pad: the identity.
    a.apply(&src, (2, 3, 1), draw(1, 1, false), &mut out);
    assert_eq!(out, src);
    // dy = 0, dx = 0: shifted down-right by one, zeros come in.
    a.apply(&src, (2, 3, 1), draw(0, 0, false), &mut out);
    assert_eq!(out, [0, 0, 0, 0, 1, 2]);
    // dy = 2, dx = 2, flipped: out[y,x] = src[y+1, (2-x)+1] -> row 1 mirrored, shifted.
    a.apply(&src, (2, 3, 1), draw(2, 2, true), &mut out);
    assert_eq!(out, [0, 6, 5, 0, 0, 0]);
}

#[test]
fn resume_from_batch_i_equals_the_tail_of_the_epoch() {
    let d = dataset(37, (8, 8, 1));
    let b = Batcher::train(&d, 5, 99)
        .unwrap()
        .augment(AugmentKind::CropFlip, 1);
    let full = all(&b, 6);
    for start in [0, 1, 4, 7, 8, 20] {
        let tail: Vec<Batch> = b.epoch_from(6, start).collect();
        assert_eq!(tail, full[start.min(full.len())..], "from batch {start}");
    }
    let mut it = b.epoch_from(6, 3);
    assert_eq!((it.position(), it.len()), (3, 5));
    it.next();
    assert_eq!((it.position(), it.len()), (4, 4));
}

/// A last batch of one image joins the batch before it, so every image is trained (batch
/// statistics need two images).
#[test]
fn a_one_image_last_batch_joins_the_one_before() {
    let d = dataset(33, (2, 2, 1));
    let b = Batcher::train(&d, 8, 1).unwrap().merge_short_last(2);
    assert_eq!(b.batches_per_epoch(), 4);
    let lens: Vec<usize> = b.epoch(0).map(|x| x.len).collect();
    assert_eq!(lens, [8, 8, 8, 9]);
    assert_eq!((0..4).map(|i| b.batch_len(i)).sum::<usize>(), 33);
    // Resuming at the last batch gives the same merged batch.
    assert_eq!(b.epoch_from(0, 3).next(), b.epoch(0).nth(3));
    // A last batch of two or more is kept as it is.
    let d = dataset(34, (2, 2, 1));
    let b = Batcher::train(&d, 8, 1).unwrap().merge_short_last(2);
    let lens: Vec<usize> = b.epoch(0).map(|x| x.len).collect();
    assert_eq!(lens, [8, 8, 8, 8, 2]);
}
