//! Checked sizes of pixel buffers: a size that comes from the command line (`--resize`) or
//! from a file's header is multiplied with checked arithmetic and compared with the host
//! memory available, so that a huge value is an error saying what is too big, never a
//! capacity-overflow panic or an out-of-memory abort.

use crate::{Error, Result};

/// Bytes of `n` images of `h x w x c` u8 pixels, or an error naming `what` when the product
/// overflows or exceeds the memory this machine has available.
pub fn pixel_bytes(what: &str, n: usize, h: usize, w: usize, c: usize) -> Result<usize> {
    let bytes = [h, w, c]
        .iter()
        .try_fold(n, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{what}: {n} images of {h}x{w}x{c} pixels is too large to address"
            ))
        })?;
    if let Some(available) = available_memory() {
        if bytes as u64 > available {
            return Err(Error::Invalid(format!(
                "{what}: {n} images of {h}x{w}x{c} pixels need {bytes} bytes, more than the \
                 {available} bytes of memory available (use a smaller --resize or --limit-train)"
            )));
        }
    }
    Ok(bytes)
}

/// Memory available to a new allocation (Linux: MemAvailable of /proc/meminfo); `None`
/// where unknown.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_and_huge_sizes_are_errors() {
        assert_eq!(pixel_bytes("x", 2, 3, 4, 3).unwrap(), 72);
        let e = pixel_bytes("resized images", 10, usize::MAX / 2, 3, 3).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        if available_memory().is_some() {
            let e = pixel_bytes("resized images", 1000, 1 << 20, 1 << 20, 3).unwrap_err();
            assert!(e.to_string().contains("memory available"), "{e}");
        }
    }
}
