//! The named scenarios.

use std::path::Path;

use anyhow::{Context, Result};
use canonical::Method;

use super::{Checks, Harness, StackOptions};
use crate::pins::{ANVIL_ADDRESSES, roles};
use crate::sequencer::ResponseShape;
use crate::{BlockRange, GetLogsCap, ProxyRules, check_exact_cover};

const ALICE: usize = roles::ALICE;
const BOB: usize = roles::BOB;

/// A scenario's name and what it shows.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioInfo {
    /// `devnet run <name>`.
    pub name: &'static str,
    /// One line.
    pub description: &'static str,
}

/// Every named scenario, in the order `--all` runs them.
pub const SCENARIOS: &[ScenarioInfo] = &[
    ScenarioInfo {
        name: "genesis-agree",
        description: "init at block 0; the first tick agrees with genesis",
    },
    ScenarioInfo {
        name: "deposit-transfer-withdraw",
        description: "a deposit, a transfer and a withdrawal; agreement and exact balances",
    },
    ScenarioInfo {
        name: "batch-close-agree",
        description: "a burst that closes several batches; agreement at the newest",
    },
    ScenarioInfo {
        name: "idempotent-retick",
        description: "after agreement a tick is idle and makes no L1 request",
    },
    ScenarioInfo {
        name: "tampered-state",
        description: "tamper-state → exit 2 state_mismatch, then latched",
    },
    ScenarioInfo {
        name: "dropped-deposit",
        description: "drop-deposit → exit 2 state_mismatch",
    },
    ScenarioInfo {
        name: "wrong-fee",
        description: "wrong-fee → exit 2 state_mismatch",
    },
    ScenarioInfo {
        name: "skipped-op",
        description: "skip-op → exit 2 state_mismatch",
    },
    ScenarioInfo {
        name: "regressed-inclusion",
        description: "regress-inclusion → exit 2 inclusion_block_regressed",
    },
    ScenarioInfo {
        name: "log-range-cap",
        description: "an Infura-style result cap on the watchdog's L1: bisection, contiguous ranges, agreement",
    },
    ScenarioInfo {
        name: "sequencer-outage",
        description: "the sequencer answers 503 → exit 1, never 2; agreement once it recovers",
    },
    ScenarioInfo {
        name: "l1-outage",
        description: "the L1 endpoint is down → exit 1 l1_unavailable, never 2",
    },
    ScenarioInfo {
        name: "kill-sequencer",
        description: "the sequencer dies → exit 1; restarted, it recovers from L1 and agrees",
    },
    ScenarioInfo {
        name: "concurrent-ticks",
        description: "a tick while another holds the lock → exit 1 lock_busy, nothing written",
    },
    ScenarioInfo {
        name: "corrupt-checkpoint",
        description: "a flipped native.bin, a deleted head.json, a 0777 state dir → exit 1 operator",
    },
    ScenarioInfo {
        name: "clear-relatch",
        description: "clear while the fault persists → the next tick latches again",
    },
    ScenarioInfo {
        name: "provider-disagreement",
        description: "a divergence the confirmation provider does not confirm → exit 1, no latch",
    },
    ScenarioInfo {
        name: "torn-publish",
        description: "leftovers of a crashed publish → the next tick agrees and removes them",
    },
    ScenarioInfo {
        name: "legacy-shape-agree",
        description: "the older l2_tx_index response shape, state pinned by download → agreement",
    },
    ScenarioInfo {
        name: "transient-matrix",
        description: "429, 503, a rate-limit error, invalid JSON, a lagging head on the watchdog's L1 → exit 1 transient each, never 2; cleared → agreement",
    },
    ScenarioInfo {
        name: "chain-id-mismatch",
        description: "the watchdog's L1 answers another chain id → exit 1 operator chain_id_mismatch",
    },
];

/// Deposit, transfer, `init`, `tick` → agreed. Returns the agreed block.
async fn agree(h: &mut Harness, checks: &mut Checks) -> Result<u64> {
    h.deposit(ALICE, 600_000).await?;
    let block = h.transfer(ALICE, BOB, 400_000).await?;
    let init = h.watchdog(&["init"]).await?;
    checks.run("init", &init, 0, "initialized", None);
    let tick = h.tick().await?;
    checks.run("tick", &tick, 0, "agreed", None);
    checks.that(
        "agreed block",
        &block.to_string(),
        tick.summary["head_block"].to_string(),
        tick.summary["head_block"] == block,
    );
    Ok(block)
}

/// Arms `fault`, makes the finalized state move with `workload`, expects a latched `kind`.
async fn drill(h: &mut Harness, checks: &mut Checks, fault: &str, kind: &str) -> Result<()> {
    h.set_faults(&[fault]).await?;
    h.transfer(ALICE, BOB, 1_000).await?;
    let tick = h.tick().await?;
    checks.run(
        &format!("tick under {fault}"),
        &tick,
        2,
        "diverged",
        Some(kind),
    );
    checks.events("watchdog_event", &tick, 1, kind);
    Ok(())
}

/// Puts `rules` on the watchdog's L1 edge and expects a tick that fails with class `class`
/// (and `reason`, when given) and emits no event.
async fn l1_fault(
    h: &Harness,
    checks: &mut Checks,
    what: &str,
    rules: ProxyRules,
    class: &str,
    reason: Option<&str>,
) -> Result<()> {
    h.set_wd_l1_rules(rules)?;
    let tick = h.tick().await?;
    checks.run(what, &tick, 1, "failed", reason);
    let observed = tick.summary["class"].as_str().unwrap_or("-");
    checks.that(
        &format!("{what}: class"),
        class,
        observed,
        observed == class,
    );
    checks.events(&format!("{what}: no event"), &tick, 0, "-");
    Ok(())
}

fn flip_byte(path: &Path) -> Result<()> {
    let mut bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    let last = bytes.len().checked_sub(1).context("empty file")?;
    bytes[last] ^= 0xff;
    std::fs::write(path, bytes)?;
    Ok(())
}

/// Whether some process holds a lock on the file with this inode (read-only probe).
fn lock_held(inode: u64) -> bool {
    std::fs::read_to_string("/proc/locks")
        .map(|locks| {
            locks
                .lines()
                .any(|line| line.contains(&format!(":{inode} ")))
        })
        .unwrap_or(false)
}

/// Runs scenario `name`, recording its expectations.
pub(super) async fn run(name: &str, checks: &mut Checks) -> Result<()> {
    let mut options = StackOptions::default();
    match name {
        "batch-close-agree" => options.batch_max_ops = Some(4),
        "log-range-cap" => options.wd_l1_cap = Some(GetLogsCap::max_results(3)),
        "legacy-shape-agree" => options.shape = ResponseShape::Legacy,
        "transient-matrix" | "chain-id-mismatch" => {
            options.wd_l1_rules = Some(ProxyRules::default());
        }
        _ => {}
    }
    let mut h = Harness::start(options).await?;
    let result = scenario(name, &mut h, checks).await;
    h.shutdown().await?;
    result
}

async fn scenario(name: &str, h: &mut Harness, checks: &mut Checks) -> Result<()> {
    match name {
        "genesis-agree" => {
            let init = h.watchdog(&["init"]).await?;
            checks.run("init at block 0", &init, 0, "initialized", None);
            let tick = h.tick().await?;
            checks.run("first tick", &tick, 0, "agreed", None);
        }
        "deposit-transfer-withdraw" => {
            h.deposit(ALICE, 600_000).await?;
            h.transfer(ALICE, BOB, 400_000).await?;
            let block = h.withdraw(BOB, 150_000).await?;
            let init = h.watchdog(&["init"]).await?;
            checks.run("init", &init, 0, "initialized", None);
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
            let submitter = canonical::WalletConfig::devnet().sequencer_address;
            let observed = format!(
                "Alice {}, Bob {}, submitter {}",
                balance(ANVIL_ADDRESSES[ALICE]),
                balance(ANVIL_ADDRESSES[BOB]),
                balance(submitter)
            );
            checks.that(
                "balances",
                "Alice 161724, Bob 211724, submitter 76552",
                observed.clone(),
                observed == "Alice 161724, Bob 211724, submitter 76552",
            );
        }
        "batch-close-agree" => {
            h.deposit(ALICE, 1_000_000).await?;
            let first = h
                .signed(
                    ALICE,
                    &Method::Withdrawal {
                        amount: alloy::primitives::U256::from(1),
                    },
                )
                .await?;
            let mut txs = Vec::new();
            for i in 0..10u32 {
                let method = Method::Transfer {
                    amount: alloy::primitives::U256::from(1),
                    to: ANVIL_ADDRESSES[ALICE],
                };
                let mut tx = h.signed(ALICE, &method).await?;
                let op = canonical::InputBuilder::new(canonical::WalletConfig::devnet(), h.app)
                    .sign(
                        &crate::pins::ANVIL_KEYS[ALICE],
                        first.nonce + i,
                        tx.max_fee,
                        &method,
                    )
                    .context("signing")?;
                tx.nonce = first.nonce + i;
                tx.signature = op.signature;
                txs.push(tx);
            }
            h.submit_and_settle(&txs).await?;
            let inputs = h.devnet.input_count().await?;
            checks.that(
                "batches posted",
                "≥ 3 inputs (a deposit and ≥ 2 batches)",
                inputs.to_string(),
                inputs >= 3,
            );
            let init = h.watchdog(&["init"]).await?;
            checks.run("init", &init, 0, "initialized", None);
            let tick = h.tick().await?;
            checks.run("tick", &tick, 0, "agreed", None);
        }
        "idempotent-retick" => {
            agree(h, checks).await?;
            let tick = h.tick().await?;
            checks.run("re-tick", &tick, 0, "idle", None);
            let last: serde_json::Value =
                serde_json::from_slice(&std::fs::read(h.state_dir.join("last_tick.json"))?)?;
            let l1 = &last["rpc_requests"]["l1"];
            checks.that("L1 requests of an idle tick", "0", l1.to_string(), *l1 == 0);
        }
        "tampered-state" => {
            agree(h, checks).await?;
            drill(h, checks, "tamper-state", "state_mismatch").await?;
            let tick = h.tick().await?;
            checks.run("next tick", &tick, 2, "latched", Some("incident_latched"));
            checks.events("no new event", &tick, 0, "-");
        }
        "dropped-deposit" => {
            agree(h, checks).await?;
            h.set_faults(&["drop-deposit:1"]).await?;
            // A fresh account spends from the deposit, so the finalized batch surely covers it.
            let carol = 3;
            h.deposit(carol, 100_000).await?;
            h.transfer(carol, BOB, 1_000).await?;
            let tick = h.tick().await?;
            checks.run(
                "tick after a dropped deposit",
                &tick,
                2,
                "diverged",
                Some("state_mismatch"),
            );
            checks.events("watchdog_event", &tick, 1, "state_mismatch");
        }
        "wrong-fee" => {
            agree(h, checks).await?;
            drill(h, checks, "wrong-fee:1", "state_mismatch").await?;
        }
        "skipped-op" => {
            agree(h, checks).await?;
            drill(h, checks, "skip-op:1", "state_mismatch").await?;
        }
        "regressed-inclusion" => {
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
        }
        "log-range-cap" => {
            h.deposit(ALICE, 600_000).await?;
            for i in 0..12u8 {
                h.devnet
                    .add_input(ANVIL_ADDRESSES[roles::DIRECT_INPUTS], vec![i; 8])
                    .await?;
            }
            let block = h.transfer(ALICE, BOB, 400_000).await?;
            let init = h.watchdog(&["init"]).await?;
            checks.run("init", &init, 0, "initialized", None);
            let proxy = h.proxy.as_ref().context("proxy")?;
            proxy.clear_entries();
            let tick = h.tick().await?;
            checks.run("tick through the capped provider", &tick, 0, "agreed", None);
            let refused = proxy
                .get_logs_entries()
                .iter()
                .filter(|e| matches!(e.outcome, crate::ProxyOutcome::Refused { .. }))
                .count();
            checks.that(
                "range errors answered",
                "≥ 1 refused eth_getLogs",
                refused.to_string(),
                refused >= 1,
            );
            let served = proxy.served_get_logs_ranges();
            let cover = BlockRange::new(1, block);
            let contiguous = check_exact_cover(&served, cover);
            checks.that(
                "served ranges",
                &format!("cover 1..={block} with no gap or overlap"),
                format!("{contiguous:?}"),
                contiguous.is_ok(),
            );
        }
        "sequencer-outage" => {
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
        }
        "l1-outage" => {
            agree(h, checks).await?;
            h.transfer(ALICE, BOB, 1_000).await?;
            let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
            h.driver.set_env(
                "CARTESI_WATCHDOG_BLOCKCHAIN_HTTP_ENDPOINT",
                format!("http://{closed}"),
            );
            let tick = h.tick().await?;
            checks.run(
                "tick while the L1 is down",
                &tick,
                1,
                "failed",
                Some("l1_unavailable"),
            );
            checks.events("no event", &tick, 0, "-");
        }
        "kill-sequencer" => {
            agree(h, checks).await?;
            let url = h.sequencer_url().context("sequencer")?;
            h.stop_sequencer().await?;
            let tick = h.tick().await?;
            checks.run(
                "tick with the sequencer down",
                &tick,
                1,
                "failed",
                Some("sequencer_unavailable"),
            );
            h.restart_sequencer(&url).await?;
            h.transfer(ALICE, BOB, 1_000).await?;
            let tick = h.tick().await?;
            checks.run("tick after the restart", &tick, 0, "agreed", None);
        }
        "concurrent-ticks" => {
            agree(h, checks).await?;
            h.transfer(ALICE, BOB, 1_000).await?;
            h.set_faults(&["slow:3000"]).await?;
            let inode = {
                use std::os::unix::fs::MetadataExt;
                std::fs::metadata(h.state_dir.join("run.lock"))?.ino()
            };
            let driver = h.driver.clone();
            let first = tokio::spawn(async move { driver.run(&["tick"]).await });
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while !lock_held(inode) {
                anyhow::ensure!(
                    std::time::Instant::now() < deadline,
                    "the first tick never took the lock"
                );
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            // What a tick may write; the first tick is parked in the slow sequencer poll.
            let files = ["head.json", "last_tick.json", "status.prom"];
            let snapshot = |dir: &Path| files.map(|f| std::fs::read(dir.join(f)).ok());
            let before = snapshot(&h.state_dir);
            let second = h.tick().await?;
            let after = snapshot(&h.state_dir);
            checks.run("second tick", &second, 1, "failed", Some("lock_busy"));
            checks.events("no event", &second, 0, "-");
            checks.that(
                "the busy tick wrote nothing",
                "head.json, last_tick.json, status.prom unchanged",
                if before == after {
                    "unchanged"
                } else {
                    "changed"
                },
                before == after,
            );
            let first = first.await??;
            checks.run("first tick", &first, 0, "agreed", None);
        }
        "corrupt-checkpoint" => {
            agree(h, checks).await?;
            h.transfer(ALICE, BOB, 1_000).await?;
            let head: serde_json::Value =
                serde_json::from_slice(&std::fs::read(h.state_dir.join("head.json"))?)?;
            let checkpoint = h
                .state_dir
                .join(head["checkpoint"].as_str().context("checkpoint")?);
            let native = checkpoint.join("machine/native.bin");
            flip_byte(&native)?;
            let tick = h.tick().await?;
            checks.run(
                "flipped native.bin",
                &tick,
                1,
                "failed",
                Some("checkpoint_corrupt"),
            );
            flip_byte(&native)?;
            let saved = std::fs::read(h.state_dir.join("head.json"))?;
            std::fs::remove_file(h.state_dir.join("head.json"))?;
            let tick = h.tick().await?;
            checks.run(
                "deleted head.json",
                &tick,
                1,
                "failed",
                Some("missing_head"),
            );
            std::fs::write(h.state_dir.join("head.json"), saved)?;
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&h.state_dir, std::fs::Permissions::from_mode(0o777))?;
                let tick = h.tick().await?;
                checks.run(
                    "state dir mode 0777",
                    &tick,
                    1,
                    "failed",
                    Some("unsafe_permissions"),
                );
                std::fs::set_permissions(&h.state_dir, std::fs::Permissions::from_mode(0o700))?;
            }
            let tick = h.tick().await?;
            checks.run("repaired", &tick, 0, "agreed", None);
        }
        "clear-relatch" => {
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
        }
        "legacy-shape-agree" => {
            agree(h, checks).await?;
        }
        "provider-disagreement" => {
            agree(h, checks).await?;
            // A second chain with the same deterministic deployment but none of the inputs: a
            // confirmation provider that disagrees about every input.
            let other = crate::Devnet::start().await?;
            h.driver
                .set_env("CARTESI_WATCHDOG_CONFIRM_HTTP_ENDPOINT", other.rpc_url());
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
        }
        "torn-publish" => {
            agree(h, checks).await?;
            let checkpoints = h.state_dir.join("checkpoints");
            let partial = checkpoints.join(".tmp-01TORNPUBLISH0000000000000");
            std::fs::create_dir_all(partial.join("machine"))?;
            std::fs::write(partial.join("machine/native.bin"), b"partial")?;
            let orphan = checkpoints.join(format!("{:020}-{:020}", 999_999, 42));
            std::fs::create_dir_all(&orphan)?;
            h.transfer(ALICE, BOB, 1_000).await?;
            let tick = h.tick().await?;
            checks.run("tick after a torn publish", &tick, 0, "agreed", None);
            let left = partial.exists() || orphan.exists();
            checks.that(
                "leftovers collected",
                "none left",
                if left { "still there" } else { "none left" },
                !left,
            );
            let status = h.watchdog(&["status"]).await?;
            checks.run("status", &status, 0, "ok", None);
        }
        "transient-matrix" => {
            agree(h, checks).await?;
            // New finalized activity, so every tick has to reach the L1.
            h.transfer(ALICE, BOB, 1_000).await?;
            let faults = [
                (
                    "HTTP 429, Retry-After 1",
                    ProxyRules {
                        http_status: Some((429, Some(1))),
                        ..ProxyRules::default()
                    },
                    Some("l1_unavailable"),
                ),
                (
                    "HTTP 503",
                    ProxyRules {
                        http_status: Some((503, None)),
                        ..ProxyRules::default()
                    },
                    Some("l1_unavailable"),
                ),
                (
                    "eth_getLogs rate limit",
                    ProxyRules {
                        rpc_error_for: Some((
                            "eth_getLogs".into(),
                            -32005,
                            "too many requests".into(),
                        )),
                        ..ProxyRules::default()
                    },
                    Some("l1_unavailable"),
                ),
                (
                    "invalid JSON",
                    ProxyRules {
                        invalid_json: true,
                        ..ProxyRules::default()
                    },
                    None,
                ),
                (
                    "head lag (safe below B)",
                    ProxyRules {
                        head_lag: Some(1_000_000),
                        ..ProxyRules::default()
                    },
                    Some("l1_head_lags"),
                ),
            ];
            for (what, rules, reason) in faults {
                l1_fault(h, checks, what, rules, "transient", reason).await?;
            }
            h.set_wd_l1_rules(ProxyRules::default())?;
            let tick = h.tick().await?;
            checks.run("tick with the rules cleared", &tick, 0, "agreed", None);
        }
        "chain-id-mismatch" => {
            agree(h, checks).await?;
            h.transfer(ALICE, BOB, 1_000).await?;
            let rules = ProxyRules {
                chain_id: Some(1),
                ..ProxyRules::default()
            };
            let what = "the L1 answers chain id 1";
            l1_fault(
                h,
                checks,
                what,
                rules,
                "operator",
                Some("chain_id_mismatch"),
            )
            .await?;
        }
        other => anyhow::bail!("no scenario named {other}"),
    }
    Ok(())
}
