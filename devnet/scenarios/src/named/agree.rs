//! Agreement scenarios: an honest sequencer, and the watchdog agrees (or is idle).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use alloy::primitives::U256;
use anyhow::{Context, Result};
use canonical::{InputBuilder, Method, WalletConfig};
use devnet_pins::{ANVIL_ADDRESSES, ANVIL_KEYS};
use fault_proxy::usage::check_idle;

use super::common::{ALICE, BOB, agree, init, last_tick, usage};
use crate::{Checks, Harness};

/// `genesis-agree`: `init` at block 0, then a tick agrees with genesis.
pub(super) async fn genesis(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    let init = h.watchdog(&["init"]).await?;
    checks.run("init at block 0", &init, 0, "initialized", None);
    let tick = h.tick().await?;
    checks.run("first tick", &tick, 0, "agreed", None);
    Ok(())
}

/// `image-tick`: the watchdog image's `init` and `tick` on the host network agree, at the
/// block where the host binary agrees. Neither mines nor adds inputs.
pub(super) async fn image_tick(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    let image = h.image_driver().await?;
    let init = h.watchdog_with(&image, &["init"]).await?;
    checks.run("init in the image", &init, 0, "initialized", None);
    let tick = h.watchdog_with(&image, &["tick"]).await?;
    checks.run("tick in the image", &tick, 0, "agreed", None);
    let host_init = h.watchdog(&["init"]).await?;
    checks.run("init on the host", &host_init, 0, "initialized", None);
    let host = h.tick().await?;
    checks.run("tick on the host", &host, 0, "agreed", None);
    // Inputs may land between the two ticks on an attached chain: the image agrees at or
    // before the host.
    let (image_head, host_head) = (
        tick.summary["head_block"].as_u64(),
        host.summary["head_block"].as_u64(),
    );
    checks.that(
        "the image agrees where the host binary does",
        "image head ≤ host head",
        format!("image {image_head:?}, host {host_head:?}"),
        matches!((image_head, host_head), (Some(i), Some(h)) if i <= h),
    );
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

/// `idempotent-retick`: after agreement, a tick is idle, its only L1 requests are the finality
/// check's `eth_getBlockByNumber` and `eth_call` (`rpc_usage` (f), on the proxy's records, and
/// two in `last_tick.json`) and it leaves the state tree unchanged
/// but for `last_tick.json` and `status.prom`.
pub(super) async fn idempotent_retick(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    let before = tree(&h.state_dir)?;
    h.wd_l1_proxy()?.clear_entries().await?;
    let tick = h.tick().await?;
    checks.run("re-tick", &tick, 0, "idle", None);
    usage(
        checks,
        "(f) only the finality check on the watchdog's L1 edge",
        check_idle(&h.wd_l1_proxy()?.entries().await?),
    );
    let l1 = &last_tick(h)?["rpc_requests"]["l1"];
    checks.that("L1 requests of an idle tick", "2", l1.to_string(), *l1 == 2);
    let lag = &tick.summary["liveness"]["finality_lag_blocks"];
    checks.that(
        "finality measured",
        "a lag in blocks",
        lag.to_string(),
        lag.is_u64(),
    );
    let after = tree(&h.state_dir)?;
    let changed: Vec<&String> = before
        .iter()
        .chain(&after)
        .filter(|(path, _)| before.get(*path) != after.get(*path))
        .map(|(path, _)| path)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    checks.that(
        "state tree",
        "unchanged but last_tick.json, status.prom",
        if changed.is_empty() {
            "unchanged".to_owned()
        } else {
            format!("changed: {changed:?}")
        },
        changed.is_empty(),
    );
    Ok(())
}

/// Files a tick rewrites even when idle.
const RETICK_WRITES: [&str; 2] = ["last_tick.json", "status.prom"];

/// Every file under `dir` (relative path → contents), but [`RETICK_WRITES`] and the lock.
fn tree(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).with_context(|| current.display().to_string())? {
            let path = entry?.path();
            let name = path.strip_prefix(dir)?.display().to_string();
            if path.is_dir() {
                pending.push(path);
            } else if !RETICK_WRITES.contains(&name.as_str()) && name != "run.lock" {
                files.insert(name, std::fs::read(&path)?);
            }
        }
    }
    Ok(files)
}
