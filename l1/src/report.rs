//! [`ScanReport`]: what a finished (or failed) scan did.

use crate::range::BlockRange;

/// What a scan did: the ranges it covered, the next index, and the span it learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanReport {
    /// First scanned block.
    pub from: u64,
    /// Last scanned block (the scan covered nothing when `from > to`).
    pub to: u64,
    /// The index the first input had to carry.
    pub start_index: u64,
    /// The index after the last input: compare it with `getNumberOfInputs` at `to`
    /// ([`InputReader::verify_count`](crate::InputReader::verify_count)).
    pub next_index: u64,
    /// Successful `eth_getLogs` ranges in request order: ascending, contiguous, together exactly
    /// `[from, to]` once the scan has finished.
    pub covered: Vec<BlockRange>,
    /// `eth_getLogs` requests issued by the plan (HTTP retries not included; the
    /// [`RequestBudget`](crate::RequestBudget) counts those).
    pub get_logs_calls: u64,
    /// Requests that failed as "range too large" and were split.
    pub range_errors: u64,
    /// The window size the scan started with.
    pub span_used: Option<u64>,
    /// The largest range that succeeded.
    pub largest_ok: Option<u64>,
}

impl ScanReport {
    /// Inputs read.
    pub fn inputs(&self) -> u64 {
        self.next_index - self.start_index
    }

    /// The span to persist and pass to [`RangePlan::with_span`](crate::RangePlan::with_span)
    /// for later scans against the same provider: after range errors, the largest range that
    /// succeeded; otherwise the span the scan started with. It never exceeds a range that
    /// succeeded, so a later scan does not start by repeating a known failure.
    pub fn learned_span(&self) -> Option<u64> {
        if self.range_errors > 0 {
            self.largest_ok.or(self.span_used)
        } else {
            self.span_used
        }
    }
}
