//! Agreement scenarios: an honest sequencer, and the watchdog agrees (or is idle).

use alloy::primitives::U256;
use anyhow::{Context, Result};
use canonical::{InputBuilder, Method, WalletConfig};

use super::common::{ALICE, BOB, agree, init};
use crate::pins::{ANVIL_ADDRESSES, ANVIL_KEYS};
use crate::scenario::{Checks, Harness};

/// `genesis-agree`: `init` at block 0, then a tick agrees with genesis.
pub(super) async fn genesis(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    let init = h.watchdog(&["init"]).await?;
    checks.run("init at block 0", &init, 0, "initialized", None);
    let tick = h.tick().await?;
    checks.run("first tick", &tick, 0, "agreed", None);
    Ok(())
}

/// `deposit-transfer-withdraw`: the spec's balances after a deposit, transfer and withdrawal.
pub(super) async fn deposit_transfer_withdraw(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    h.deposit(ALICE, 600_000).await?;
    h.transfer(ALICE, BOB, 400_000).await?;
    let block = h.withdraw(BOB, 150_000).await?;
    init(h, checks).await?;
    let tick = h.tick().await?;
    checks.run("tick", &tick, 0, "agreed", None);
    checks.that(
        "target block",
        &block.to_string(),
        tick.summary["target_block"].to_string(),
        tick.summary["target_block"] == block,
    );
    let snapshot = h.served_snapshot().await?;
    let balance = |a| snapshot.balance_of(a).unwrap_or_default().to::<u64>();
    let submitter = WalletConfig::devnet().sequencer_address;
    let observed = format!(
        "Alice {}, Bob {}, submitter {}",
        balance(ANVIL_ADDRESSES[ALICE]),
        balance(ANVIL_ADDRESSES[BOB]),
        balance(submitter)
    );
    let expected = "Alice 161724, Bob 211724, submitter 76552";
    checks.that("balances", expected, observed.clone(), observed == expected);
    Ok(())
}

/// `batch-close-agree`: ten self-transfers with a four-op batch limit close several batches.
pub(super) async fn batch_close(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    h.deposit(ALICE, 1_000_000).await?;
    let first = h
        .signed(
            ALICE,
            &Method::Withdrawal {
                amount: U256::from(1),
            },
        )
        .await?;
    let mut txs = Vec::new();
    for i in 0..10u32 {
        let method = Method::Transfer {
            amount: U256::from(1),
            to: ANVIL_ADDRESSES[ALICE],
        };
        let mut tx = h.signed(ALICE, &method).await?;
        let op = InputBuilder::new(WalletConfig::devnet(), h.app)
            .sign(&ANVIL_KEYS[ALICE], first.nonce + i, tx.max_fee, &method)
            .context("signing")?;
        tx.nonce = first.nonce + i;
        tx.signature = op.signature;
        txs.push(tx);
    }
    h.submit_and_settle(&txs).await?;
    let inputs = h.input_count().await?;
    checks.that(
        "batches posted",
        "≥ 3 inputs (a deposit and ≥ 2 batches)",
        inputs.to_string(),
        inputs >= 3,
    );
    init(h, checks).await?;
    let tick = h.tick().await?;
    checks.run("tick", &tick, 0, "agreed", None);
    Ok(())
}

/// `idempotent-retick`: after agreement, a tick is idle and makes no L1 request.
pub(super) async fn idempotent_retick(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    let tick = h.tick().await?;
    checks.run("re-tick", &tick, 0, "idle", None);
    let last: serde_json::Value =
        serde_json::from_slice(&std::fs::read(h.state_dir.join("last_tick.json"))?)?;
    let l1 = &last["rpc_requests"]["l1"];
    checks.that("L1 requests of an idle tick", "0", l1.to_string(), *l1 == 0);
    Ok(())
}
