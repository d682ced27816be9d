//! The scenario's fault proxies: a JSON-RPC proxy on the watchdog's L1 edge (`wd→l1`) and an
//! HTTP proxy on its sequencer edge (`wd→seq`), both the harness's, and the deployer's
//! JSON-RPC proxy on the sequencer's L1 edge (`seq→l1`), each logging every request to
//! `logs/proxy-<edge>.jsonl` in the scenario's directory.

use std::path::Path;

use anyhow::{Context, Result};
use fault_proxy::{HttpProxy, ProxyConfig, ProxyEntry, ProxyRules, RpcProxy, RuleSet};
use serde_json::Value;

use super::Harness;
use crate::deploy::{Deployment, FaultProxy, ProxyNetwork};
use crate::report::PROXY_TAIL_ENTRIES;
use crate::topology::Edge;

/// The edge name of the proxy on the watchdog's L1 edge (records, log file).
pub(crate) const WD_L1: &str = "wd-l1";
/// The edge name of the proxy on the watchdog's sequencer edge (records, log file).
pub(crate) const WD_SEQ: &str = "wd-seq";
/// The edge name of the proxy on the sequencer's L1 edge (records, log file).
pub(crate) const SEQ_L1: &str = "seq-l1";

/// The last octet of the `compose` proxy containers on `wd→l1` and `wd→seq`.
const WD_L1_HOST: u8 = 30;
const WD_SEQ_HOST: u8 = 31;

/// A loopback proxy on `edge` logging to `<dir>/logs/proxy-<edge>.jsonl`.
fn config(dir: &Path, edge: &str) -> ProxyConfig {
    ProxyConfig {
        listen: None,
        edge: edge.to_owned(),
        log_path: Some(dir.join("logs").join(format!("proxy-{edge}.jsonl"))),
        private_listen: false,
        control: None,
    }
}

/// Starts the harness's proxy on `edge` (`wd→l1`: JSON-RPC, `wd→seq`: HTTP) with `rules`, in
/// front of the edge's current target: in this process, or on `compose` a container on the
/// target's network, its records written to the same log file at shutdown.
pub(super) async fn start(net: &Deployment, edge: Edge, rules: RuleSet) -> Result<FaultProxy> {
    let http = edge == Edge::WdToSeq;
    let (name, network, host) = if http {
        (WD_SEQ, ProxyNetwork::App, WD_SEQ_HOST)
    } else {
        (WD_L1, ProxyNetwork::L1, WD_L1_HOST)
    };
    if http {
        rules.check_http()?;
    } else {
        rules.check_rpc()?;
    }
    let upstream = net.url(edge);
    let config = config(net.dir(), name);
    if let Some(compose) = net.compose() {
        let proxy = compose.start_proxy(name, network, host, upstream).await?;
        proxy.set_rules(&rules).await?;
        return Ok(FaultProxy::Remote {
            proxy,
            log: config.log_path,
        });
    }
    Ok(if http {
        FaultProxy::Http(HttpProxy::start_with(upstream, rules, config).await?)
    } else {
        FaultProxy::Rpc(RpcProxy::start_with(upstream, rules.into(), config).await?)
    })
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
    pub fn wd_l1_proxy(&self) -> Result<&FaultProxy> {
        self.proxy
            .as_ref()
            .context("no proxy on the watchdog's L1 edge (set StackOptions::wd_l1_rules)")
    }

    /// Replaces the rules of the proxy on the watchdog's L1 edge (fails without one).
    pub async fn set_wd_l1_rules(&self, rules: ProxyRules) -> Result<()> {
        self.wd_l1_proxy()?.set_rules(rules.compile()).await
    }

    /// The proxy on the watchdog's sequencer edge (fails without one).
    pub fn wd_seq_proxy(&self) -> Result<&FaultProxy> {
        self.seq_proxy
            .as_ref()
            .context("no proxy on the watchdog's sequencer edge (set StackOptions::wd_seq_rules)")
    }

    /// Replaces the rules of the proxy on the watchdog's sequencer edge (fails without one,
    /// or with an action the HTTP proxy cannot apply).
    pub async fn set_wd_seq_rules(&self, rules: RuleSet) -> Result<()> {
        self.wd_seq_proxy()?.set_rules(rules).await
    }

    /// The proxy on the sequencer's L1 edge (fails without one).
    pub fn seq_l1_proxy(&self) -> Result<&FaultProxy> {
        self.deployment()
            .rpc_proxy(Edge::SeqToL1)
            .context("no proxy on the sequencer's L1 edge (set StackOptions::seq_l1_rules)")
    }

    /// The records of the proxy on the sequencer's L1 edge (fails without one).
    pub async fn seq_l1_entries(&self) -> Result<Vec<ProxyEntry>> {
        self.seq_l1_proxy()?.entries().await
    }

    /// Replaces the rules of the proxy on the sequencer's L1 edge (fails without one, or with
    /// an action the JSON-RPC proxy cannot apply); scope counters restart.
    pub async fn set_seq_l1_rules(&self, rules: RuleSet) -> Result<()> {
        rules.check_rpc()?;
        self.seq_l1_proxy()?.set_rules(rules).await
    }

    /// The last entries of each proxy, by edge name, as JSON objects (for the report; a proxy
    /// whose records cannot be read is left out).
    pub async fn proxy_tails(&self) -> Vec<(String, Vec<Value>)> {
        let mut tails = Vec::new();
        let edges = [
            (WD_L1, self.proxy.as_ref()),
            (WD_SEQ, self.seq_proxy.as_ref()),
            (SEQ_L1, self.deployment().rpc_proxy(Edge::SeqToL1)),
        ];
        for (edge, proxy) in edges {
            if let Some(proxy) = proxy
                && let Ok(entries) = proxy.entries().await
            {
                tails.push((edge.to_owned(), tail(&entries)));
            }
        }
        tails
    }
}
