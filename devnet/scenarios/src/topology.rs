//! The topology layer (spec `devnet.md` §2): what a scenario runs — the L1, the sequencer, the
//! watchdog and the edges between them, each optionally behind a proxy — independent of the
//! backend that provisions it ([`deploy`](mod@crate::deploy)). Serialisable, so a report can carry
//! the exact topology a verdict came from.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use fault_proxy::RuleSet;

/// A connection between two components, each a place where a proxy may sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Edge {
    /// `seq→l1`: the sequencer's L1 reader and submitter.
    SeqToL1,
    /// `wd→l1`: the watchdog's L1 provider.
    WdToL1,
    /// `wd→l1c`: the watchdog's confirmation provider.
    WdToL1Confirm,
    /// `wd→seq`: the watchdog's sequencer client.
    WdToSeq,
    /// `client→seq`: workloads talking to the sequencer.
    ClientToSeq,
    /// `client→l1`: workloads talking to the L1.
    ClientToL1,
}

impl Edge {
    /// Every edge, in a fixed order.
    pub const ALL: [Edge; 6] = [
        Edge::SeqToL1,
        Edge::WdToL1,
        Edge::WdToL1Confirm,
        Edge::WdToSeq,
        Edge::ClientToSeq,
        Edge::ClientToL1,
    ];

    /// The spec's notation (`seq→l1`, `wd→l1c`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SeqToL1 => "seq→l1",
            Self::WdToL1 => "wd→l1",
            Self::WdToL1Confirm => "wd→l1c",
            Self::WdToSeq => "wd→seq",
            Self::ClientToSeq => "client→seq",
            Self::ClientToL1 => "client→l1",
        }
    }

    /// Whether the edge ends at the L1 (a JSON-RPC proxy fits) rather than the sequencer (an
    /// HTTP proxy fits).
    pub const fn is_l1(self) -> bool {
        matches!(
            self,
            Self::SeqToL1 | Self::WdToL1 | Self::WdToL1Confirm | Self::ClientToL1
        )
    }
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the L1 mines once the contracts exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum L1Mining {
    /// A block per transaction (what anvil deposits need, and the scenario default).
    #[default]
    Auto,
    /// Only when asked.
    Manual,
}

/// The L1 of a topology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Spec {
    /// Mining mode.
    pub mining: L1Mining,
    /// Empty blocks mined once the L1 is ready, so `safe` passes the deployment (default 2).
    pub warmup_blocks: u64,
    /// The chain id (default the devnet's 31337; `local` only: the synthetic L1 keeps 31337).
    pub chain_id: u64,
}

impl Default for L1Spec {
    fn default() -> Self {
        Self {
            mining: L1Mining::Auto,
            warmup_blocks: 2,
            chain_id: devnet_pins::CHAIN_ID,
        }
    }
}

impl L1Spec {
    /// Sets the mining mode.
    pub fn mining(mut self, mining: L1Mining) -> Self {
        self.mining = mining;
        self
    }

    /// Sets the chain id.
    pub fn chain_id(mut self, chain_id: u64) -> Self {
        self.chain_id = chain_id;
        self
    }

    /// Sets the warm-up blocks.
    pub fn warmup_blocks(mut self, blocks: u64) -> Self {
        self.warmup_blocks = blocks;
        self
    }
}

/// The devnet sequencer of a topology (tuned for fast scenarios by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequencerSpec {
    /// Fault specs armed at start (`tamper-state`, `drop-deposit:1`, …).
    pub faults: Vec<String>,
    /// Seal a batch at this many ops (default: the sequencer's).
    pub batch_max_ops: Option<usize>,
    /// Seal a batch this long after its first content, in ms.
    pub batch_interval_ms: u64,
    /// L1 poll period, in ms.
    pub poll_ms: u64,
    /// Serve the legacy finalized-route shape.
    pub legacy_shape: bool,
    /// The wallet configuration by name (`devnet`, the default, or `sepolia`).
    pub wallet_config: String,
}

impl Default for SequencerSpec {
    fn default() -> Self {
        Self {
            faults: Vec::new(),
            batch_max_ops: None,
            batch_interval_ms: 100,
            poll_ms: 50,
            legacy_shape: false,
            wallet_config: "devnet".to_owned(),
        }
    }
}

/// The watchdog of a topology (the binary is found by the driver).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchdogSpec {
    /// Export `CARTESI_WATCHDOG_CONFIRM_HTTP_ENDPOINT` (the `wd→l1c` edge).
    pub confirm: bool,
    /// `CARTESI_WATCHDOG_CM_SNAPSHOT_SAFE_BLOCK` (default 0: `init` at genesis).
    pub snapshot_block: u64,
}

/// The whole topology. Each edge may carry a JSON-RPC fault proxy with its [`RuleSet`]; the
/// `local` and `in-process` deployers wire `seq→l1`, and every deployer refuses rules on an
/// edge it cannot wire ([`DeployError::ProxyNotWired`](crate::deploy::DeployError::ProxyNotWired)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Topology {
    /// The seed every derived value comes from.
    pub seed: u64,
    /// The L1.
    pub l1: L1Spec,
    /// The sequencer.
    pub sequencer: SequencerSpec,
    /// The watchdog.
    pub watchdog: WatchdogSpec,
    /// Proxy rules per edge.
    pub proxies: BTreeMap<Edge, RuleSet>,
}

impl Topology {
    /// A topology with every default (seed 0, automine, no proxies).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the L1.
    pub fn l1(mut self, l1: L1Spec) -> Self {
        self.l1 = l1;
        self
    }

    /// Sets the sequencer.
    pub fn sequencer(mut self, sequencer: SequencerSpec) -> Self {
        self.sequencer = sequencer;
        self
    }

    /// Sets the watchdog.
    pub fn watchdog(mut self, watchdog: WatchdogSpec) -> Self {
        self.watchdog = watchdog;
        self
    }

    /// Puts a proxy with `rules` on `edge`.
    pub fn proxy(mut self, edge: Edge, rules: RuleSet) -> Self {
        self.proxies.insert(edge, rules);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topologies_round_trip_through_json() {
        let topology = Topology::new()
            .seed(0x5eed)
            .l1(L1Spec::default().mining(L1Mining::Manual))
            .proxy(
                Edge::SeqToL1,
                RuleSet::from_json(
                    r#"[{"when": {"method": "eth_getLogs"},
                         "action": {"get_logs_cap": {"max_results": 1000}}}]"#,
                )
                .unwrap(),
            );
        let json = serde_json::to_value(&topology).unwrap();
        assert_eq!(json["l1"]["mining"], "manual");
        assert!(json["proxies"]["seq-to-l1"]["rules"].is_array());
        let back: Topology = serde_json::from_value(json).unwrap();
        assert_eq!(back, topology);
        assert_eq!(Edge::WdToL1Confirm.to_string(), "wd→l1c");
        assert!(Edge::ClientToL1.is_l1() && !Edge::WdToSeq.is_l1());
    }
}
