//! The scenario's fault proxies: a JSON-RPC proxy on the watchdog's L1 edge (`wd→l1`) and an
//! HTTP proxy on its sequencer edge (`wd→seq`), both the harness's, and the deployer's
//! JSON-RPC proxy on the sequencer's L1 edge (`seq→l1`), each logging every request to
//! `logs/proxy-<edge>.jsonl` in the scenario's directory.

use std::path::Path;

use anyhow::{Context, Result};
use fault_proxy::{HttpProxy, ProxyConfig, ProxyEntry, ProxyRules, RpcProxy, RuleSet};
use serde_json::Value;

use super::Harness;
use crate::report::PROXY_TAIL_ENTRIES;
use crate::topology::Edge;

/// The edge name of the proxy on the watchdog's L1 edge (records, log file).
pub(crate) const WD_L1: &str = "wd-l1";
/// The edge name of the proxy on the watchdog's sequencer edge (records, log file).
pub(crate) const WD_SEQ: &str = "wd-seq";
/// The edge name of the proxy on the sequencer's L1 edge (records, log file).
pub(crate) const SEQ_L1: &str = "seq-l1";

/// A loopback proxy on `edge` logging to `<dir>/logs/proxy-<edge>.jsonl`.
pub(super) fn config(dir: &Path, edge: &str) -> ProxyConfig {
    ProxyConfig {
        listen: None,
        edge: edge.to_owned(),
        log_path: Some(dir.join("logs").join(format!("proxy-{edge}.jsonl"))),
        private_listen: false,
        control: None,
    }
}

/// The last [`PROXY_TAIL_ENTRIES`] of `entries`, as their JSONL objects.
fn tail(entries: &[ProxyEntry]) -> Vec<Value> {
    entries[entries.len().saturating_sub(PROXY_TAIL_ENTRIES)..]
        .iter()
        .map(ProxyEntry::to_json)
        .collect()
}

impl Harness {
    /// The proxy on the watchdog's L1 edge (fails without one).
    pub fn wd_l1_proxy(&self) -> Result<&RpcProxy> {
        self.proxy
            .as_ref()
            .context("no proxy on the watchdog's L1 edge (set StackOptions::wd_l1_rules)")
    }

    /// Replaces the rules of the proxy on the watchdog's L1 edge (fails without one).
    pub fn set_wd_l1_rules(&self, rules: ProxyRules) -> Result<()> {
        self.wd_l1_proxy()?.set_rules(rules);
        Ok(())
    }

    /// The proxy on the watchdog's sequencer edge (fails without one).
    pub fn wd_seq_proxy(&self) -> Result<&HttpProxy> {
        self.seq_proxy
            .as_ref()
            .context("no proxy on the watchdog's sequencer edge (set StackOptions::wd_seq_rules)")
    }

    /// Replaces the rules of the proxy on the watchdog's sequencer edge (fails without one,
    /// or with an action the HTTP proxy cannot apply).
    pub fn set_wd_seq_rules(&self, rules: RuleSet) -> Result<()> {
        self.wd_seq_proxy()?.set_rules(rules)
    }

    /// The proxy on the sequencer's L1 edge (fails without one).
    pub fn seq_l1_proxy(&self) -> Result<&RpcProxy> {
        self.deployment()
            .rpc_proxy(Edge::SeqToL1)
            .context("no proxy on the sequencer's L1 edge (set StackOptions::seq_l1_rules)")
    }

    /// The records of the proxy on the sequencer's L1 edge (fails without one).
    pub fn seq_l1_entries(&self) -> Result<Vec<ProxyEntry>> {
        Ok(self.seq_l1_proxy()?.entries())
    }

    /// Replaces the rules of the proxy on the sequencer's L1 edge (fails without one, or with
    /// an action the JSON-RPC proxy cannot apply); scope counters restart.
    pub fn set_seq_l1_rules(&self, rules: RuleSet) -> Result<()> {
        rules.check_rpc()?;
        self.seq_l1_proxy()?.set_rules(rules.into());
        Ok(())
    }

    /// The last entries of each proxy, by edge name, as JSON objects (for the report).
    pub fn proxy_tails(&self) -> Vec<(String, Vec<Value>)> {
        let mut tails = Vec::new();
        if let Some(proxy) = &self.proxy {
            tails.push((WD_L1.to_owned(), tail(&proxy.entries())));
        }
        if let Some(proxy) = &self.seq_proxy {
            tails.push((WD_SEQ.to_owned(), tail(&proxy.entries())));
        }
        if let Some(proxy) = self.deployment().rpc_proxy(Edge::SeqToL1) {
            tails.push((SEQ_L1.to_owned(), tail(&proxy.entries())));
        }
        tails
    }
}
