//! The liveness drill: a sequencer that keeps reading L1 but stops finalizing is reported as
//! stalled (exit 1, class `liveness`), never as a divergence.

use anyhow::Result;

use super::common::{BOB, CAROL, agree, failed_with};
use crate::{Checks, Harness};

/// The `--max-finality-lag-blocks` of the liveness drills: small, so a few mined blocks pass
/// it.
pub(super) const LIMIT: u64 = 4;

/// Records that `tick`, past the lag limit, exited 1 `liveness/sequencer_stalled` (no event).
pub(super) fn stalled_past_the_limit(checks: &mut Checks, tick: &crate::driver::Run) {
    failed_with(
        checks,
        "tick past the lag limit",
        tick,
        "liveness",
        Some("sequencer_stalled"),
    );
}

/// `tick --max-finality-lag-blocks LIMIT`.
pub(super) async fn lag_tick(h: &Harness) -> Result<crate::driver::Run> {
    let limit = LIMIT.to_string();
    h.watchdog(&["tick", "--max-finality-lag-blocks", limit.as_str()])
        .await
}

/// `sequencer-stalled`: after agreement `freeze-finalized` is armed and a deposit lands. A tick
/// within the limit is idle (0); once the deposit is more than [`LIMIT`] blocks below the L1
/// head tag the tick exits 1 `liveness/sequencer_stalled` with no event; after the fault is
/// cleared (and the deposit spent, so a batch surely covers it) the next tick agrees.
pub(super) async fn sequencer_stalled(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    h.set_faults(&["freeze-finalized"]).await?;
    let landed = h.deposit(CAROL, 100_000).await?;
    let tick = lag_tick(h).await?;
    checks.run("tick right after the deposit", &tick, 0, "idle", None);

    // The sequencer keeps reading L1 while its finalized point stays.
    h.mine(2 * LIMIT + 2).await?;
    let tick = lag_tick(h).await?;
    stalled_past_the_limit(checks, &tick);
    let live = &tick.summary["liveness"];
    let lag = live["finality_lag_blocks"].as_u64().unwrap_or(0);
    checks.that(
        "finality lag",
        &format!("> {LIMIT}"),
        lag.to_string(),
        lag > LIMIT,
    );
    // The sequencer's own batches are inputs too: one may have landed before the deposit.
    let oldest = live["oldest_pending_block"].as_u64();
    checks.that(
        "oldest pending input",
        &format!("at or before the deposit's block {landed}"),
        format!("{oldest:?}"),
        oldest.is_some_and(|block| block <= landed),
    );
    let state = super::common::metrics_state(h)?;
    checks.that("status.prom state", "warning", &state, state == "warning");

    h.set_faults(&[]).await?;
    h.transfer(CAROL, BOB, 1_000).await?;
    let tick = lag_tick(h).await?;
    checks.run("tick once the fault is cleared", &tick, 0, "agreed", None);
    let state = super::common::metrics_state(h)?;
    checks.that("status.prom state", "ok", &state, state == "ok");
    Ok(())
}
