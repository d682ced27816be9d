//! L1 history drills: reorgs at the tip, below `safe` and below the watchdog's head.
//!
//! Each reorg is one rewrite that keeps the height (one `anvil_reorg` on anvil): the rewritten
//! blocks replay their transactions (same bytes, so the sequencer's batches keep their hashes)
//! except the ones a drill swaps or drops. The outcome is asserted through block hashes and what the sequencer
//! and the watchdog then read, never through `removed: true` logs.

use anyhow::Result;
use devnet_pins::ANVIL_ADDRESSES;

use super::common::{ALICE, BOB, CAROL, agree, init};
use crate::{Checks, Harness};

/// Records that every rewritten block got a new hash.
fn rewritten(
    checks: &mut Checks,
    what: &str,
    hashes: &[(u64, alloy::primitives::B256, alloy::primitives::B256)],
) {
    let changed = hashes.iter().filter(|(_, old, new)| old != new).count();
    let blocks: Vec<u64> = hashes.iter().map(|(n, _, _)| *n).collect();
    checks.that(
        what,
        &format!("{} block(s) with new hashes", hashes.len()),
        format!("{changed} of blocks {blocks:?} changed"),
        changed == hashes.len() && !hashes.is_empty(),
    );
}

/// `reorg-tip`: a deposit still above `safe` (the sequencer reads only up to `safe`, so it has
/// not seen it) is replaced by a depth-1 reorg with a deposit of another amount. The sequencer
/// and the watchdog only ever see the new chain: 0 agreed, with the replacement amount.
pub(super) async fn tip(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    init(h, checks).await?;
    let original = h.deposit_input(CAROL, 50_000).await?;
    let head = h.block_number().await?;
    checks.that(
        "the deposit is not yet safe",
        &format!("deposit block {} = head", original.block),
        format!("head {head}"),
        head == original.block,
    );
    let hashes = h
        .rewrite_blocks(
            original.block,
            &[(original.tx, Some(h.deposit_tx(CAROL, 40_000)))],
            Vec::new(),
        )
        .await?;
    rewritten(checks, "depth-1 reorg at the tip", &hashes);
    h.settle().await?;
    let tick = h.tick().await?;
    checks.run("tick after the tip reorg", &tick, 0, "agreed", None);
    checks.events("no event", &tick, 0, "-");
    let snapshot = h.served_snapshot().await?;
    let carol = snapshot
        .balance_of(ANVIL_ADDRESSES[CAROL])
        .unwrap_or_default()
        .to::<u64>();
    checks.that(
        "served balance of the depositor",
        "40000 (the replacement)",
        carol.to_string(),
        carol == 40_000,
    );
    Ok(())
}

/// `reorg-below-safe`: after agreement at B1, Carol (no funds before) deposits 600 000 and
/// sends Bob 1 000, so the batch that lands (finalized at L) must drain the deposit. A reorg
/// then rewrites the deposit's block, below `safe`, as a 500 000 deposit at the same input
/// index, replaying every other transaction (the batches keep their bytes and hashes).
///
/// The devnet sequencer reads L1 forward up to `safe` and never looks back, so it keeps
/// serving the state it derived from the 600 000 deposit at the same inclusion block L; the
/// scenario records what it serves. The watchdog, replaying `(B1, L]` from the rewritten
/// chain, derives 100 000 less for Carol: a true divergence, 2 `state_mismatch`, as the spec
/// expects.
pub(super) async fn below_safe(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    let agreed = agree(h, checks).await?;
    let deposit = h.deposit_input(CAROL, 600_000).await?;
    let landed = h.transfer(CAROL, BOB, 1_000).await?;
    h.mine(2).await?;
    let safe = h.block_number().await?.saturating_sub(1);
    checks.that(
        "the deposit is in a landed batch above the watchdog head, below safe",
        &format!("{agreed} < deposit block < safe, batch finalized at L ≤ safe"),
        format!(
            "head {agreed}, deposit {}, L {landed}, safe {safe}",
            deposit.block
        ),
        agreed < deposit.block && deposit.block < landed && landed <= safe,
    );
    let carol = ANVIL_ADDRESSES[CAROL];
    let before = h
        .served_snapshot()
        .await?
        .balance_of(carol)
        .unwrap_or_default();
    let count_before = h.input_count().await?;
    let hashes = h
        .rewrite_blocks(
            deposit.block,
            &[(deposit.tx, Some(h.deposit_tx(CAROL, 500_000)))],
            Vec::new(),
        )
        .await?;
    rewritten(checks, "reorg below safe", &hashes);
    let count_after = h.input_count().await?;
    checks.that(
        "same input count after the reorg",
        &count_before.to_string(),
        count_after.to_string(),
        count_after == count_before,
    );
    h.mine(2).await?;
    let served_block = h.inclusion_block().await?;
    let after = h
        .served_snapshot()
        .await?
        .balance_of(carol)
        .unwrap_or_default();
    h.note(format!(
        "after the reorg the sequencer serves inclusion block {served_block} (L = {landed}); \
         Carol's served balance {before} before, {after} after"
    ));
    checks.that(
        "the sequencer still serves the pre-reorg state",
        &format!("inclusion block {landed}, Carol {before}"),
        format!("inclusion block {served_block}, Carol {after}"),
        served_block == landed && after == before,
    );
    let tick = h.tick().await?;
    checks.run(
        "tick after the reorg below safe",
        &tick,
        2,
        "diverged",
        Some("state_mismatch"),
    );
    checks.events("watchdog_event", &tick, 1, "state_mismatch");
    Ok(())
}

/// `reorg-below-head`: after agreement at B, a reorg rewrites block B itself (same inputs, one
/// extra plain transfer, so a new hash). New activity makes the watchdog look again: its
/// anchor no longer matches → 1 `operator/l1_anchor_mismatch`, and again on the next tick,
/// never 0.
pub(super) async fn below_head(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    let agreed = agree(h, checks).await?;
    let extra = alloy::rpc::types::TransactionRequest {
        from: Some(ANVIL_ADDRESSES[0]),
        to: Some(ANVIL_ADDRESSES[5].into()),
        value: Some(alloy::primitives::U256::from(1)),
        ..Default::default()
    };
    let hashes = h
        .rewrite_blocks_evm(
            agreed,
            vec![(alloy::rpc::types::anvil::TransactionData::JSON(extra), 0)],
        )
        .await?;
    rewritten(checks, "reorg rewriting the agreed block", &hashes);
    h.transfer(ALICE, BOB, 1_000).await?;
    for what in ["tick after the reorg", "next tick"] {
        let tick = h.tick().await?;
        super::common::failed_with(checks, what, &tick, "operator", Some("l1_anchor_mismatch"));
    }
    Ok(())
}
