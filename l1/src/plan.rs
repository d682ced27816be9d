//! The range plan: the range error codes, the window span and the worklist of ranges.

use crate::error::{Error, Result};
use crate::hint::Hint;
use crate::range::BlockRange;

/// The JSON-RPC error codes that mean "range too large" unless configured otherwise
/// (`--long-block-range-error-codes`).
pub const DEFAULT_RANGE_ERROR_CODES: [i64; 5] = [-32005, -32012, -32600, -32602, -32616];

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

/// The ranges still to request, worked depth-first, left before right, and what the scan has
/// learned about the provider's range limit.
///
/// The whole range is one entry at first, cut lazily into windows: a popped window longer than
/// the window size is cut to it and its rest pushed back, so the stack holds only pending
/// parts and its depth is bounded by the number of nested splits (at most 64 for midpoints),
/// whatever the scanned range.
///
/// A range that fails as too large is split:
///
/// - after a suggestion (a range starting at `from` or a maximum, strictly shorter than the
///   range), the left part is the suggested size, and the suggestion becomes the window size
///   of the rest of the scan;
/// - otherwise, before any range has succeeded, at the midpoint, and its right half is later
///   requested whole: the reference's bisection, whose calls `../shared/upstream-fixtures`
///   pins (a limit on results rather than blocks can fail a range and pass a longer one);
/// - otherwise at the middle of the sizes between the largest range that succeeded and the
///   smallest that failed, and the rest is cut into windows of that middle as the search goes
///   on: a code-only limit is found by a binary search of the sizes instead of by halving
///   past it, and the rest of the scan uses it.
#[derive(Debug)]
pub(crate) struct Worklist {
    /// Pending ranges; `true` when the range is cut into windows as it is popped.
    stack: Vec<(BlockRange, bool)>,
    /// The window size the scan started with.
    span: Option<u64>,
    /// The last honoured suggestion.
    suggested: Option<u64>,
    largest_ok: Option<u64>,
    smallest_failed: Option<u64>,
}

impl Worklist {
    /// The worklist of `[from, to]` in windows of `span` blocks; empty when `from > to`.
    pub(crate) fn new(from: u64, to: u64, span: Option<u64>) -> Self {
        Self {
            stack: BlockRange::new(from, to)
                .map(|range| (range, true))
                .into_iter()
                .collect(),
            span: span.filter(|&s| s > 0),
            suggested: None,
            largest_ok: None,
            smallest_failed: None,
        }
    }

    /// The sizes between the largest success and the smallest failure, when both are known
    /// and consistent with a limit on blocks.
    fn search(&self) -> Option<(u64, u64)> {
        match (self.largest_ok, self.smallest_failed) {
            (Some(ok), Some(failed)) if ok < failed => Some((ok, failed)),
            _ => None,
        }
    }

    /// The size of the next window: a suggestion, else the searched size, else the span.
    fn window(&self) -> Option<u64> {
        self.suggested
            .or_else(|| self.search().map(|(ok, failed)| ok + (failed - ok) / 2))
            .or(self.span)
    }

    /// The next range to request.
    pub(crate) fn pop(&mut self) -> Option<BlockRange> {
        let (range, windowed) = self.stack.pop()?;
        match self.window() {
            Some(size) if windowed && range.blocks() > size => {
                let (window, rest) = range.split_after(size);
                self.stack.push((rest, true));
                Some(window)
            }
            _ => Some(range),
        }
    }

    /// Records a range that succeeded.
    pub(crate) fn succeeded(&mut self, range: BlockRange) {
        self.largest_ok = self.largest_ok.max(Some(range.blocks()));
    }

    /// The largest range that succeeded.
    pub(crate) fn largest_ok(&self) -> Option<u64> {
        self.largest_ok
    }

    /// Queues the two parts of a multi-block `range` that failed as too large, the left one
    /// next, and returns them.
    pub(crate) fn split(
        &mut self,
        range: BlockRange,
        hint: Option<Hint>,
    ) -> (BlockRange, BlockRange) {
        let blocks = range.blocks();
        let suggested = match hint {
            Some(Hint::Range { from, to }) if from == range.from && to >= from && to < range.to => {
                Some(to - from + 1)
            }
            Some(Hint::Max(n)) if n >= 1 && n < blocks => Some(n),
            _ => None,
        };
        let (left_blocks, windowed) = match suggested {
            Some(n) => {
                self.suggested = Some(n);
                (n, true)
            }
            None => {
                let failed = self.smallest_failed.map_or(blocks, |f| f.min(blocks));
                self.smallest_failed = Some(failed);
                match self.search() {
                    Some((ok, failed)) => (ok + (failed - ok) / 2, true),
                    None => (range.half(), false),
                }
            }
        };
        let (left, right) = range.split_after(left_blocks);
        self.stack.push((right, windowed));
        self.stack.push((left, false));
        (left, right)
    }

    /// Pending ranges (for tests of the depth bound).
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
            work.split(r, None);
            r = work.pop().unwrap();
        }
        assert!(work.depth() <= 64, "{}", work.depth());
    }

    #[test]
    fn suggestions_are_honoured_only_when_they_start_at_from_and_shrink() {
        let r = range(100, 199);
        let left = |hint| Worklist::new(100, 199, None).split(r, Some(hint)).0;
        assert_eq!(left(Hint::Range { from: 100, to: 120 }), range(100, 120));
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
            assert_eq!(left(hint), range(100, 149), "{hint:?}");
        }
        assert_eq!(left(Hint::Max(1)), range(100, 100));
        assert_eq!(left(Hint::Max(99)), range(100, 198));
    }

    #[test]
    fn a_suggestion_becomes_the_span_of_the_following_windows() {
        let mut work = Worklist::new(0, 9_999, None);
        let first = work.pop().unwrap();
        assert_eq!(first, range(0, 9_999));
        work.split(first, Some(Hint::Max(2_000)));
        let windows: Vec<_> = std::iter::from_fn(|| work.pop()).collect();
        assert_eq!(
            windows,
            [
                range(0, 1_999),
                range(2_000, 3_999),
                range(4_000, 5_999),
                range(6_000, 7_999),
                range(8_000, 9_999)
            ]
        );
    }

    #[test]
    fn without_a_suggestion_the_limit_is_searched_between_success_and_failure() {
        // A provider that refuses more than 1 000 blocks, on 0..=9 999.
        let mut work = Worklist::new(0, 9_999, None);
        let mut calls = Vec::new();
        while let Some(r) = work.pop() {
            calls.push(r);
            if r.blocks() > 1_000 {
                work.split(r, None);
            } else {
                work.succeeded(r);
            }
        }
        // Halving until 625 blocks pass, then the sizes between 625 and 1 250 are searched and
        // the rest of the scan runs in windows of the limit found.
        assert_eq!(
            &calls[..5],
            &[
                range(0, 9_999),
                range(0, 4_999),
                range(0, 2_499),
                range(0, 1_249),
                range(0, 624)
            ]
        );
        assert_eq!(work.largest_ok(), Some(1_000));
        let failures = calls.iter().filter(|r| r.blocks() > 1_000).count();
        assert!(failures <= 12, "{failures} failures: {calls:?}");
        assert!(
            calls.len() <= 10 + failures + 8,
            "{} calls: {calls:?}",
            calls.len()
        );
        // Everything covered once, in order.
        let ok: Vec<_> = calls.iter().filter(|r| r.blocks() <= 1_000).collect();
        assert_eq!(ok.first().unwrap().from, 0);
        assert_eq!(ok.last().unwrap().to, 9_999);
        assert!(ok.windows(2).all(|w| w[0].to + 1 == w[1].from));
    }

    #[test]
    fn a_failure_after_a_larger_success_is_halved() {
        // A limit on results, not blocks: 10 blocks passed, then 8 fail.
        let mut work = Worklist::new(0, 99, None);
        work.succeeded(range(0, 9));
        let (left, _) = work.split(range(10, 17), None);
        assert_eq!(left, range(10, 13));
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
