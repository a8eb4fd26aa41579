//! Load-time folding for the folded-table kernel (shaders/first_table.wgsl): the integer table
//! `T [KH*KW, C, 256, O]` of [`crate::reference::first_table::fold_table`] laid out as offset
//! 8- or 16-bit lanes per channel group, and the thresholds staged per group.

use crate::ops::threshold::levels;

/// Output channels per group (the kernel's widest block; a multiple of 32 so that groups
/// write whole output words).
pub(super) const GROUP: usize = 64;
/// u32 words of one group's staged thresholds (the kernel's 64 KiB uniform array).
pub(super) const TH_WORDS: usize = 16384;

/// Entry width of the stored table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    /// 8-bit lanes (4 channels per word), widened to 16 bits every few taps.
    W8,
    /// 16-bit lanes (2 channels per word), widened to 32 bits every few taps.
    W16,
}

/// How one folded table is stored and summed.
#[derive(Clone, Copy, Debug)]
pub(super) struct Layout {
    pub width: Width,
    /// Channel blocks of 4 per group (NB) and groups.
    pub nb: usize,
    pub groups: usize,
    /// vec4 words per table row.
    pub rw: usize,
    /// Taps summed between widenings.
    pub tpw: usize,
    /// Offset M added to every entry.
    pub m: u32,
}

impl Layout {
    /// The layout for a table whose entries lie in [-m, m], or `None` when `width` cannot
    /// hold its sums without overflow.
    pub fn new(width: Width, o: usize, taps: usize, c: usize, m: u32) -> Option<Layout> {
        let nb = o.min(GROUP).div_ceil(4);
        let groups = o.div_ceil(GROUP);
        // One tap adds C entries of at most 2m to each lane.
        let per_tap = (c as u64) * 2 * m as u64;
        let (lane_max, rw) = match width {
            Width::W8 => (255u64, nb.div_ceil(4)),
            Width::W16 => (65535u64, nb.div_ceil(2)),
        };
        let tpw = lane_max
            .checked_div(per_tap)
            .map_or(taps, |t| t.min(taps as u64) as usize);
        if tpw == 0 {
            return None;
        }
        // 8-bit form: the widened sums stay in 16-bit halves; 16-bit form: in i32.
        let total = per_tap * taps as u64;
        let fits = match width {
            Width::W8 => total <= 65535,
            Width::W16 => total <= i32::MAX as u64,
        };
        fits.then_some(Layout {
            width,
            nb,
            groups,
            rw,
            tpw,
            m,
        })
    }

    /// Channels per stored row (padded).
    fn lanes(&self) -> usize {
        match self.width {
            Width::W8 => 16 * self.rw,
            Width::W16 => 8 * self.rw,
        }
    }

    /// The stored table: `groups * taps * c * 257 * rw` vec4 words (as u32), entry + m, row
    /// 256 of every (tap, channel) all m.
    pub fn pack_table(&self, t: &[i32], taps: usize, c: usize, o: usize) -> Vec<u32> {
        let lanes = self.lanes();
        let words = 4 * self.rw;
        let mut out = vec![0u32; self.groups * taps * c * 257 * words];
        for g in 0..self.groups {
            for tc in 0..taps * c {
                for v in 0..257 {
                    let row = &mut out[((g * taps * c + tc) * 257 + v) * words..][..words];
                    for q in 0..lanes {
                        let ch = g * GROUP + q;
                        let value = if v < 256 && ch < o && q < GROUP {
                            t[(tc * 256 + v) * o + ch]
                        } else {
                            0
                        };
                        let e = (value + self.m as i32) as u32;
                        match self.width {
                            Width::W8 => row[q / 4] |= e << (8 * (q % 4)),
                            Width::W16 => row[q / 2] |= e << (16 * (q % 2)),
                        }
                    }
                }
            }
        }
        out
    }
}

/// Thresholds `[O, 2^k - 1]` and flags `[O]` staged as `groups` blocks of [`TH_WORDS`]:
/// channel block cb of a group owns vec4 elements `cb 2^k + slot`, slot 0 the 4 flags, slot
/// 1 + i the 4 thresholds i (channels past O are zero).
pub(super) fn stage_thresholds(
    values: &[i32],
    flags: &[i32],
    bits: u32,
    groups: usize,
) -> Vec<i32> {
    let n = levels(bits);
    let o = flags.len();
    let mut out = vec![0i32; groups * TH_WORDS];
    for g in 0..groups {
        for q in 0..GROUP {
            let ch = g * GROUP + q;
            if ch >= o {
                break;
            }
            let (cb, e) = (q / 4, q % 4);
            let base = g * TH_WORDS + (cb << bits) * 4;
            out[base + e] = flags[ch];
            for i in 0..n {
                out[base + 4 * (1 + i) + e] = values[ch * n + i];
            }
        }
    }
    out
}
