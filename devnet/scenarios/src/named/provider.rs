//! The watchdog's L1 edge: failing and lying providers, outages, another chain. Provider
//! faults must never look like a divergence: exit 1 with a matching reason, then agreement.

use anyhow::Result;
use fault_proxy::rules::{HttpAction, LogPick, StaleHead, TagLags};
use fault_proxy::{Action, ProxyRules, Rule, Scope, When};

use super::common::{ALICE, BOB, agree, failed_with, l1_fault};
use crate::{Checks, Harness};

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

/// One rule for every request (or every request for `method`).
fn rule(method: Option<&str>, action: Action) -> ProxyRules {
    let when = method.map_or_else(When::default, When::method);
    ProxyRules {
        rules: vec![Rule::new(when, action)],
        ..ProxyRules::default()
    }
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
        (
            "bad tags (safe and finalized far below latest)",
            rule(
                Some("eth_getBlockByNumber"),
                Action::Tags(TagLags {
                    safe_lag: Some(1_000_000),
                    finalized_lag: Some(1_000_000),
                }),
            ),
            Some(TAGS_REASON),
        ),
        (
            "drop_log (a lying provider omits a log)",
            rule(Some("eth_getLogs"), Action::DropLog(LogPick::default())),
            Some(DROP_LOG_REASON),
        ),
    ]
}

/// What the watchdog answers when `safe`/`finalized` trail `latest` far behind B.
const TAGS_REASON: &str = "l1_head_lags";
/// What the watchdog answers when a log is missing from an `eth_getLogs` answer.
const DROP_LOG_REASON: &str = "l1_incomplete";
/// What the watchdog answers when the head froze below B.
const FROZEN_REASON: &str = "l1_head_lags";

/// `transient-matrix`: each L1 fault alone → 1 transient, no event; a frozen head → 1;
/// cleared → agreement; a one-shot 503 → agreement (the retry absorbs it).
pub(super) async fn transient_matrix(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    // The head freezes before new activity, so the frozen head stays below the new B.
    h.set_wd_l1_rules(rule(
        None,
        Action::StaleHead(StaleHead {
            lag: 0,
            freeze: true,
        }),
    ))
    .await?;
    poke(h).await?;
    // New finalized activity, so every tick has to reach the L1.
    h.transfer(ALICE, BOB, 1_000).await?;
    let tick = h.tick().await?;
    failed_with(
        checks,
        "stale head (frozen before the activity)",
        &tick,
        "transient",
        Some(FROZEN_REASON),
    );
    for (what, rules, reason) in transient_l1_faults() {
        l1_fault(h, checks, what, rules, "transient", reason).await?;
    }
    h.set_wd_l1_rules(ProxyRules::default()).await?;
    let tick = h.tick().await?;
    checks.run("tick with the rules cleared", &tick, 0, "agreed", None);
    h.transfer(ALICE, BOB, 1_000).await?;
    let blip = Rule::new(
        When::default(),
        Action::Http(HttpAction {
            status: 503,
            retry_after: None,
        }),
    )
    .scoped(Scope::First(1));
    h.set_wd_l1_rules(ProxyRules {
        rules: vec![blip],
        ..ProxyRules::default()
    })
    .await?;
    h.wd_l1_proxy()?.clear_entries().await?;
    let tick = h.tick().await?;
    checks.run("a one-shot 503 (retried)", &tick, 0, "agreed", None);
    let blips = h
        .wd_l1_proxy()?
        .entries()
        .await?
        .iter()
        .filter(|e| e.status == Some(503))
        .count();
    checks.that(
        "the blip was served",
        "1 HTTP 503",
        blips.to_string(),
        blips == 1,
    );
    Ok(())
}

/// One `eth_getBlockByNumber("latest")` through the watchdog's L1 proxy (fires a `freeze`).
async fn poke(h: &Harness) -> Result<()> {
    let url = h.wd_l1_proxy()?.url();
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": ["latest", false]
    });
    let answer: serde_json::Value = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    anyhow::ensure!(answer["result"].is_object(), "poke answered {answer}");
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
