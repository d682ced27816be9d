//! Steps shared by several scenarios.

use anyhow::{Context, Result};
use devnet_pins::roles;
use fault_proxy::ProxyRules;
use fault_proxy::usage::UsageResult;

use crate::{Checks, Harness};

/// Anvil account 1.
pub(super) const ALICE: usize = roles::ALICE;
/// Anvil account 2.
pub(super) const BOB: usize = roles::BOB;
/// Anvil account 3 (a load account with no other role here).
pub(super) const CAROL: usize = 3;

/// Deposit, transfer, `init`, `tick` → agreed. Returns the agreed block.
pub(super) async fn agree(h: &mut Harness, checks: &mut Checks) -> Result<u64> {
    h.deposit(ALICE, 600_000).await?;
    let block = h.transfer(ALICE, BOB, 400_000).await?;
    init(h, checks).await?;
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

/// `init` at block 0 → initialized.
pub(super) async fn init(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    let init = h.watchdog(&["init"]).await?;
    checks.run("init", &init, 0, "initialized", None);
    Ok(())
}

/// Arms `fault`, makes the finalized state move with a transfer, expects a latched `kind`.
pub(super) async fn drill(
    h: &mut Harness,
    checks: &mut Checks,
    fault: &str,
    kind: &str,
) -> Result<()> {
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
pub(super) async fn l1_fault(
    h: &Harness,
    checks: &mut Checks,
    what: &str,
    rules: ProxyRules,
    class: &str,
    reason: Option<&str>,
) -> Result<()> {
    h.set_wd_l1_rules(rules).await?;
    let tick = h.tick().await?;
    failed_with(checks, what, &tick, class, reason);
    Ok(())
}

/// Expects `tick` to have failed (exit 1) with `class` and `reason`, with no event.
pub(super) fn failed_with(
    checks: &mut Checks,
    what: &str,
    tick: &crate::driver::Run,
    class: &str,
    reason: Option<&str>,
) {
    checks.run(what, tick, 1, "failed", reason);
    let observed = tick.summary["class"].as_str().unwrap_or("-");
    checks.that(
        &format!("{what}: class"),
        class,
        observed,
        observed == class,
    );
    checks.events(&format!("{what}: no event"), tick, 0, "-");
}

/// Records an `rpc_usage` check: held, or the violation with its records.
pub(super) fn usage(checks: &mut Checks, what: &str, result: UsageResult) {
    let ok = result.is_ok();
    let observed = result.map_or_else(|e| e.to_string(), |()| "held".to_owned());
    checks.that(what, "held", observed, ok);
}

/// The watchdog's `last_tick.json`, parsed.
pub(super) fn last_tick(h: &Harness) -> Result<serde_json::Value> {
    let path = h.state_dir.join("last_tick.json");
    let text = std::fs::read(&path).with_context(|| path.display().to_string())?;
    Ok(serde_json::from_slice(&text)?)
}

/// The current `state` of `cartesi_watchdog_status` in the watchdog's `status.prom`.
pub(super) fn metrics_state(h: &Harness) -> Result<String> {
    let path = h.state_dir.join("status.prom");
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    text.lines()
        .filter(|line| line.starts_with("cartesi_watchdog_status{") && line.ends_with("} 1"))
        .find_map(|line| line.split("state=\"").nth(1)?.split('"').next())
        .map(str::to_owned)
        .with_context(|| format!("no current state in {}", path.display()))
}
