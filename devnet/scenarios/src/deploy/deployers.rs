//! The three deployers.

use std::collections::BTreeMap;

use alloy::primitives::Address;
use alloy::providers::Provider as _;
use alloy::transports::RpcError;
use devnet_pins::{CHAIN_ID, addresses};
use devnet_stack::Devnet;
use futures_util::future::BoxFuture;
use synthetic_l1::SyntheticL1;
use tempfile::TempDir;

use super::node::{AttachedL1, attached_provider};
use super::sequencer::{SequencerControl, config_for};
use super::{
    Backend, Caps, DeployError, Deployer, Deployment, FaultProxy, Identity, L1Error, L1Handle,
    L1Node, deployment_dir, edge_proxy, refuse_proxies,
};
use crate::topology::{Edge, L1Mining, Topology};

/// The start of every deployment: rules on an edge outside `wired` are refused before anything
/// starts, then the deployment's directory is made.
fn prepare(backend: Backend, topology: &Topology, wired: &[Edge]) -> Result<TempDir, DeployError> {
    refuse_proxies(topology, wired)?;
    deployment_dir(backend)
}

/// The end of a deployment whose sequencer runs as a task against the L1 at `l1_url` (chain
/// `chain_id`), through the `seq→l1` proxy when the topology gives that edge rules.
async fn with_sequencer_task(
    backend: Backend,
    caps: Caps,
    topology: &Topology,
    (l1, l1_url, chain_id): (L1Handle, &str, u64),
    tmp: TempDir,
) -> Result<Deployment, DeployError> {
    let proxy = edge_proxy(topology, Edge::SeqToL1, l1_url, tmp.path()).await?;
    let url = proxy
        .as_ref()
        .map_or_else(|| l1_url.to_owned(), FaultProxy::url);
    let config = config_for(&url, chain_id, &topology.sequencer)?;
    let sequencer = SequencerControl::task(backend, config).await?;
    let proxies = proxy.map(|p| (Edge::SeqToL1, p)).into_iter().collect();
    let identity = Identity::pinned(chain_id, &topology.sequencer.wallet_config);
    Ok(Deployment::new(
        backend, caps, topology, identity, l1, sequencer, proxies, tmp,
    ))
}

/// `local`: anvil with the Rollups contracts ([`Devnet`]) and the devnet sequencer as a task,
/// as the scenario harness runs them, on the topology's chain id. Caps: all but `Image`
/// (which the environment decides) and `Partition` (processes on loopback share one network).
#[derive(Debug, Clone, Default)]
pub struct LocalDeployer;

impl LocalDeployer {
    /// What every local deployment can do.
    pub const CAPS: Caps = Caps::ALL.without(Caps::IMAGE).without(Caps::PARTITION);
}

impl Deployer for LocalDeployer {
    fn backend(&self) -> Backend {
        Backend::Local
    }

    fn deploy<'a>(
        &'a self,
        topology: &'a Topology,
    ) -> BoxFuture<'a, Result<Deployment, DeployError>> {
        Box::pin(async move {
            let tmp = prepare(Backend::Local, topology, &[Edge::SeqToL1])?;
            let devnet = Devnet::builder()
                .chain_id(topology.l1.chain_id)
                .anvil_log(tmp.path().join("logs").join("anvil.log"))
                .start()
                .await
                .map_err(|source| DeployError::Component {
                    what: "starting anvil and the contracts",
                    source,
                })?;
            let l1: &dyn L1Node = &devnet;
            l1.mine(topology.l1.warmup_blocks).await?;
            if topology.l1.mining == L1Mining::Manual {
                l1.set_automine(false).await?;
            }
            let url = devnet.rpc_url().to_owned();
            let l1 = L1Handle::Anvil(Box::new(devnet));
            let l1 = (l1, url.as_str(), topology.l1.chain_id);
            with_sequencer_task(Backend::Local, LocalDeployer::CAPS, topology, l1, tmp).await
        })
    }
}

/// `in-process`: the [`SyntheticL1`] (seeded by the topology) and the devnet sequencer as a
/// task, on chain 31337. Caps: all of `local`'s but `Evm`; node control is task restart.
#[derive(Debug, Clone, Default)]
pub struct InProcessDeployer;

impl InProcessDeployer {
    /// What every in-process deployment can do.
    pub const CAPS: Caps = LocalDeployer::CAPS.without(Caps::EVM);
}

impl Deployer for InProcessDeployer {
    fn backend(&self) -> Backend {
        Backend::InProcess
    }

    fn deploy<'a>(
        &'a self,
        topology: &'a Topology,
    ) -> BoxFuture<'a, Result<Deployment, DeployError>> {
        Box::pin(async move {
            let tmp = prepare(Backend::InProcess, topology, &[Edge::SeqToL1])?;
            let l1 = SyntheticL1::builder()
                .seed(topology.seed)
                .blocks(topology.l1.warmup_blocks)
                .automine(topology.l1.mining == L1Mining::Auto)
                .start()
                .await?;
            let url = l1.url();
            let l1 = L1Handle::Synthetic(l1);
            let l1 = (l1, url.as_str(), CHAIN_ID);
            with_sequencer_task(Backend::InProcess, Self::CAPS, topology, l1, tmp).await
        })
    }
}

/// `attach`: an L1 and a sequencer that run elsewhere, given by URL, on any chain. The
/// deployment's [`Identity`] is found out: the chain id from the node, the InputBox from the
/// application (the devnet's pinned one unless [`app`](Self::app) names another), the wallet
/// configuration by name ([`wallet_config`](Self::wallet_config)) or from the sequencer's
/// finalized state. Caps: `RpcFaults`, plus `Mining` and `Reorg` when the L1 answers
/// `anvil_nodeInfo` (the synthetic L1 does not: it is controlled from Rust only), plus
/// `SeqFaults` when the sequencer's control URL is given. Never `L1Inputs`: deposits and
/// direct inputs are refused. The sequencer cannot be stopped or started.
#[derive(Debug, Clone)]
pub struct AttachDeployer {
    l1_url: String,
    sequencer_url: String,
    control_url: Option<String>,
    app: Address,
    wallet_config: Option<String>,
}

impl AttachDeployer {
    /// Attaches to the L1 at `l1_url` and the sequencer at `sequencer_url`.
    pub fn new(l1_url: impl Into<String>, sequencer_url: impl Into<String>) -> Self {
        Self {
            l1_url: l1_url.into(),
            sequencer_url: sequencer_url.into(),
            control_url: None,
            app: addresses::APPLICATION,
            wallet_config: None,
        }
    }

    /// The application to watch (default: the devnet's pinned application).
    pub fn app(mut self, app: Address) -> Self {
        self.app = app;
        self
    }

    /// The sequencer's wallet configuration by name (`devnet`, `sepolia`); without it, it is
    /// read from the sequencer's finalized state.
    pub fn wallet_config(mut self, name: impl Into<String>) -> Self {
        self.wallet_config = Some(name.into());
        self
    }

    /// Finds out which chain, application and wallet configuration the target is.
    pub async fn identify(&self) -> Result<Identity, DeployError> {
        let provider = attached_provider(&self.l1_url)?;
        Identity::discover(
            &provider,
            &self.sequencer_url,
            self.app,
            self.wallet_config.as_deref(),
        )
        .await
    }

    /// The sequencer's control API (enables [`SequencerControl::set_faults`]).
    pub fn control_url(mut self, url: impl Into<String>) -> Self {
        self.control_url = Some(url.into());
        self
    }

    /// Checks the L1 and works out the capabilities: whether it answers `anvil_nodeInfo`, and
    /// whether a control URL was given.
    pub async fn probe(&self) -> Result<Caps, DeployError> {
        Ok(self.caps_of(self.probe_anvil().await?))
    }

    /// The capabilities, given whether the L1 is anvil.
    fn caps_of(&self, anvil: bool) -> Caps {
        let history = if anvil {
            Caps::MINING | Caps::REORG
        } else {
            Caps::NONE
        };
        let faults = if self.control_url.is_some() {
            Caps::SEQ_FAULTS
        } else {
            Caps::NONE
        };
        Caps::RPC_FAULTS | history | faults
    }

    async fn probe_anvil(&self) -> Result<bool, DeployError> {
        let provider = attached_provider(&self.l1_url)?;
        l1::chain_id(&provider).await.map_err(L1Error::from)?;
        match provider
            .raw_request::<_, serde_json::Value>("anvil_nodeInfo".into(), ())
            .await
        {
            Ok(_) => Ok(true),
            Err(RpcError::ErrorResp(_)) => Ok(false),
            Err(source) => Err(L1Error::Rpc {
                method: "anvil_nodeInfo",
                source,
            }
            .into()),
        }
    }
}

impl Deployer for AttachDeployer {
    fn backend(&self) -> Backend {
        Backend::Attach
    }

    fn deploy<'a>(
        &'a self,
        topology: &'a Topology,
    ) -> BoxFuture<'a, Result<Deployment, DeployError>> {
        Box::pin(async move {
            let tmp = prepare(Backend::Attach, topology, &[])?;
            let anvil = self.probe_anvil().await?;
            let identity = self.identify().await?;
            let l1 = AttachedL1::new(&self.l1_url, anvil)?;
            let sequencer =
                SequencerControl::remote(&self.sequencer_url, self.control_url.as_deref());
            Ok(Deployment::new(
                Backend::Attach,
                self.caps_of(anvil),
                topology,
                identity,
                L1Handle::Attached(l1),
                sequencer,
                BTreeMap::new(),
                tmp,
            ))
        })
    }
}
