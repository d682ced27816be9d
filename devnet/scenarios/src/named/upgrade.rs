//! `sequencer-upgrade`: a rolling restart of the sequencer in the middle of a workload, the L1
//! running on. Transfers are acknowledged (soft) but not yet in a landed batch when the
//! sequencer is stopped and started again; it recovers from the L1 and its data, the workload
//! goes on, and the watchdog agrees before, between and after, never exit 2 and no event.

use anyhow::Result;
use canonical::Method;

use super::common::{ALICE, BOB, CAROL, agree};
use crate::{Checks, Harness};

/// Transfers acknowledged before the restart.
const IN_FLIGHT: u64 = 3;

/// The scenario.
pub(super) async fn sequencer_upgrade(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    let mut acknowledged = 0;
    for i in 0..IN_FLIGHT {
        let method = Method::Transfer {
            amount: alloy::primitives::U256::from(100 + i),
            to: devnet_pins::ANVIL_ADDRESSES[CAROL],
        };
        let tx = h.signed(ALICE, &method).await?;
        if h.client.submit_tx(&tx).await.is_ok() {
            acknowledged += 1;
        }
    }
    checks.that(
        "transfers acknowledged before the restart",
        &IN_FLIGHT.to_string(),
        acknowledged.to_string(),
        acknowledged == IN_FLIGHT,
    );
    let head_before = h.block_number().await?;
    h.restart_sequencer().await?;
    h.note(format!(
        "sequencer restarted at L1 block {head_before} with {acknowledged} transfers acknowledged"
    ));
    let between = h.tick().await?;
    let ok = between.exit_code == Some(0) && matches!(between.outcome(), "agreed" | "idle");
    checks.that(
        "tick right after the restart",
        "exit 0 agreed or idle",
        crate::checks::describe(&between),
        ok,
    );
    checks.events("no event after the restart", &between, 0, "-");
    // The workload goes on against the new process.
    h.transfer(ALICE, BOB, 1_000).await?;
    h.transfer(BOB, CAROL, 500).await?;
    let after = h.tick().await?;
    checks.run("tick after the workload resumed", &after, 0, "agreed", None);
    checks.events("no event after the workload", &after, 0, "-");
    let head_after = h.block_number().await?;
    checks.that(
        "the L1 ran on (no re-provisioning)",
        &format!("> {head_before}"),
        head_after.to_string(),
        head_after > head_before,
    );
    Ok(())
}
