//! `log-range-cap` and `log-range-cap-suggest`: an Infura-style result cap on the watchdog's
//! L1 edge over blocks full of inputs. The watchdog must bisect (or follow the suggested
//! range), cover the scanned blocks exactly, stay under the cap and the head, count every
//! request it made, and once it learned the span, make no request the cap refuses.

use anyhow::{Context, Result};
use fault_proxy::usage::{
    check_cover, check_narrowing, check_no_range_error_after, check_not_past_head,
    check_result_cap, check_total,
};
use fault_proxy::{GetLogsCap, ProxyEntry, ProxyOutcome};

use super::common::{ALICE, BOB, init, last_tick, usage};
use crate::{Checks, Harness};

/// The provider's result cap (`query returned more than 1000 results`).
pub(super) const MAX_RESULTS: usize = 1_000;
/// Direct inputs per block of the first workload.
const PER_BLOCK: usize = 250;
/// Blocks of the first workload (`PER_BLOCK × BLOCKS` inputs).
const BLOCKS: u64 = 12;
/// Blocks of the later workload: fewer inputs than the cap in all. The span the watchdog
/// learns is the widest range that succeeded, which can be a long run of empty blocks, so a
/// denser later workload would meet range errors again.
const LATER_BLOCKS: u64 = 2;
/// Infura's range-error code.
const INFURA_CODE: i64 = -32005;

/// The cap of each variant.
pub(super) fn cap(suggest: bool) -> GetLogsCap {
    let cap = GetLogsCap::max_results(MAX_RESULTS);
    if suggest { cap.suggesting() } else { cap }
}

/// The summary's `target_block`.
fn target_block(run: &crate::driver::Run) -> Result<u64> {
    run.summary["target_block"]
        .as_u64()
        .with_context(|| format!("no target_block in {}", run.summary_line))
}

/// Both variants; `suggest`: the error names the largest fitting prefix.
pub(super) async fn log_range_cap(
    h: &mut Harness,
    checks: &mut Checks,
    suggest: bool,
) -> Result<()> {
    h.deposit(ALICE, 600_000).await?;
    let last = h.add_inputs(PER_BLOCK, BLOCKS).await?;
    h.transfer(ALICE, BOB, 400_000).await?;
    h.settle_through(last).await?;
    h.note(format!(
        "{} direct inputs over {BLOCKS} blocks; cap {MAX_RESULTS} results{}",
        PER_BLOCK as u64 * BLOCKS,
        if suggest { ", suggesting a range" } else { "" }
    ));
    init(h, checks).await?;
    let proxy = h.wd_l1_proxy()?;
    proxy.clear_entries().await?;
    let tick = h.tick().await?;
    checks.run("tick through the capped provider", &tick, 0, "agreed", None);
    let head = h.block_number().await?;
    let target = target_block(&tick)?;
    let entries = h.wd_l1_proxy()?.entries().await?;
    let refused = entries
        .iter()
        .filter(|e| e.method == "eth_getLogs" && e.error_code() == Some(INFURA_CODE))
        .count();
    checks.that(
        "range errors answered",
        &format!("≥ 1 eth_getLogs answered {INFURA_CODE}"),
        refused.to_string(),
        refused >= 1,
    );
    usage(
        checks,
        "(a) narrowing after an error",
        check_narrowing(&entries),
    );
    usage(
        checks,
        &format!("(b) served ranges cover (0, {target}] exactly"),
        check_cover(&entries, 0, target),
    );
    usage(
        checks,
        &format!("(c) no answer over {MAX_RESULTS} logs"),
        check_result_cap(&entries, MAX_RESULTS),
    );
    usage(
        checks,
        &format!("(d) no range past the head {head}"),
        check_not_past_head(&entries, head),
    );
    let counted = last_tick(h)?["rpc_requests"]["l1"]
        .as_u64()
        .context("last_tick.json: rpc_requests.l1")?;
    usage(
        checks,
        &format!("(e) proxy total = last_tick.json rpc_requests.l1 ({counted})"),
        check_total(&entries, usize::try_from(counted)?),
    );
    if suggest {
        followed_suggestions(checks, &entries);
    }
    // A later tick, once the span is learned: more inputs, no range error.
    let learned = entries.last().map_or(0, |e| e.seq);
    let last = h.add_inputs(PER_BLOCK, LATER_BLOCKS).await?;
    h.transfer(ALICE, BOB, 1_000).await?;
    h.settle_through(last).await?;
    let later = h.tick().await?;
    checks.run("later tick", &later, 0, "agreed", None);
    let entries = h.wd_l1_proxy()?.entries().await?;
    usage(
        checks,
        "(g) no range error once the span is learned",
        check_no_range_error_after(&entries, learned),
    );
    let fresh: Vec<ProxyEntry> = entries.into_iter().filter(|e| e.seq > learned).collect();
    let later_target = target_block(&later)?;
    usage(
        checks,
        &format!("(b) later ranges cover ({target}, {later_target}] exactly"),
        check_cover(&fresh, target, later_target),
    );
    Ok(())
}

/// With `suggest`, the request after each refusal asks for the suggested prefix: same start,
/// and it fits (the suggestion is the largest prefix under the cap).
fn followed_suggestions(checks: &mut Checks, entries: &[ProxyEntry]) {
    let logs: Vec<&ProxyEntry> = entries
        .iter()
        .filter(|e| e.method == "eth_getLogs")
        .collect();
    let mut strayed = Vec::new();
    for pair in logs.windows(2) {
        let (refused, next) = (pair[0], pair[1]);
        if !matches!(refused.outcome, ProxyOutcome::Refused { .. }) {
            continue;
        }
        let same_start = refused.range.map(|r| r.from) == next.range.map(|r| r.from);
        if !same_start || !next.outcome.is_result() {
            strayed.push(next.seq);
        }
    }
    checks.that(
        "suggested ranges followed",
        "after each refusal, a fitting prefix from the same block",
        if strayed.is_empty() {
            "followed".to_owned()
        } else {
            format!("not followed at records {strayed:?}")
        },
        strayed.is_empty(),
    );
}
