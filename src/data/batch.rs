//! Cutting a dataset into batches: shuffled and augmented for training, in order for
//! evaluation. Everything random is a function of (seed, epoch[, image]), so a run
//! resumed at batch i of epoch e (from a mid-epoch checkpoint: `--checkpoint-steps`,
//! `--checkpoint-minutes`; tests/recovery.rs) sees exactly the batches an unbroken run would.

use super::augment::{below, stream, Augment, AugmentKind};
use super::Dataset;
use crate::{Error, Result};
use rand::RngCore;

/// Up to `batch_size` images, NHWC u8, with their labels; the last batch of an epoch
/// may be shorter. `len == labels.len()`, `images.len() == len * h * w * c`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub images: Vec<u8>,
    pub labels: Vec<i32>,
    pub len: usize,
}

/// Makes the batches of each epoch over a borrowed [`Dataset`].
#[derive(Clone, Debug)]
pub struct Batcher<'a> {
    data: &'a Dataset,
    batch_size: usize,
    seed: u64,
    shuffle: bool,
    augment: Option<Augment>,
    drop_last: bool,
    min_last: usize,
}

impl<'a> Batcher<'a> {
    /// Training batches: shuffled every epoch from `seed`, no augmentation (turn it on
    /// with [`Batcher::augment`]), last partial batch kept.
    pub fn train(data: &'a Dataset, batch_size: usize, seed: u64) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::Invalid("batch size must be at least 1".into()));
        }
        Ok(Batcher {
            data,
            batch_size,
            seed,
            shuffle: true,
            augment: None,
            drop_last: false,
            min_last: 1,
        })
    }

    /// Evaluation batches: in dataset order, no augmentation, last partial batch kept.
    pub fn eval(data: &'a Dataset, batch_size: usize) -> Result<Self> {
        let mut b = Self::train(data, batch_size, 0)?;
        b.shuffle = false;
        Ok(b)
    }

    /// The augmentation `kind` resolves to for a run of `epochs` over the dataset's images.
    pub fn augment(self, kind: AugmentKind, epochs: usize) -> Self {
        let a = kind.resolve(epochs, self.data.h, self.data.w, self.data.c);
        self.augmentation(a)
    }

    /// A chosen augmentation, or none.
    pub fn augmentation(mut self, augment: Option<Augment>) -> Self {
        self.augment = augment;
        self
    }

    /// Drop the last batch of an epoch when it is short.
    pub fn drop_last(mut self, drop: bool) -> Self {
        self.drop_last = drop;
        self
    }

    /// A last batch of fewer than `min` images joins the batch before it (training: batch
    /// statistics need at least two images, so a one-image batch could not be trained).
    pub fn merge_short_last(mut self, min: usize) -> Self {
        self.min_last = min;
        self
    }

    /// The last batch is short and joins the one before it.
    fn merges_last(&self) -> bool {
        let short = self.data.n % self.batch_size;
        !self.drop_last && short != 0 && short < self.min_last && self.data.n > self.batch_size
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches in one epoch: floor(n / B) with `drop_last` or when a short last batch
    /// merges into the one before it ([`Batcher::merge_short_last`]), else ceil(n / B).
    pub fn batches_per_epoch(&self) -> usize {
        if self.drop_last || self.merges_last() {
            self.data.n / self.batch_size
        } else {
            self.data.n.div_ceil(self.batch_size)
        }
    }

    /// The order in which epoch `epoch` visits the images: 0..n, or for training a
    /// Fisher-Yates shuffle drawn from the (seed, epoch) stream:
    /// for i = n-1 down to 1: j = floor(u64 * (i + 1) / 2^64), swap(i, j).
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.data.n).collect();
        if self.shuffle {
            let mut rng = stream(self.seed, epoch, 0, *b"shuffle\0");
            for i in (1..order.len()).rev() {
                let j = below(rng.next_u64(), i as u64 + 1) as usize;
                order.swap(i, j);
            }
        }
        order
    }

    /// The batches of epoch `epoch`, from the first.
    pub fn epoch(&self, epoch: u64) -> Epoch<'_> {
        self.epoch_from(epoch, 0)
    }

    /// The batches of epoch `epoch` from batch index `first` on (to resume a run): the
    /// same batches as `epoch(epoch).skip(first)`, without building the skipped ones.
    pub fn epoch_from(&self, epoch: u64, first: usize) -> Epoch<'_> {
        let end = self.batches_per_epoch();
        Epoch {
            batcher: self,
            epoch,
            order: self.order(epoch),
            next: first.min(end),
            end,
        }
    }

    /// Positions in the epoch's order of the images of batch `b`.
    fn range(&self, b: usize) -> std::ops::Range<usize> {
        let n = self.data.n;
        let end = if b + 1 == self.batches_per_epoch() && self.merges_last() {
            n
        } else {
            ((b + 1) * self.batch_size).min(n)
        };
        (b * self.batch_size).min(end)..end
    }

    /// Images in batch `b` of an epoch.
    pub fn batch_len(&self, b: usize) -> usize {
        self.range(b).len()
    }

    /// Batch `b` of an epoch whose order is `order`.
    fn batch(&self, epoch: u64, order: &[usize], b: usize) -> Batch {
        let d = self.data;
        let image_len = d.image_len();
        let picked = &order[self.range(b)];
        let mut images = vec![0u8; picked.len() * image_len];
        let mut labels = Vec::with_capacity(picked.len());
        for (&i, out) in picked.iter().zip(images.chunks_exact_mut(image_len)) {
            let src = &d.images[i * image_len..(i + 1) * image_len];
            match &self.augment {
                Some(a) => a.apply(src, (d.h, d.w, d.c), a.draw(self.seed, epoch, i), out),
                None => out.copy_from_slice(src),
            }
            labels.push(d.labels[i] as i32);
        }
        Batch {
            images,
            labels,
            len: picked.len(),
        }
    }
}

/// The batches of one epoch, in order (see [`Batcher::epoch`]).
pub struct Epoch<'b> {
    batcher: &'b Batcher<'b>,
    epoch: u64,
    order: Vec<usize>,
    next: usize,
    end: usize,
}

impl Epoch<'_> {
    /// Index (within the epoch) of the batch the next call to `next` returns.
    pub fn position(&self) -> usize {
        self.next
    }
}

impl Iterator for Epoch<'_> {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.next >= self.end {
            return None;
        }
        let batch = self.batcher.batch(self.epoch, &self.order, self.next);
        self.next += 1;
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Epoch<'_> {}
