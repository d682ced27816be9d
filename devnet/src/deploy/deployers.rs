//! The three deployers.

use alloy::providers::{Provider as _, ProviderBuilder};
use alloy::transports::RpcError;
use futures_util::future::BoxFuture;

use super::node::AttachedL1;
use super::sequencer::{SequencerControl, config_for};
use super::{
    Backend, Caps, DeployError, Deployer, Deployment, L1Error, L1Handle, L1Node, deployment_dir,
    refuse_proxies,
};
use crate::Devnet;
use crate::pins::CHAIN_ID;
use crate::synthetic::SyntheticL1;
use crate::topology::{L1Mining, Topology};

/// `local`: anvil with the Rollups contracts ([`Devnet`]) and the devnet sequencer as a task,
/// as the scenario harness runs them. Caps: all.
#[derive(Debug, Clone, Default)]
pub struct LocalDeployer;

impl Deployer for LocalDeployer {
    fn backend(&self) -> Backend {
        Backend::Local
    }

    fn deploy<'a>(
        &'a self,
        topology: &'a Topology,
    ) -> BoxFuture<'a, Result<Deployment, DeployError>> {
        Box::pin(async move {
            refuse_proxies(topology)?;
            let tmp = deployment_dir(Backend::Local)?;
            let devnet = Devnet::builder()
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
            let config = config_for(devnet.rpc_url(), &topology.sequencer)?;
            let sequencer = SequencerControl::task(Backend::Local, config).await?;
            Deployment::new(
                Backend::Local,
                Caps::ALL,
                topology,
                L1Handle::Anvil(Box::new(devnet)),
                sequencer,
                tmp,
            )
        })
    }
}

/// `in-process`: the [`SyntheticL1`] (seeded by the topology) and the devnet sequencer as a
/// task. Caps: all but `Evm`; node control is task restart.
#[derive(Debug, Clone, Default)]
pub struct InProcessDeployer;

impl InProcessDeployer {
    /// What every in-process deployment can do.
    pub const CAPS: Caps = Caps::ALL.without(Caps::EVM);
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
            refuse_proxies(topology)?;
            let tmp = deployment_dir(Backend::InProcess)?;
            let l1 = SyntheticL1::builder()
                .seed(topology.seed)
                .blocks(topology.l1.warmup_blocks)
                .automine(topology.l1.mining == L1Mining::Auto)
                .start()
                .await?;
            let config = config_for(&l1.url(), &topology.sequencer)?;
            let sequencer = SequencerControl::task(Backend::InProcess, config).await?;
            Deployment::new(
                Backend::InProcess,
                Self::CAPS,
                topology,
                L1Handle::Synthetic(l1),
                sequencer,
                tmp,
            )
        })
    }
}

/// `attach`: an L1 and a sequencer that run elsewhere, given by URL. Readiness is the L1
/// answering `eth_chainId` with 31337. Caps: `RpcFaults`, plus `Mining` and `Reorg` when the
/// L1 answers `anvil_nodeInfo` (the synthetic L1 does not: it is controlled from Rust only).
/// The sequencer cannot be stopped or started; faults work when its control URL is given.
#[derive(Debug, Clone)]
pub struct AttachDeployer {
    l1_url: String,
    sequencer_url: String,
    control_url: Option<String>,
}

impl AttachDeployer {
    /// Attaches to the L1 at `l1_url` and the sequencer at `sequencer_url`.
    pub fn new(l1_url: impl Into<String>, sequencer_url: impl Into<String>) -> Self {
        Self {
            l1_url: l1_url.into(),
            sequencer_url: sequencer_url.into(),
            control_url: None,
        }
    }

    /// The sequencer's control API (enables [`SequencerControl::set_faults`]).
    pub fn control_url(mut self, url: impl Into<String>) -> Self {
        self.control_url = Some(url.into());
        self
    }

    /// Checks the L1 and works out the capabilities: whether it answers `anvil_nodeInfo`.
    pub async fn probe(&self) -> Result<Caps, DeployError> {
        Ok(caps_of(self.probe_anvil().await?))
    }

    async fn probe_anvil(&self) -> Result<bool, DeployError> {
        let url = self.l1_url.parse().map_err(|_| L1Error::Unsupported {
            what: "an L1 URL that does not parse",
            node: "attached",
        })?;
        let provider = ProviderBuilder::new().connect_http(url);
        l1::ensure_chain_id(&provider, CHAIN_ID)
            .await
            .map_err(L1Error::from)?;
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

fn caps_of(anvil: bool) -> Caps {
    if anvil {
        Caps::RPC_FAULTS | Caps::MINING | Caps::REORG
    } else {
        Caps::RPC_FAULTS
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
            refuse_proxies(topology)?;
            let tmp = deployment_dir(Backend::Attach)?;
            let anvil = self.probe_anvil().await?;
            let l1 = AttachedL1::new(&self.l1_url, anvil)?;
            let sequencer =
                SequencerControl::remote(&self.sequencer_url, self.control_url.as_deref());
            Deployment::new(
                Backend::Attach,
                caps_of(anvil),
                topology,
                L1Handle::Attached(l1),
                sequencer,
                tmp,
            )
        })
    }
}
