//! Inclusive block ranges.

use std::fmt;

use anyhow::{Result, bail};

/// An inclusive range of block numbers `[from, to]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockRange {
    /// First block.
    pub from: u64,
    /// Last block (inclusive).
    pub to: u64,
}

impl BlockRange {
    /// `[from, to]`.
    pub const fn new(from: u64, to: u64) -> Self {
        Self { from, to }
    }

    /// The number of blocks (0 when `to < from`).
    pub const fn len(&self) -> u64 {
        if self.to < self.from {
            0
        } else {
            self.to - self.from + 1
        }
    }

    /// Whether the range holds no block (`to < from`).
    pub const fn is_empty(&self) -> bool {
        self.to < self.from
    }
}

impl fmt::Display for BlockRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.from, self.to)
    }
}

/// Checks that `ranges`, sorted by start, cover `expected` exactly: contiguous, no gap, no
/// overlap, nothing outside.
pub fn check_exact_cover(ranges: &[BlockRange], expected: BlockRange) -> Result<()> {
    let mut sorted = ranges.to_vec();
    sorted.sort_by_key(|r| r.from);
    let mut next = expected.from;
    for r in &sorted {
        if r.from != next {
            bail!(
                "range {r} starts at {}, expected {next} (gap or overlap)",
                r.from
            );
        }
        if r.to < r.from {
            bail!("range {r} is empty");
        }
        next = r.to + 1;
    }
    if next != expected.to + 1 {
        bail!(
            "the ranges end at {}, expected {}",
            next.saturating_sub(1),
            expected.to
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_both_ends() {
        assert_eq!(BlockRange::new(3, 3).len(), 1);
        assert_eq!(BlockRange::new(0, 9).len(), 10);
        assert!(BlockRange::new(4, 3).is_empty());
        assert_eq!(BlockRange::new(4, 3).len(), 0);
        assert_eq!(BlockRange::new(1, 2).to_string(), "[1, 2]");
    }

    #[test]
    fn exact_cover_finds_gaps_overlaps_and_short_ends() {
        let r = BlockRange::new;
        check_exact_cover(&[r(6, 9), r(1, 5)], r(1, 9)).unwrap();
        assert!(check_exact_cover(&[r(1, 4), r(6, 9)], r(1, 9)).is_err());
        assert!(check_exact_cover(&[r(1, 5), r(5, 9)], r(1, 9)).is_err());
        assert!(check_exact_cover(&[r(1, 5)], r(1, 9)).is_err());
        assert!(check_exact_cover(&[r(0, 9)], r(1, 9)).is_err());
    }
}
