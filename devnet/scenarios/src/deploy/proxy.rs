//! [`FaultProxy`]: a fault proxy on an edge, whichever way the backend runs it, behind one
//! interface: in this process ([`RpcProxy`], [`HttpProxy`]) or in a container of the compose
//! deployment, driven over its remote control ([`RemoteProxy`]).

use std::io::Write as _;
use std::path::Path;

use anyhow::Result;
use fault_proxy::{HttpProxy, ProxyEntry, RemoteProxy, RpcProxy, RuleSet};

/// A fault proxy on one edge.
#[derive(Debug)]
pub enum FaultProxy {
    /// A JSON-RPC proxy in this process.
    Rpc(RpcProxy),
    /// An HTTP proxy in this process.
    Http(HttpProxy),
    /// A proxy in a container, driven over its control port; its records are written to
    /// `log` (when given) at [`shutdown`](Self::shutdown), as an in-process proxy appends them.
    Remote {
        /// The control port's client.
        proxy: RemoteProxy,
        /// The JSONL file its records end in.
        log: Option<std::path::PathBuf>,
    },
}

impl FaultProxy {
    /// The URL the edge's client uses.
    pub fn url(&self) -> String {
        match self {
            Self::Rpc(p) => p.url(),
            Self::Http(p) => p.url(),
            Self::Remote { proxy, .. } => proxy.url().to_owned(),
        }
    }

    /// Replaces the rules (next request on; scope counters restart). An HTTP proxy refuses
    /// JSON-RPC-only actions.
    pub async fn set_rules(&self, rules: RuleSet) -> Result<()> {
        match self {
            Self::Rpc(p) => p.set_rules(rules.into()),
            Self::Http(p) => p.set_rules(rules)?,
            Self::Remote { proxy, .. } => proxy.set_rules(&rules).await?,
        }
        Ok(())
    }

    /// Every request recorded so far (since the last [`clear_entries`](Self::clear_entries)).
    pub async fn entries(&self) -> Result<Vec<ProxyEntry>> {
        Ok(match self {
            Self::Rpc(p) => p.entries(),
            Self::Http(p) => p.entries(),
            Self::Remote { proxy, .. } => proxy.entries().await?,
        })
    }

    /// Forgets the recorded requests.
    pub async fn clear_entries(&self) -> Result<()> {
        match self {
            Self::Rpc(p) => p.clear_entries(),
            Self::Http(p) => p.clear_entries(),
            Self::Remote { proxy, .. } => proxy.clear_entries().await?,
        }
        Ok(())
    }

    /// Stops an in-process proxy; a remote one's records go to its log file (best effort; its
    /// container goes with the deployment).
    pub async fn shutdown(self) {
        match self {
            Self::Rpc(p) => p.shutdown().await,
            Self::Http(p) => p.shutdown().await,
            Self::Remote { proxy, log } => {
                if let (Some(path), Ok(entries)) = (log, proxy.entries().await) {
                    write_log(&path, &entries);
                }
            }
        }
    }
}

/// Appends `entries` to the JSONL file at `path` (best effort: the evidence, not the verdict).
fn write_log(path: &Path, entries: &[ProxyEntry]) {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path);
    if let Ok(mut file) = file {
        for entry in entries {
            let _ = writeln!(file, "{}", entry.to_json());
        }
    }
}
