//! The range plan: the range error codes, the window span and the worklist of ranges.

use crate::error::{Error, Result};
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
