//! `sequencer-l1-faults`: the sequencer's own L1 edge (`seq→l1`) behind an Infura-style
//! result cap and a one-shot HTTP 503 on `eth_getLogs`. The sequencer's reader (the `l1`
//! crate's bisecting `InputReader`) must retry the 503, split every refused range into strict
//! sub-ranges, read each block exactly once and still finalize; the watchdog, on its own
//! unproxied L1 edge, agrees.

use anyhow::Result;
use fault_proxy::rules::{ErrorAction, HttpAction};
use fault_proxy::usage::{check_cover, check_narrowing, check_result_cap};
use fault_proxy::{Action, GetLogsCap, ProxyEntry, ProxyOutcome, Rule, RuleSet, Scope, When};

use super::common::{ALICE, BOB, init, usage};
use crate::{Checks, Harness};

/// The provider's result cap: a range with more logs is refused.
const MAX_RESULTS: usize = 2;
/// Direct inputs per block (at the cap, so every single block is served).
const PER_BLOCK: usize = 2;
/// Blocks of direct inputs.
const BLOCKS: u64 = 3;
/// Infura's range-error code.
const INFURA_CODE: i64 = -32005;

/// The edge's rules: one HTTP 503 on the first `eth_getLogs`, then an Infura-style cap of
/// [`MAX_RESULTS`] results.
pub(super) fn rules() -> RuleSet {
    let outage = HttpAction {
        status: 503,
        retry_after: None,
    };
    RuleSet {
        seed: 0,
        rules: vec![
            Rule::new(When::method("eth_getLogs"), Action::Http(outage)).scoped(Scope::First(1)),
            Rule::new(
                When::method("eth_getLogs"),
                Action::GetLogsCap(GetLogsCap::max_results(MAX_RESULTS)),
            ),
        ],
    }
}

/// Holds the sequencer's reader back: every head request fails, so it reads no range while
/// the inputs land, and its next read spans them all (more logs than the cap).
fn paused() -> RuleSet {
    let error = ErrorAction {
        code: -32000,
        message: "head unavailable".into(),
        data: None,
    };
    RuleSet {
        seed: 0,
        rules: vec![Rule::new(
            When::method("eth_getBlockByNumber"),
            Action::Error(error),
        )],
    }
}

/// The scenario.
pub(super) async fn sequencer_l1_faults(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    h.set_seq_l1_rules(paused()).await?;
    let deposit = h.deposit(ALICE, 600_000).await?;
    let last = h.add_inputs(PER_BLOCK, BLOCKS).await?;
    // Records from here on are the reads of this workload (start-up reads came before).
    let before = h.seq_l1_entries().await?.len();
    h.set_seq_l1_rules(rules()).await?;
    h.note(format!(
        "seq→l1: one 503 on eth_getLogs, cap {MAX_RESULTS} results; a deposit at block \
         {deposit}, {PER_BLOCK} direct inputs in each of {BLOCKS} blocks through {last}"
    ));
    h.transfer(ALICE, BOB, 400_000).await?;
    let finalized = h.settle_through(last).await?;
    checks.that(
        "the sequencer finalizes past the inputs",
        &format!("≥ {last}"),
        finalized.to_string(),
        finalized >= last,
    );
    init(h, checks).await?;
    let tick = h.tick().await?;
    checks.run("tick on the watchdog's own L1", &tick, 0, "agreed", None);

    let entries: Vec<ProxyEntry> = h.seq_l1_entries().await?.into_iter().skip(before).collect();
    let get_logs = || entries.iter().filter(|e| e.method == "eth_getLogs");
    let outages = get_logs()
        .filter(|e| e.outcome == ProxyOutcome::HttpStatus { status: 503 })
        .count();
    checks.that(
        "one-shot 503 served",
        "1 eth_getLogs answered 503",
        outages.to_string(),
        outages == 1,
    );
    let refused = get_logs()
        .filter(|e| e.error_code() == Some(INFURA_CODE))
        .count();
    checks.that(
        "range errors served",
        &format!("≥ 1 eth_getLogs answered {INFURA_CODE}"),
        refused.to_string(),
        refused >= 1,
    );
    usage(
        checks,
        "(a) narrowing after a range error",
        check_narrowing(&entries),
    );
    usage(
        checks,
        &format!("(c) no answer over {MAX_RESULTS} logs"),
        check_result_cap(&entries, MAX_RESULTS),
    );
    contiguous(checks, &entries, deposit, last);
    Ok(())
}

/// The served ranges, in order, cover one run of blocks exactly (no gap, no overlap: each
/// block read once) from at or before the deposit (the reader was paused before it landed)
/// through the last input block.
fn contiguous(checks: &mut Checks, entries: &[ProxyEntry], deposit: u64, last: u64) {
    let served: Vec<_> = entries
        .iter()
        .filter(|e| e.method == "eth_getLogs" && e.outcome.is_result())
        .filter_map(|e| e.range)
        .collect();
    let (Some(first), Some(end)) = (served.first(), served.iter().map(|r| r.to).max()) else {
        checks.that("served ranges", "≥ 1", "0", false);
        return;
    };
    usage(
        checks,
        &format!("(b) served ranges cover [{}, {end}] exactly", first.from),
        check_cover(entries, first.from.saturating_sub(1), end),
    );
    checks.that(
        "served ranges start at or before the deposit block",
        &format!("≤ {deposit}"),
        first.from.to_string(),
        first.from <= deposit,
    );
    checks.that(
        "served ranges reach the last input block",
        &format!("≥ {last}"),
        end.to_string(),
        end >= last,
    );
}
