//! Block ranges of `eth_getLogs` requests and how a failing one is split.

use std::fmt;

use crate::hint::Hint;

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

    /// Splits a multi-block range in two following the first applicable rule of spec §9: a
    /// suggested range, a suggested maximum, else the midpoint. A suggestion is honoured only if
    /// it starts at `from` and strictly shrinks the range.
    pub(crate) fn split(&self, hint: Option<Hint>) -> (Self, Self) {
        let suggested_end = match hint {
            Some(Hint::Range { from, to }) if from == self.from && to >= from && to < self.to => {
                Some(to)
            }
            Some(Hint::Max(n)) if n >= 1 && n - 1 < self.to - self.from => Some(self.from + n - 1),
            _ => None,
        };
        let end = suggested_end.unwrap_or(self.from + (self.to - self.from) / 2);
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
        assert_eq!(range(0, 9).split(None), (range(0, 4), range(5, 9)));
        assert_eq!(range(10, 11).split(None), (range(10, 10), range(11, 11)));
        assert_eq!(range(0, u64::MAX).split(None).0, range(0, u64::MAX / 2));
        assert_eq!(range(0, u64::MAX).blocks(), u64::MAX);
    }

    #[test]
    fn suggestions_are_honoured_only_when_they_start_at_from_and_shrink() {
        let r = range(100, 199);
        assert_eq!(
            r.split(Some(Hint::Range { from: 100, to: 120 })).0,
            range(100, 120)
        );
        // Starts elsewhere, does not shrink, or is inverted: midpoint.
        for hint in [
            Hint::Range { from: 101, to: 120 },
            Hint::Range { from: 100, to: 199 },
            Hint::Range { from: 100, to: 500 },
            Hint::Range { from: 100, to: 99 },
            Hint::Max(0),
            Hint::Max(100),
            Hint::Max(u64::MAX),
        ] {
            assert_eq!(r.split(Some(hint)).0, range(100, 149), "{hint:?}");
        }
        assert_eq!(
            r.split(Some(Hint::Max(1))),
            (range(100, 100), range(101, 199))
        );
        assert_eq!(
            r.split(Some(Hint::Max(99))),
            (range(100, 198), range(199, 199))
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn hint() -> impl Strategy<Value = Option<Hint>> {
        prop_oneof![
            Just(None),
            any::<u64>().prop_map(|n| Some(Hint::Max(n))),
            (any::<u64>(), any::<u64>()).prop_map(|(from, to)| Some(Hint::Range { from, to })),
        ]
    }

    proptest! {
        /// A split always yields two non-empty halves that partition the range, left first.
        #[test]
        fn splits_partition_the_range(a in any::<u64>(), b in any::<u64>(), hint in hint()) {
            let (from, to) = (a.min(b), a.max(b));
            prop_assume!(from < to);
            let range = BlockRange::new(from, to).unwrap();
            let (left, right) = range.split(hint);
            prop_assert_eq!((left.from, right.to), (from, to));
            prop_assert_eq!(left.to + 1, right.from);
            prop_assert!(left.from <= left.to && right.from <= right.to);
        }
    }
}
