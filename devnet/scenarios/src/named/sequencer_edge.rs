//! The watchdog's sequencer edge: outages, slow and stalled answers, a crash and restart.
//! Each must exit 1 with a `transient/*` reason, never 2, and agree once cleared.

use anyhow::Result;
use fault_proxy::rules::HttpAction;
use fault_proxy::{Action, Rule, RuleSet, When};

use super::common::{ALICE, BOB, agree, failed_with};
use crate::{Checks, Harness};

/// `sequencer-outage`: 503 on the finalized routes → 1 `sequencer_unavailable`; then 0.
pub(super) async fn outage(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    h.set_faults(&["unavailable"]).await?;
    let tick = h.tick().await?;
    checks.run(
        "tick while the sequencer answers 503",
        &tick,
        1,
        "failed",
        Some("sequencer_unavailable"),
    );
    checks.events("no event", &tick, 0, "-");
    h.set_faults(&[]).await?;
    h.transfer(ALICE, BOB, 1_000).await?;
    let tick = h.tick().await?;
    checks.run("tick after recovery", &tick, 0, "agreed", None);
    Ok(())
}

/// The watchdog's timeout for the cheap poll (`GET /finalized_state/inclusion_block`).
const POLL_TIMEOUT_MS: u64 = 10_000;
/// The watchdog deadline for the `stall` case, so the tick gives up in seconds.
const STALL_DEADLINE: &str = "3s";

/// `sequencer-transient-matrix`: the sequencer's own fault modes on the finalized routes.
///
/// - `unavailable` (503) → 1 `sequencer_unavailable`;
/// - `slow` beyond the poll timeout → 1 `sequencer_unavailable` (the request timed out);
/// - `stall` under a short command deadline → 1 `deadline_exceeded`;
/// - `slow` well under the timeout → 0 `agreed` (a slow sequencer is not a failure);
///
/// then through the `wd→seq` proxy ([`proxy_cases`]): a 503 outage, dropped connections,
/// truncated and invalid JSON, a hang under a short deadline, each → 1 `transient/*`;
/// never an event; after clearing, the pending activity agrees.
pub(super) async fn transient_matrix(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    h.transfer(ALICE, BOB, 1_000).await?;
    let slow = format!("slow:{}", POLL_TIMEOUT_MS + 2_000);
    let cases: [(&str, &str, Option<&str>, Option<&str>); 3] = [
        (
            "unavailable",
            "unavailable",
            None,
            Some("sequencer_unavailable"),
        ),
        (
            "slow beyond the poll timeout",
            &slow,
            None,
            Some("sequencer_unavailable"),
        ),
        (
            "stall",
            "stall",
            Some(STALL_DEADLINE),
            Some("deadline_exceeded"),
        ),
    ];
    for (what, fault, deadline, reason) in cases {
        h.set_faults(&[fault]).await?;
        let tick = match deadline {
            Some(deadline) => h.watchdog(&["tick", "--deadline", deadline]).await?,
            None => h.tick().await?,
        };
        failed_with(
            checks,
            &format!("{what} ({fault})"),
            &tick,
            "transient",
            reason,
        );
    }
    h.set_faults(&["slow:300"]).await?;
    let tick = h.tick().await?;
    checks.run("slow:300, under the timeout", &tick, 0, "agreed", None);
    h.set_faults(&[]).await?;
    h.transfer(ALICE, BOB, 1_000).await?;
    for (what, action, deadline, reason) in proxy_cases() {
        h.set_wd_seq_rules(RuleSet {
            seed: 0,
            rules: vec![Rule::new(When::default(), action)],
        })
        .await?;
        let tick = match deadline {
            Some(deadline) => h.watchdog(&["tick", "--deadline", deadline]).await?,
            None => h.tick().await?,
        };
        failed_with(
            checks,
            &format!("wd→seq {what}"),
            &tick,
            "transient",
            Some(reason),
        );
    }
    h.set_wd_seq_rules(RuleSet::default()).await?;
    let tick = h.tick().await?;
    checks.run("tick with the faults cleared", &tick, 0, "agreed", None);
    Ok(())
}

/// The `wd→seq` proxy cases: what the proxy does to every request, the command deadline and
/// the reason the watchdog answers.
fn proxy_cases() -> Vec<(&'static str, Action, Option<&'static str>, &'static str)> {
    vec![
        (
            "outage (HTTP 503)",
            Action::Http(HttpAction {
                status: 503,
                retry_after: None,
            }),
            None,
            "sequencer_unavailable",
        ),
        (
            "outage (connection dropped)",
            Action::Drop,
            None,
            "sequencer_unavailable",
        ),
        (
            "truncated JSON",
            Action::Truncate { bytes: 12 },
            None,
            "sequencer_bad_response",
        ),
        (
            "invalid JSON",
            Action::InvalidJson,
            None,
            "sequencer_bad_response",
        ),
        (
            "hang",
            Action::Hang,
            Some(STALL_DEADLINE),
            "deadline_exceeded",
        ),
    ]
}

/// `kill-sequencer`: the sequencer stops → 1 `sequencer_unavailable`; restarted on the same
/// port, it recovers from L1 and the next tick agrees.
pub(super) async fn kill(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    h.stop_sequencer().await?;
    let tick = h.tick().await?;
    checks.run(
        "tick with the sequencer down",
        &tick,
        1,
        "failed",
        Some("sequencer_unavailable"),
    );
    h.restart_sequencer().await?;
    h.transfer(ALICE, BOB, 1_000).await?;
    let tick = h.tick().await?;
    checks.run("tick after the restart", &tick, 0, "agreed", None);
    Ok(())
}
