//! Block ranges of `eth_getLogs` requests.

use std::fmt;

/// An inclusive, non-empty block range `[from, to]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockRange {
    /// First block.
    pub from: u64,
    /// Last block (inclusive), `>= from`.
    pub to: u64,
}

impl BlockRange {
    /// The range `[from, to]`, or `None` when `from > to`.
    pub const fn new(from: u64, to: u64) -> Option<Self> {
        if from <= to {
            Some(Self { from, to })
        } else {
            None
        }
    }

    /// Number of blocks (saturating at `u64::MAX` for the full range).
    pub const fn blocks(&self) -> u64 {
        (self.to - self.from).saturating_add(1)
    }

    /// Whether the range holds a single block. A range is never empty.
    pub const fn is_single(&self) -> bool {
        self.from == self.to
    }

    /// Whether `block` lies in the range.
    pub const fn contains(&self, block: u64) -> bool {
        self.from <= block && block <= self.to
    }

    /// Splits a multi-block range after its first `left_blocks` blocks, clamped so that both
    /// parts are non-empty.
    pub(crate) fn split_after(&self, left_blocks: u64) -> (Self, Self) {
        let left_blocks = left_blocks.clamp(1, self.to - self.from);
        let end = self.from + (left_blocks - 1);
        (
            Self {
                from: self.from,
                to: end,
            },
            Self {
                from: end + 1,
                to: self.to,
            },
        )
    }

    /// Blocks in the left half of a midpoint split (the left half takes the middle block).
    pub(crate) const fn half(&self) -> u64 {
        (self.to - self.from) / 2 + 1
    }
}

impl fmt::Display for BlockRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.from, self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: u64, to: u64) -> BlockRange {
        BlockRange::new(from, to).unwrap()
    }

    #[test]
    fn midpoint_split_is_left_biased() {
        let split = |r: BlockRange| r.split_after(r.half());
        assert_eq!(split(range(0, 9)), (range(0, 4), range(5, 9)));
        assert_eq!(split(range(10, 11)), (range(10, 10), range(11, 11)));
        assert_eq!(split(range(0, u64::MAX)).0, range(0, u64::MAX / 2));
        assert_eq!(range(0, u64::MAX).blocks(), u64::MAX);
    }

    #[test]
    fn splits_keep_both_parts_non_empty() {
        assert_eq!(range(5, 9).split_after(0).0, range(5, 5));
        assert_eq!(range(5, 9).split_after(99).1, range(9, 9));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// A split always yields two non-empty halves that partition the range, left first.
        #[test]
        fn splits_partition_the_range(a in any::<u64>(), b in any::<u64>(), left in any::<u64>()) {
            let (from, to) = (a.min(b), a.max(b));
            prop_assume!(from < to);
            let range = BlockRange::new(from, to).unwrap();
            let (l, r) = range.split_after(left);
            prop_assert_eq!((l.from, r.to), (from, to));
            prop_assert_eq!(l.to + 1, r.from);
            prop_assert!(l.from <= l.to && r.from <= r.to);
        }
    }
}
