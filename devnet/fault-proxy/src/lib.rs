//! Loopback fault proxies: [`RpcProxy`] in front of a JSON-RPC node and [`HttpProxy`] in front
//! of an HTTP service, both driven by one rule language ([`RuleSet`], see [`rules`] for the JSON
//! form) and both recording every request ([`ProxyEntry`], optionally as JSONL).
//!
//! Rules are ordered and the first that takes a request wins; a request no rule takes is
//! forwarded unchanged. In JSON-RPC mode a batch is handled element by element: each element
//! gets its own rule and record, and an element whose answer is not JSON (`http`, `hang`,
//! `drop`, `invalid_json`) decides the answer of the whole batch (in that order of
//! precedence: `hang`, `drop`, `http`, `invalid_json`); `truncate` cuts the whole body.
//!
//! [`ProxyRules`] is the short form used by scenarios: each field compiles into one rule
//! (after [`ProxyRules::rules`]):
//!
//! - [`ProxyRules::http_status`]: `http{status, retry_after}` for every request;
//! - [`ProxyRules::invalid_json`]: `invalid_json` for every request;
//! - [`ProxyRules::rpc_error_for`]: `error{code, message}` for one method;
//! - [`ProxyRules::chain_id`]: `chain_id{v}` for `eth_chainId`;
//! - [`ProxyRules::head_lag`]: `stale_head{lag}` for `eth_getBlockByNumber` (`latest`, `safe`
//!   and `finalized` lag alike);
//! - [`ProxyRules::get_logs_cap`]: `get_logs_cap` for `eth_getLogs`: a range wider than
//!   [`GetLogsCap::max_range`] is refused without reaching the node; with
//!   [`GetLogsCap::max_results`] the request is forwarded and a result with more logs is
//!   replaced by the provider's error. Block tags are resolved at the node.
//!
//! [`usage`] checks how a client used the node, over the records (`rpc_usage`); [`BlockRange`]
//! and [`check_exact_cover`] are the block ranges both speak of.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use anyhow::Result;
use axum::Router;
use axum::routing::post;

mod actions;
mod cap;
pub mod control;
mod engine;
mod envelope;
mod handler;
mod http_proxy;
mod log;
mod range;
mod rewrite;
pub mod rules;
mod server;
pub mod usage;

pub use cap::{GetLogsCap, RangeErrorProfile};
pub use control::{ControlError, RemoteProxy};
pub use http_proxy::HttpProxy;
pub use log::{EntryError, ProxyEntry, ProxyOutcome};
pub use range::{BlockRange, check_exact_cover};
pub use rules::{Action, Rule, RuleSet, RulesError, Scope, When};
pub use server::ProxyConfig;
use server::Server;
pub use usage::UsageViolation;

use handler::{INVALID_JSON as INVALID_JSON_BODY, http_response};

/// What the proxy does to requests: explicit [`rules`](Self::rules) first, then the short
/// forms, each compiled into one rule (see the [module docs](self)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyRules {
    /// The `eth_getLogs` cap, if any.
    pub get_logs_cap: Option<GetLogsCap>,
    /// Answer every request with this HTTP status and, if given, this `Retry-After` (seconds);
    /// nothing reaches the node.
    pub http_status: Option<(u16, Option<u64>)>,
    /// Answer every request for this method with this JSON-RPC error code and message; the node
    /// is not asked.
    pub rpc_error_for: Option<(String, i64, String)>,
    /// Answer `eth_chainId` with this chain id.
    pub chain_id: Option<u64>,
    /// Answer `eth_getBlockByNumber` for `latest`, `safe` and `finalized` with the block this
    /// many below the tagged one (block 0 at least), as a node behind the chain would.
    pub head_lag: Option<u64>,
    /// Answer every request with a body that is not JSON (HTTP 200).
    pub invalid_json: bool,
    /// Rules tried before the short forms above, first match wins.
    pub rules: Vec<Rule>,
    /// Seed of the `probability` scopes.
    pub seed: u64,
}

impl ProxyRules {
    /// The rule set these rules compile into.
    pub fn compile(&self) -> RuleSet {
        let mut rules = self.rules.clone();
        if let Some((status, retry_after)) = self.http_status {
            let http = rules::HttpAction {
                status,
                retry_after,
            };
            rules.push(Rule::new(When::default(), Action::Http(http)));
        }
        if self.invalid_json {
            rules.push(Rule::new(When::default(), Action::InvalidJson));
        }
        if let Some((method, code, message)) = &self.rpc_error_for {
            let error = rules::ErrorAction {
                code: *code,
                message: message.clone(),
                data: None,
            };
            rules.push(Rule::new(When::method(method), Action::Error(error)));
        }
        if let Some(v) = self.chain_id {
            rules.push(Rule::new(
                When::method("eth_chainId"),
                Action::ChainId { v },
            ));
        }
        if let Some(lag) = self.head_lag {
            let stale = rules::StaleHead { lag, freeze: false };
            rules.push(Rule::new(
                When::method("eth_getBlockByNumber"),
                Action::StaleHead(stale),
            ));
        }
        if let Some(cap) = self.get_logs_cap {
            rules.push(Rule::new(
                When::method("eth_getLogs"),
                Action::GetLogsCap(cap),
            ));
        }
        RuleSet {
            seed: self.seed,
            rules,
        }
    }
}

impl From<RuleSet> for ProxyRules {
    fn from(set: RuleSet) -> Self {
        Self {
            rules: set.rules,
            seed: set.seed,
            ..Self::default()
        }
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values stay consistent even if a holder panicked (plain pushes and swaps).
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running JSON-RPC proxy (loopback). Dropping it stops the server.
#[derive(Debug)]
pub struct RpcProxy {
    server: Server,
}

impl RpcProxy {
    /// Starts a proxy on `127.0.0.1:<ephemeral>` in front of `upstream` (an HTTP JSON-RPC
    /// endpoint).
    pub async fn start(upstream: &str, rules: ProxyRules) -> Result<Self> {
        Self::start_with(upstream, rules, ProxyConfig::default()).await
    }

    /// Starts a proxy with a listen address, an edge name and a JSONL log; refuses rules with
    /// HTTP-only actions.
    pub async fn start_with(
        upstream: &str,
        rules: ProxyRules,
        config: ProxyConfig,
    ) -> Result<Self> {
        let set = rules.compile();
        set.check_rpc()?;
        let routes = Router::new().route("/", post(handler::handle));
        let server = Server::start(upstream, &set, &config, routes, |_| Ok(())).await?;
        Ok(Self { server })
    }

    /// The proxy's endpoint, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The proxy's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The address of its remote control ([`ProxyConfig::control`]), if it has one.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.server.control_addr()
    }

    /// Replaces the rules (takes effect for the next request; scope counters restart). HTTP-only
    /// actions (`tamper_body`, `set_header`) pass here; [`start_with`](Self::start_with)
    /// refuses them.
    pub fn set_rules(&self, rules: ProxyRules) {
        self.server.set_rules(&rules.compile());
    }

    /// A copy of every request recorded so far.
    pub fn entries(&self) -> Vec<ProxyEntry> {
        self.server.entries()
    }

    /// The recorded `eth_getLogs` requests.
    pub fn get_logs_entries(&self) -> Vec<ProxyEntry> {
        self.entries()
            .into_iter()
            .filter(|e| e.method == "eth_getLogs")
            .collect()
    }

    /// The ranges of the `eth_getLogs` requests answered with a result (as the node gave it or
    /// rewritten by a rule), in recording order: what the `rpc_usage` checks count as served.
    pub fn served_get_logs_ranges(&self) -> Vec<BlockRange> {
        self.get_logs_entries()
            .into_iter()
            .filter(|e| e.outcome.is_result())
            .filter_map(|e| e.range)
            .collect()
    }

    /// Forgets the recorded requests (the JSONL file keeps them); `seq` restarts at 0.
    pub fn clear_entries(&self) {
        self.server.clear_entries();
    }

    /// Stops the proxy: hung requests are released (their connections close) and open
    /// connections get up to 5 s to finish.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_compile_after_explicit_rules_in_the_old_precedence() {
        let rules = ProxyRules {
            get_logs_cap: Some(GetLogsCap::max_range(5)),
            http_status: Some((429, None)),
            rpc_error_for: Some(("eth_call".into(), -1, "no".into())),
            chain_id: Some(1),
            head_lag: Some(2),
            invalid_json: true,
            rules: vec![Rule::new(When::method("eth_blockNumber"), Action::Hang)],
            seed: 9,
        };
        let set = rules.compile();
        assert_eq!(set.seed, 9);
        let names: Vec<&str> = set.rules.iter().map(|r| r.action.name()).collect();
        assert_eq!(
            names,
            [
                "hang",
                "http",
                "invalid_json",
                "error",
                "chain_id",
                "stale_head",
                "get_logs_cap"
            ]
        );
        assert_eq!(set.rules[3].when, When::method("eth_call"));
        let back = ProxyRules::from(RuleSet::from_json(r#"{"seed": 3, "rules": []}"#).unwrap());
        assert_eq!((back.seed, back.rules.len()), (3, 0));
        assert!(ProxyRules::default().compile().rules.is_empty());
    }
}
