//! The watchdog's L1 edge: capped and failing providers, outages, another chain. Provider
//! faults must never look like a divergence: exit 1 with a matching reason, then agreement.

use anyhow::Result;

use super::common::{ALICE, BOB, agree, init, l1_fault};
use crate::pins::roles;
use crate::scenario::{Checks, Harness};
use crate::{BlockRange, ProxyOutcome, ProxyRules, check_exact_cover};

/// `log-range-cap`: a result cap forces bisection; the served ranges cover `1..=B` exactly.
pub(super) async fn log_range_cap(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    h.deposit(ALICE, 600_000).await?;
    for i in 0..12u8 {
        h.add_input(roles::DIRECT_INPUTS, vec![i; 8]).await?;
    }
    let block = h.transfer(ALICE, BOB, 400_000).await?;
    init(h, checks).await?;
    h.wd_l1_proxy()?.clear_entries();
    let tick = h.tick().await?;
    checks.run("tick through the capped provider", &tick, 0, "agreed", None);
    let proxy = h.wd_l1_proxy()?;
    let refused = proxy
        .get_logs_entries()
        .iter()
        .filter(|e| matches!(e.outcome, ProxyOutcome::Refused { .. }))
        .count();
    checks.that(
        "range errors answered",
        "≥ 1 refused eth_getLogs",
        refused.to_string(),
        refused >= 1,
    );
    let served = proxy.served_get_logs_ranges();
    let contiguous = check_exact_cover(&served, BlockRange::new(1, block));
    checks.that(
        "served ranges",
        &format!("cover 1..={block} with no gap or overlap"),
        format!("{contiguous:?}"),
        contiguous.is_ok(),
    );
    Ok(())
}

/// `l1-outage`: nothing listens at the L1 endpoint → 1 `l1_unavailable`, no event.
pub(super) async fn l1_outage(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    h.transfer(ALICE, BOB, 1_000).await?;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    h.set_watchdog_env(
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
    Ok(())
}

/// The L1-edge faults of `transient-matrix`, each with the reason it must produce.
pub(super) fn transient_l1_faults() -> Vec<(&'static str, ProxyRules, Option<&'static str>)> {
    vec![
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
                rpc_error_for: Some(("eth_getLogs".into(), -32005, "too many requests".into())),
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
    ]
}

/// `transient-matrix`: each L1 fault alone → 1 transient, no event; cleared → agreement.
pub(super) async fn transient_matrix(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    // New finalized activity, so every tick has to reach the L1.
    h.transfer(ALICE, BOB, 1_000).await?;
    for (what, rules, reason) in transient_l1_faults() {
        l1_fault(h, checks, what, rules, "transient", reason).await?;
    }
    h.set_wd_l1_rules(ProxyRules::default())?;
    let tick = h.tick().await?;
    checks.run("tick with the rules cleared", &tick, 0, "agreed", None);
    Ok(())
}

/// `chain-id-mismatch`: the L1 answers chain id 1 → 1 `operator/chain_id_mismatch`.
pub(super) async fn chain_id_mismatch(h: &mut Harness, checks: &mut Checks) -> Result<()> {
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
    .await
}
