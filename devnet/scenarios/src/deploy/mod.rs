//! The deployer layer (spec `devnet.md` §2): provisions a [`Topology`] on one backend, waits
//! for readiness and hands back a [`Deployment`] with everything a scenario drives.
//!
//! | Deployer | L1 | Sequencer | [`Caps`] |
//! |---|---|---|---|
//! | [`LocalDeployer`] | anvil + the Rollups contracts ([`Devnet`]), any chain id | in-process task | all but `Image` |
//! | [`InProcessDeployer`] | [`SyntheticL1`] | in-process task | all but `Evm`, `Image` |
//! | [`AttachDeployer`] | given URL, any chain | given URL | `RpcFaults`, + `Mining`/`Reorg` if the L1 answers `anvil_nodeInfo`, + `SeqFaults` with a control URL |
//! | [`ComposeDeployer`] | anvil in a container + the contracts | a container | `Mining`, `Reorg`, `NodeControl`, `RpcFaults`, `SeqFaults`, `L1Inputs`, `Partition` |
//!
//! `Image` (the watchdog's container image on an engine that answers) is the environment's,
//! added per scenario on every backend (on `compose` every scenario needs it, with the anvil
//! and sequencer images). `Partition` ([`Deployment::partition`], [`Deployment::rejoin`]) cuts
//! a container off the L1 network and joins it again. Each deployment has an [`Identity`]: chain id,
//! application, InputBox and wallet configuration, pinned on `local` and `in-process`, found out
//! on `attach`; the watchdog's exports are made from it.
//!
//! Backends are chosen explicitly, never detected. Through the handle a scenario reaches the
//! L1 controls ([`L1Node`]), the sequencer ([`SequencerControl`]: stop, start and restart on
//! the same ports, faults), the URL of every [`Edge`] (re-routable through a proxy with
//! [`Deployment::route`]), the watchdog's exports and driver, and teardown.
//!
//! Proxies: `local` and `in-process` put a JSON-RPC fault proxy ([`RpcProxy`]) on `seq→l1`
//! when the topology gives that edge rules (started between the L1 and the sequencer, logging
//! to `logs/proxy-seq-l1.jsonl`, reached through [`Deployment::rpc_proxy`]); `compose` puts a
//! proxy container there, driven over its remote control (a [`FaultProxy`] either way, whose
//! records `compose` writes to the same file at shutdown); rules on any other
//! edge, and any rules on `attach`, are refused with [`DeployError::ProxyNotWired`] before
//! anything starts (the scenario harness puts the watchdog's proxies in front itself).

mod anvil_history;
mod caps;
mod compose;
mod deployers;
mod identity;
mod l1_error;
mod node;
mod proxy;
mod sequencer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use devnet_sequencer::FaultSpecError;
use devnet_stack::Devnet;
use fault_proxy::{ProxyConfig, RpcProxy};
use futures_util::future::BoxFuture;
pub use proxy::FaultProxy;
use synthetic_l1::{SyntheticError, SyntheticL1};
use tempfile::TempDir;

pub(crate) use anvil_history::anvil_rewrite;
pub use caps::{Backend, Caps, UnknownBackend};
pub use compose::{
    ANVIL_IMAGE_ENV, ComposeDeployer, ComposeL1, ComposeNet, DEFAULT_ANVIL_IMAGE,
    DEFAULT_FAULT_PROXY_IMAGE, DEFAULT_SEQUENCER_IMAGE, FAULT_PROXY_IMAGE_ENV, LABEL, ProxyNetwork,
    SEQUENCER_IMAGE_ENV, anvil_image, compose_unavailable, fault_proxy_image, sequencer_image,
};
pub use deployers::{AttachDeployer, InProcessDeployer, LocalDeployer};
pub use identity::{Identity, WALLET_CONFIGS, config_of_snapshot, exports};
pub use l1_error::{L1Error, SnapshotId};
pub use node::{AttachedL1, L1Node};
pub use sequencer::SequencerControl;

use crate::driver::WatchdogDriver;
use crate::topology::{Edge, Topology};
pub use synthetic_l1::{Landed, Reorged, Replacement, ReplacementInput};

/// A failed deployment or deployment control.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeployError {
    /// An L1 control failed.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The synthetic L1 failed to start.
    #[error(transparent)]
    Synthetic(#[from] SyntheticError),
    /// A component (anvil and the contracts, the sequencer) failed.
    #[error("{what}: {source:#}")]
    Component {
        /// What was being done.
        what: &'static str,
        /// The component's error.
        #[source]
        source: anyhow::Error,
    },
    /// The backend cannot do this.
    #[error("{what} is not supported on the {backend} backend")]
    Unsupported {
        /// The control.
        what: &'static str,
        /// The backend.
        backend: Backend,
    },
    /// The topology puts a proxy on an edge this deployer does not wire (`local` and
    /// `in-process` wire `seq→l1` only; `attach` none).
    #[error(
        "proxy rules on {0} are not wired by this deployer; put the proxy in front yourself and call Deployment::route"
    )]
    ProxyNotWired(Edge),
    /// A sequencer fault spec does not parse.
    #[error(transparent)]
    Fault(#[from] FaultSpecError),
    /// The sequencer's control API could not be reached.
    #[error("sequencer control {what}: {source}")]
    Control {
        /// The request.
        what: &'static str,
        /// The HTTP error.
        #[source]
        source: reqwest::Error,
    },
    /// The sequencer's control API refused a request.
    #[error("sequencer control {what} answered {status}")]
    ControlStatus {
        /// The request.
        what: &'static str,
        /// The HTTP status.
        status: u16,
    },
    /// An attached deployment could not be identified (chain, application, wallet
    /// configuration).
    #[error("identifying the attached deployment: {0}")]
    Identity(String),
    /// A temporary directory could not be made.
    #[error("state directory: {0}")]
    Io(#[from] std::io::Error),
}

/// Provisions topologies on one backend. Object-safe: `Box<dyn Deployer>` picks the backend at
/// run time.
pub trait Deployer: Send + Sync {
    /// The backend.
    fn backend(&self) -> Backend;

    /// Provisions `topology`, waits until every component is ready and returns the handle.
    fn deploy<'a>(
        &'a self,
        topology: &'a Topology,
    ) -> BoxFuture<'a, Result<Deployment, DeployError>>;
}

/// The deployment's temporary directory, with `logs/` made.
fn deployment_dir(backend: Backend) -> Result<TempDir, DeployError> {
    let tmp = tempfile::Builder::new()
        .prefix(&format!("devnet-{backend}-"))
        .tempdir()?;
    std::fs::create_dir_all(tmp.path().join("logs"))?;
    Ok(tmp)
}

/// Refuses rules on any edge but those in `wired`, before anything starts.
fn refuse_proxies(topology: &Topology, wired: &[Edge]) -> Result<(), DeployError> {
    match topology.proxies.keys().find(|edge| !wired.contains(edge)) {
        Some(edge) => Err(DeployError::ProxyNotWired(*edge)),
        None => Ok(()),
    }
}

/// The proxy on `edge` when the topology gives it rules: a loopback [`RpcProxy`] in front of
/// `upstream`, logging to `<dir>/logs/proxy-<name>.jsonl` (`seq→l1` is named `seq-l1`).
async fn edge_proxy(
    topology: &Topology,
    edge: Edge,
    upstream: &str,
    dir: &Path,
) -> Result<Option<FaultProxy>, DeployError> {
    let Some(rules) = topology.proxies.get(&edge) else {
        return Ok(None);
    };
    let name = edge.as_str().replace('→', "-");
    let config = ProxyConfig {
        listen: None,
        log_path: Some(dir.join("logs").join(format!("proxy-{name}.jsonl"))),
        edge: name,
        private_listen: false,
        control: None,
    };
    let proxy = RpcProxy::start_with(upstream, rules.clone().into(), config)
        .await
        .map_err(|source| DeployError::Component {
            what: "starting the proxy",
            source,
        })?;
    Ok(Some(FaultProxy::Rpc(proxy)))
}

/// The L1 of a deployment.
#[derive(Debug)]
enum L1Handle {
    Anvil(Box<Devnet>),
    Synthetic(SyntheticL1),
    Attached(AttachedL1),
    Compose(Box<ComposeL1>),
}

impl L1Handle {
    /// The handle's node, whatever the backend.
    fn node(&self) -> &dyn L1Node {
        match self {
            Self::Anvil(devnet) => devnet.as_ref(),
            Self::Synthetic(synthetic) => synthetic,
            Self::Attached(attached) => attached,
            Self::Compose(compose) => compose.as_ref(),
        }
    }
}

/// A provisioned topology. Dropping it stops everything it started (the sequencer task
/// aborts, anvil is killed); [`shutdown`](Self::shutdown) does it gracefully.
#[derive(Debug)]
pub struct Deployment {
    backend: Backend,
    caps: Caps,
    topology: Topology,
    identity: Identity,
    // Field order is drop order: the sequencer goes before its proxies and its L1.
    sequencer: SequencerControl,
    proxies: BTreeMap<Edge, FaultProxy>,
    l1: L1Handle,
    routes: BTreeMap<Edge, String>,
    state_dir: PathBuf,
    /// The networks and containers of a `compose` deployment (removed when dropped, after the
    /// sequencer and the L1 handles above).
    compose: Option<ComposeNet>,
    tmp: Option<TempDir>,
}

/// Who a [`Deployment::partition`] cuts off the L1 network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// The sequencer (it keeps serving its APIs on the application network).
    Sequencer,
    /// A watchdog command's container, by name.
    Watchdog(String),
}

impl Deployment {
    #[allow(clippy::too_many_arguments)] // one constructor the three deployers share
    fn new(
        backend: Backend,
        caps: Caps,
        topology: &Topology,
        identity: Identity,
        l1: L1Handle,
        sequencer: SequencerControl,
        proxies: BTreeMap<Edge, FaultProxy>,
        tmp: TempDir,
    ) -> Self {
        let l1_url = l1.node().rpc_url();
        let routes = Edge::ALL
            .into_iter()
            .map(|edge| {
                let url = if let Some(proxy) = proxies.get(&edge) {
                    proxy.url()
                } else if edge.is_l1() {
                    l1_url.clone()
                } else {
                    sequencer.url().to_owned()
                };
                (edge, url)
            })
            .collect();
        Self {
            backend,
            caps,
            topology: topology.clone(),
            identity,
            sequencer,
            proxies,
            l1,
            routes,
            state_dir: tmp.path().join("watchdog"),
            compose: None,
            tmp: Some(tmp),
        }
    }

    /// The backend it runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// What it can do.
    pub fn caps(&self) -> Caps {
        self.caps
    }

    /// The topology it was deployed from.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The L1 controls.
    pub fn l1(&self) -> &dyn L1Node {
        self.l1.node()
    }

    /// The anvil devnet (`local` only), for EVM-level helpers (balances, `mint`, …).
    pub fn devnet(&self) -> Option<&Devnet> {
        match &self.l1 {
            L1Handle::Anvil(devnet) => Some(devnet.as_ref()),
            _ => None,
        }
    }

    /// The synthetic L1 (`in-process` only), for its extra controls and its input list.
    pub fn synthetic(&self) -> Option<&SyntheticL1> {
        match &self.l1 {
            L1Handle::Synthetic(synthetic) => Some(synthetic),
            _ => None,
        }
    }

    /// The sequencer.
    pub fn sequencer(&self) -> &SequencerControl {
        &self.sequencer
    }

    /// The sequencer, to stop, start or restart it.
    pub fn sequencer_mut(&mut self) -> &mut SequencerControl {
        &mut self.sequencer
    }

    /// The proxy the deployer put on `edge` (only `seq→l1`, when the topology gives it rules),
    /// to read its records or change its rules.
    pub fn rpc_proxy(&self, edge: Edge) -> Option<&FaultProxy> {
        self.proxies.get(&edge)
    }

    /// The URL a client of `edge` uses (the proxy's, once [`route`](Self::route)d).
    pub fn url(&self, edge: Edge) -> &str {
        self.routes.get(&edge).map_or("", String::as_str)
    }

    /// Sends `edge` through `url` (a proxy in front of the edge's target). Set it before
    /// building the watchdog driver; the sequencer's own edge (`seq→l1`) is read at start,
    /// so re-routing it takes effect at the next sequencer start.
    pub fn route(&mut self, edge: Edge, url: impl Into<String>) {
        self.routes.insert(edge, url.into());
    }

    /// Which chain, application and wallet configuration it is.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The application.
    pub fn app(&self) -> Address {
        self.identity.app
    }

    /// The InputBox.
    pub fn input_box(&self) -> Address {
        self.identity.input_box
    }

    /// The L1 chain id.
    pub fn chain_id(&self) -> u64 {
        self.identity.chain_id
    }

    /// The deployment's directory (`logs/`, the watchdog's `watchdog/`); temporary unless
    /// [kept](Self::keep_dir).
    pub fn dir(&self) -> &Path {
        self.state_dir.parent().unwrap_or(&self.state_dir)
    }

    /// The watchdog's state directory (inside the deployment's temporary directory; not
    /// created until `init`).
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The `CARTESI_WATCHDOG_*` exports over the current edge URLs (spec §5.6), with the
    /// confirmation endpoint when the topology enables it.
    pub fn exports(&self) -> BTreeMap<String, String> {
        let mut env = exports(
            &self.state_dir,
            self.url(Edge::WdToL1),
            self.url(Edge::WdToSeq),
            &self.identity,
            self.topology.watchdog.snapshot_block,
        );
        if self.topology.watchdog.confirm {
            env.insert(
                "CARTESI_WATCHDOG_CONFIRM_HTTP_ENDPOINT".to_owned(),
                self.url(Edge::WdToL1Confirm).to_owned(),
            );
        }
        env
    }

    /// A watchdog driver for `binary` with [`exports`](Self::exports).
    pub fn watchdog(&self, binary: impl Into<PathBuf>) -> WatchdogDriver {
        WatchdogDriver::new(binary, self.exports())
    }

    /// The networks of a `compose` deployment.
    pub fn compose(&self) -> Option<&ComposeNet> {
        self.compose.as_ref()
    }

    fn partitionable(&self, what: &'static str) -> Result<&ComposeNet, DeployError> {
        self.compose.as_ref().ok_or(DeployError::Unsupported {
            what,
            backend: self.backend,
        })
    }

    /// Cuts `member` off the L1 network (`Partition`): its connections to anvil fail, while the
    /// sequencer still serves the watchdog and the host on the application network.
    pub async fn partition(&self, member: &Member) -> Result<(), DeployError> {
        let net = self.partitionable("a partition")?;
        match member {
            Member::Sequencer => {
                let name = self
                    .sequencer
                    .container_name()
                    .ok_or(DeployError::Unsupported {
                        what: "a partition of a sequencer it does not run",
                        backend: self.backend,
                    })?;
                net.disconnect_l1(name).await
            }
            Member::Watchdog(name) => net.disconnect_l1(name).await,
        }
    }

    /// Joins `member` to the L1 network again (the sequencer at its old address).
    pub async fn rejoin(&self, member: &Member) -> Result<(), DeployError> {
        let net = self.partitionable("a partition")?;
        match member {
            Member::Sequencer => {
                let (name, ip) = self
                    .sequencer
                    .container_name()
                    .zip(self.sequencer.container_l1_ip())
                    .ok_or(DeployError::Unsupported {
                        what: "a partition of a sequencer it does not run",
                        backend: self.backend,
                    })?;
                net.connect_l1(name, Some(ip)).await
            }
            Member::Watchdog(name) => net.connect_l1(name, None).await,
        }
    }

    /// Keeps the temporary directory (watchdog state) after teardown; returns its path.
    pub fn keep_dir(&mut self) -> Option<PathBuf> {
        self.tmp.take().map(TempDir::keep)
    }

    /// Stops the sequencer, then the proxies, then the L1 (on `compose`, after saving the
    /// containers' output under `logs/`).
    pub async fn shutdown(mut self) -> Result<(), DeployError> {
        if let Some(net) = &self.compose {
            net.save_logs(self.dir()).await;
        }
        self.sequencer.shutdown().await?;
        for proxy in std::mem::take(&mut self.proxies).into_values() {
            proxy.shutdown().await;
        }
        let Self { l1, .. } = self;
        if let L1Handle::Anvil(devnet) = l1 {
            (*devnet)
                .shutdown()
                .await
                .map_err(|source| DeployError::Component {
                    what: "stopping anvil",
                    source,
                })?;
        }
        Ok(())
    }
}
