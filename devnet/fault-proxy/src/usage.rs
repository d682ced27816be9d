//! `rpc_usage` checks: how a client used a node, judged from the proxy's records.
//!
//! Each check returns `Ok(())` or a [`UsageViolation`] naming the check, the reason and the
//! offending records as evidence. Only `eth_getLogs` records with a resolved range take part
//! in the range checks; a range "error" is a JSON-RPC error from the proxy or the node.

use std::fmt;

use super::log::ProxyEntry;
use crate::range::{BlockRange, check_exact_cover};

/// A failed `rpc_usage` check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageViolation {
    /// Which check: `narrowing`, `cover`, `span_cap`, `result_cap`, `head`, `budget`,
    /// `total`, `idle`, `range_error`.
    pub check: &'static str,
    /// What did not hold.
    pub reason: String,
    /// The records that show it.
    pub evidence: Vec<ProxyEntry>,
}

impl fmt::Display for UsageViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rpc_usage {}: {}", self.check, self.reason)?;
        let seqs: Vec<u64> = self.evidence.iter().map(|e| e.seq).collect();
        write!(f, " (records {seqs:?})")
    }
}

impl std::error::Error for UsageViolation {}

/// The result of one check.
pub type UsageResult = Result<(), UsageViolation>;

fn violation(check: &'static str, reason: String, evidence: Vec<ProxyEntry>) -> UsageResult {
    Err(UsageViolation {
        check,
        reason,
        evidence,
    })
}

/// `Ok(())` when there are no `offending` records, else a violation of `check` whose reason
/// says how many there are.
fn none_of(
    check: &'static str,
    offending: Vec<ProxyEntry>,
    reason: impl FnOnce(usize) -> String,
) -> UsageResult {
    if offending.is_empty() {
        return Ok(());
    }
    violation(check, reason(offending.len()), offending)
}

/// The `eth_getLogs` records whose resolved range satisfies `predicate`.
fn ranged_where(entries: &[ProxyEntry], predicate: impl Fn(BlockRange) -> bool) -> Vec<ProxyEntry> {
    ranged(entries)
        .filter(|(_, r)| predicate(*r))
        .map(|(e, _)| e.clone())
        .collect()
}

/// The `eth_getLogs` records with a resolved range.
fn ranged(entries: &[ProxyEntry]) -> impl Iterator<Item = (&ProxyEntry, BlockRange)> {
    entries
        .iter()
        .filter(|e| e.method == "eth_getLogs")
        .filter_map(|e| e.range.map(|r| (e, r)))
}

fn is_range_error(entry: &ProxyEntry) -> bool {
    entry.method == "eth_getLogs" && entry.error_code().is_some()
}

fn overlaps(a: BlockRange, b: BlockRange) -> bool {
    a.from <= b.to && b.from <= a.to
}

/// (a) After an error on `eth_getLogs [a, b]`, every later request touching `[a, b]` asks
/// for a strict sub-range of it, until later successes have covered `[a, b]`.
pub fn check_narrowing(entries: &[ProxyEntry]) -> UsageResult {
    let ranged: Vec<(&ProxyEntry, BlockRange)> = ranged(entries).collect();
    for (i, &(failed, bad)) in ranged.iter().enumerate() {
        if !is_range_error(failed) {
            continue;
        }
        let mut covered: Vec<BlockRange> = Vec::new();
        for &(later, r) in &ranged[i + 1..] {
            if !overlaps(r, bad) {
                continue;
            }
            let strict = r.from >= bad.from && r.to <= bad.to && r != bad;
            if !strict {
                let reason = format!("after an error on {bad}, a request for {r}");
                return violation("narrowing", reason, vec![failed.clone(), later.clone()]);
            }
            if later.outcome.is_result() {
                covered.push(r);
                if covers(&covered, bad) {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Whether `ranges` together hold every block of `whole`.
fn covers(ranges: &[BlockRange], whole: BlockRange) -> bool {
    let mut sorted = ranges.to_vec();
    sorted.sort_by_key(|r| r.from);
    let mut next = whole.from;
    for r in sorted {
        if r.from > next {
            return false;
        }
        next = next.max(r.to.saturating_add(1));
    }
    next > whole.to
}

/// (b) The successful ranges cover `(after, to]` exactly: contiguous, no gap, no overlap,
/// nothing outside.
pub fn check_cover(entries: &[ProxyEntry], after: u64, to: u64) -> UsageResult {
    let served: Vec<(&ProxyEntry, BlockRange)> = ranged(entries)
        .filter(|(e, _)| e.outcome.is_result())
        .collect();
    let ranges: Vec<BlockRange> = served.iter().map(|(_, r)| *r).collect();
    let expected = BlockRange::new(after.saturating_add(1), to);
    if expected.is_empty() && ranges.is_empty() {
        return Ok(());
    }
    match check_exact_cover(&ranges, expected) {
        Ok(()) => Ok(()),
        Err(e) => violation(
            "cover",
            format!("the served ranges do not cover {expected}: {e}"),
            served.into_iter().map(|(e, _)| e.clone()).collect(),
        ),
    }
}

/// (c) No `eth_getLogs` request spans more than `max` blocks.
pub fn check_span_cap(entries: &[ProxyEntry], max: u64) -> UsageResult {
    let over = ranged_where(entries, |r| r.len() > max);
    none_of("span_cap", over, |n| {
        format!("{n} requests span more than {max} blocks")
    })
}

/// (c) No successful `eth_getLogs` answer holds more than `max` logs.
pub fn check_result_cap(entries: &[ProxyEntry], max: usize) -> UsageResult {
    let over: Vec<ProxyEntry> = entries
        .iter()
        .filter(|e| e.method == "eth_getLogs" && e.outcome.is_result())
        .filter(|e| e.result_count.is_some_and(|n| n > max))
        .cloned()
        .collect();
    none_of("result_cap", over, |n| {
        format!("{n} answers hold more than {max} logs")
    })
}

/// (d) No `eth_getLogs` request reaches past block `head`.
pub fn check_not_past_head(entries: &[ProxyEntry], head: u64) -> UsageResult {
    let past = ranged_where(entries, |r| r.to > head);
    none_of("head", past, |n| {
        format!("{n} requests reach past block {head}")
    })
}

/// (e) At most `max` requests in all.
pub fn check_budget(entries: &[ProxyEntry], max: usize) -> UsageResult {
    if entries.len() <= max {
        return Ok(());
    }
    let reason = format!("{} requests, budget {max}", entries.len());
    violation("budget", reason, entries[max..].to_vec())
}

/// (e) Exactly `expected` requests (e.g. the client's own count of its requests).
pub fn check_total(entries: &[ProxyEntry], expected: usize) -> UsageResult {
    if entries.len() == expected {
        return Ok(());
    }
    let reason = format!("{} requests, expected {expected}", entries.len());
    violation("total", reason, entries.to_vec())
}

/// (f) An idle tick reads the L1 only for its finality check: at most two requests, one
/// `eth_getBlockByNumber` (the head-tag block) and one `eth_call` (the input count there); never
/// an `eth_getLogs` or anything else.
pub fn check_idle(entries: &[ProxyEntry]) -> UsageResult {
    let allowed = ["eth_getBlockByNumber", "eth_call"];
    let other: Vec<ProxyEntry> = entries
        .iter()
        .filter(|e| !allowed.contains(&e.method.as_str()))
        .cloned()
        .collect();
    if !other.is_empty() {
        let reason = format!(
            "{} requests other than the finality check while idle",
            other.len()
        );
        return violation("idle", reason, other);
    }
    for method in allowed {
        let calls: Vec<ProxyEntry> = entries
            .iter()
            .filter(|e| e.method == method)
            .cloned()
            .collect();
        if calls.len() > 1 {
            let reason = format!(
                "{} {method} requests while idle (one expected)",
                calls.len()
            );
            return violation("idle", reason, calls);
        }
    }
    Ok(())
}

/// (g) No `eth_getLogs` error in a record after `seq` (once the client learned the span).
pub fn check_no_range_error_after(entries: &[ProxyEntry], seq: u64) -> UsageResult {
    let errors: Vec<ProxyEntry> = entries
        .iter()
        .filter(|e| e.seq > seq && is_range_error(e))
        .cloned()
        .collect();
    none_of("range_error", errors, |n| {
        format!("{n} range errors after record {seq}")
    })
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::log::{Observed, ProxyOutcome, Recorder};

    fn log(items: &[(u64, u64, ProxyOutcome)]) -> Vec<ProxyEntry> {
        let recorder = Recorder::new("wd-l1".into(), None).unwrap();
        for (from, to, outcome) in items {
            let mut o = Observed::new(Instant::now(), "eth_getLogs".into());
            o.range = Some(BlockRange::new(*from, *to));
            o.outcome = outcome.clone();
            o.result_count = Some(5);
            recorder.record(o);
        }
        recorder.entries()
    }

    const OK: ProxyOutcome = ProxyOutcome::Forwarded;
    const ERR: ProxyOutcome = ProxyOutcome::Refused { code: -32005 };

    #[test]
    fn a_bisecting_client_passes_every_check() {
        let entries = log(&[(1, 100, ERR), (1, 50, OK), (51, 100, OK), (101, 120, OK)]);
        check_narrowing(&entries).unwrap();
        check_cover(&entries, 0, 120).unwrap();
        check_span_cap(&entries, 100).unwrap();
        check_result_cap(&entries, 5).unwrap();
        check_not_past_head(&entries, 120).unwrap();
        check_budget(&entries, 4).unwrap();
        check_total(&entries, 4).unwrap();
        check_no_range_error_after(&entries, 0).unwrap();
        check_idle(&[]).unwrap();
        check_cover(&[], 7, 7).unwrap();
    }

    #[test]
    fn each_check_fails_with_its_evidence() {
        let retry = log(&[(1, 100, ERR), (1, 100, OK)]);
        let e = check_narrowing(&retry).unwrap_err();
        assert_eq!((e.check, e.evidence.len()), ("narrowing", 2));
        let wider = log(&[(1, 100, ERR), (1, 50, OK), (40, 120, OK)]);
        assert_eq!(check_narrowing(&wider).unwrap_err().evidence[1].seq, 2);

        let gap = log(&[(1, 50, OK), (52, 100, OK)]);
        assert_eq!(check_cover(&gap, 0, 100).unwrap_err().check, "cover");
        let overlap = log(&[(1, 50, OK), (50, 100, OK)]);
        assert!(check_cover(&overlap, 0, 100).is_err());
        assert!(check_cover(&gap, 0, 50).is_err(), "nothing outside");

        let e = check_span_cap(&gap, 49).unwrap_err();
        assert_eq!(e.evidence.iter().map(|e| e.seq).collect::<Vec<_>>(), [0]);
        assert_eq!(check_result_cap(&gap, 4).unwrap_err().evidence.len(), 2);
        assert_eq!(
            check_not_past_head(&gap, 99).unwrap_err().evidence[0].seq,
            1
        );
        assert_eq!(check_budget(&gap, 1).unwrap_err().evidence[0].seq, 1);
        assert!(check_total(&gap, 3).is_err());
        assert_eq!(check_idle(&gap).unwrap_err().check, "idle");
        let late = log(&[(1, 100, ERR), (1, 50, OK), (51, 100, ERR)]);
        let e = check_no_range_error_after(&late, 0).unwrap_err();
        assert_eq!(e.evidence[0].seq, 2);
        assert!(e.to_string().contains("records [2]"));
    }
}
