//! The range plan: windows, the worklist of ranges and how a failing range is split.

use std::fmt;

use crate::classify::Hint;
use crate::error::{Error, Result};

/// The JSON-RPC error codes that mean "range too large" unless configured otherwise
/// (`--long-block-range-error-codes`).
pub const DEFAULT_RANGE_ERROR_CODES: [i64; 5] = [-32005, -32012, -32600, -32602, -32616];

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

/// How `eth_getLogs` ranges are chosen and which errors mean "range too large".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangePlan {
    codes: Vec<i64>,
    span: Option<u64>,
}

impl Default for RangePlan {
    fn default() -> Self {
        Self {
            codes: DEFAULT_RANGE_ERROR_CODES.to_vec(),
            span: None,
        }
    }
}

impl RangePlan {
    /// The default plan: [`DEFAULT_RANGE_ERROR_CODES`] and no known span (one window).
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the range error codes; an empty list disables code matching (provider message
    /// fragments still apply).
    pub fn with_codes(mut self, codes: impl Into<Vec<i64>>) -> Self {
        self.codes = codes.into();
        self
    }

    /// Starts scans with windows of at most `span` blocks, typically the
    /// [`ScanReport::learned_span`](crate::ScanReport::learned_span) of an earlier scan against
    /// the same provider. `None` or `Some(0)` means one window for the whole range.
    pub fn with_span(mut self, span: Option<u64>) -> Self {
        self.span = span.filter(|&s| s > 0);
        self
    }

    /// The range error codes.
    pub fn codes(&self) -> &[i64] {
        &self.codes
    }

    /// The window size, if known.
    pub const fn span(&self) -> Option<u64> {
        self.span
    }

    /// Parses a code list separated by commas and/or whitespace (`"-32005,-32012 -32600"`);
    /// an empty or blank string is an empty list.
    pub fn parse_codes(list: &str) -> Result<Vec<i64>> {
        list.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<i64>().map_err(|_| Error::Config {
                    reason: format!("range error code {item:?} is not an integer"),
                })
            })
            .collect()
    }
}

/// The ranges still to request, worked depth-first, left before right.
///
/// Windows of `span` blocks are produced lazily, so the stack only ever holds the pending right
/// halves of the window being split: its depth is bounded by the number of nested splits
/// (at most 64 for midpoints), whatever the scanned range.
#[derive(Debug)]
pub(crate) struct Worklist {
    /// First block of the next window, `None` when every window was produced.
    next_window: Option<u64>,
    end: u64,
    span: Option<u64>,
    stack: Vec<BlockRange>,
}

impl Worklist {
    /// The worklist of `[from, to]`; empty when `from > to`.
    pub(crate) fn new(from: u64, to: u64, span: Option<u64>) -> Self {
        let next_window = (from <= to).then_some(from);
        Self {
            next_window,
            end: to,
            span,
            stack: Vec::new(),
        }
    }

    /// The next range to request.
    pub(crate) fn pop(&mut self) -> Option<BlockRange> {
        if let Some(range) = self.stack.pop() {
            return Some(range);
        }
        let from = self.next_window?;
        let to = match self.span {
            Some(span) => from.saturating_add(span - 1).min(self.end),
            None => self.end,
        };
        self.next_window = if to < self.end { Some(to + 1) } else { None };
        Some(BlockRange { from, to })
    }

    /// Queues the two halves of a failed range so that the left one is requested next.
    pub(crate) fn push_split(&mut self, left: BlockRange, right: BlockRange) {
        self.stack.push(right);
        self.stack.push(left);
    }

    /// Pending split parts (for tests of the depth bound).
    #[cfg(test)]
    pub(crate) fn depth(&self) -> usize {
        self.stack.len()
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

    #[test]
    fn windows_follow_the_span_and_stop_at_the_end() {
        let mut work = Worklist::new(10, 34, Some(10));
        let mut got = Vec::new();
        while let Some(r) = work.pop() {
            got.push(r);
        }
        assert_eq!(got, [range(10, 19), range(20, 29), range(30, 34)]);
        assert_eq!(Worklist::new(5, 4, None).pop(), None);
        let mut edge = Worklist::new(u64::MAX - 1, u64::MAX, Some(u64::MAX));
        assert_eq!(edge.pop(), Some(range(u64::MAX - 1, u64::MAX)));
        assert_eq!(edge.pop(), None);
    }

    #[test]
    fn repeated_left_splits_keep_the_stack_shallow() {
        let mut work = Worklist::new(0, u64::MAX, None);
        let mut r = work.pop().unwrap();
        while !r.is_single() {
            let (left, right) = r.split(None);
            work.push_split(left, right);
            r = work.pop().unwrap();
        }
        assert!(work.depth() <= 64, "{}", work.depth());
    }

    #[test]
    fn codes_parse_with_commas_and_spaces() {
        assert_eq!(
            RangePlan::parse_codes("-32005,-32012 -32600, -1").unwrap(),
            [-32005, -32012, -32600, -1]
        );
        assert!(RangePlan::parse_codes(" ").unwrap().is_empty());
        assert!(RangePlan::parse_codes("-32005,x").is_err());
        assert_eq!(RangePlan::new().with_span(Some(0)).span(), None);
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
