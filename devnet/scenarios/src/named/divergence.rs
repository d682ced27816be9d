//! Divergence drills: the sequencer serves a state the L1 does not support, and the watchdog
//! must exit 2 with the right kind, once, and stay latched.

use anyhow::Result;

use super::common::{ALICE, BOB, CAROL, agree, drill};
use crate::{Checks, Harness};

/// `tampered-state`: `tamper-state` → 2 `state_mismatch`, then `latched` with no new event.
pub(super) async fn tampered_state(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    drill(h, checks, "tamper-state", "state_mismatch").await?;
    let tick = h.tick().await?;
    checks.run("next tick", &tick, 2, "latched", Some("incident_latched"));
    checks.events("no new event", &tick, 0, "-");
    Ok(())
}

/// `tamper-body-digest-blind`: `tamper-body` flips a byte of the `/finalized_state` body and
/// keeps the digest honest. Pinned by digest, the watchdog never reads the body and agrees
/// (0); pinned by download, it hashes the body it got and finds the mismatch (2).
pub(super) async fn tamper_body_digest_blind(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    h.set_faults(&["tamper-body"]).await?;
    h.transfer(ALICE, BOB, 1_000).await?;
    let tick = h.watchdog(&["tick", "--state-pin", "digest"]).await?;
    checks.run(
        "tick --state-pin digest under tamper-body",
        &tick,
        0,
        "agreed",
        None,
    );
    checks.events("digest pin: no event", &tick, 0, "-");
    // New finalized activity, so the next tick compares again instead of idling.
    h.transfer(ALICE, BOB, 1_000).await?;
    let tick = h.watchdog(&["tick", "--state-pin", "download"]).await?;
    checks.run(
        "tick --state-pin download under tamper-body",
        &tick,
        2,
        "diverged",
        Some("state_mismatch"),
    );
    checks.events("download pin: watchdog_event", &tick, 1, "state_mismatch");
    Ok(())
}

/// `dropped-deposit`: the sequencer skips a deposit → 2 `state_mismatch`.
pub(super) async fn dropped_deposit(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    h.set_faults(&["drop-deposit:1"]).await?;
    // A fresh account spends from the deposit, so the finalized batch surely covers it.
    h.deposit(CAROL, 100_000).await?;
    h.transfer(CAROL, BOB, 1_000).await?;
    let tick = h.tick().await?;
    checks.run(
        "tick after a dropped deposit",
        &tick,
        2,
        "diverged",
        Some("state_mismatch"),
    );
    checks.events("watchdog_event", &tick, 1, "state_mismatch");
    Ok(())
}

/// `wrong-fee`: the sequencer charges another fee than it writes → 2 `state_mismatch`.
pub(super) async fn wrong_fee(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    drill(h, checks, "wrong-fee:1", "state_mismatch").await
}

/// `skipped-op`: an acknowledged op is left out of the batch → 2 `state_mismatch`.
pub(super) async fn skipped_op(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    drill(h, checks, "skip-op:1", "state_mismatch").await
}

/// `regressed-inclusion`: after agreement at B2 the sequencer serves B1 → 2
/// `inclusion_block_regressed`.
pub(super) async fn regressed_inclusion(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    h.transfer(ALICE, BOB, 1_000).await?;
    let tick = h.tick().await?;
    checks.run("tick at the second batch", &tick, 0, "agreed", None);
    h.set_faults(&["regress-inclusion:1"]).await?;
    let tick = h.tick().await?;
    checks.run(
        "tick under regress-inclusion",
        &tick,
        2,
        "diverged",
        Some("inclusion_block_regressed"),
    );
    checks.events("watchdog_event", &tick, 1, "inclusion_block_regressed");
    Ok(())
}

/// `clear-relatch`: `clear` while the fault persists → the next tick latches again.
pub(super) async fn clear_relatch(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    drill(h, checks, "tamper-state", "state_mismatch").await?;
    let block = h.finalized.to_string();
    let clear = h
        .watchdog(&["clear", "--block", &block, "--reason", "drill"])
        .await?;
    checks.run("clear", &clear, 0, "cleared", None);
    let tick = h.tick().await?;
    checks.run(
        "tick while the fault persists",
        &tick,
        2,
        "diverged",
        Some("state_mismatch"),
    );
    checks.events("a new event", &tick, 1, "state_mismatch");
    Ok(())
}

/// `provider-disagreement`: a divergence the confirmation provider does not confirm → 1
/// `provider_disagreement`, no latch.
pub(super) async fn provider_disagreement(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    // A second chain with the same deterministic deployment but none of the inputs: a
    // confirmation provider that disagrees about every input.
    let other = devnet_stack::Devnet::start().await?;
    h.set_watchdog_env("CARTESI_WATCHDOG_CONFIRM_HTTP_ENDPOINT", other.rpc_url());
    h.set_faults(&["tamper-state"]).await?;
    let block = h.transfer(ALICE, BOB, 1_000).await?;
    // Its blocks exist up to B, so it answers; it just tells another story.
    other.mine(block + 2).await?;
    let tick = h.tick().await?;
    checks.run(
        "unconfirmed divergence",
        &tick,
        1,
        "failed",
        Some("provider_disagreement"),
    );
    checks.events("no event", &tick, 0, "-");
    let latched = h.state_dir.join("incident").exists();
    checks.that(
        "no latch",
        "no incident/",
        if latched { "incident/ exists" } else { "none" },
        !latched,
    );
    other.shutdown().await?;
    Ok(())
}
