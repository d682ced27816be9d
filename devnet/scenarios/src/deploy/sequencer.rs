//! [`SequencerControl`]: the deployment's sequencer — an in-process task it can stop, start
//! and restart on the same ports, or a remote one it only knows by URL.

use std::time::Duration;

use alloy::primitives::Address;
use canonical::WalletConfig;
use devnet_pins::addresses;
use devnet_sequencer::{Fault, ResponseShape, Sequencer, SequencerConfig, SequencerHandle};

use super::compose::SequencerContainer;
use super::{Backend, DeployError};
use crate::topology::SequencerSpec;

/// The sequencer configuration of a topology, for the L1 at `rpc_url` with `chain_id` (pinned
/// application and InputBox, the spec's wallet configuration).
pub(crate) fn config_for(
    rpc_url: &str,
    chain_id: u64,
    spec: &SequencerSpec,
) -> Result<SequencerConfig, DeployError> {
    let mut config = SequencerConfig::devnet(rpc_url, addresses::APPLICATION);
    config.input_box = Some(addresses::INPUT_BOX);
    config.wallet =
        WalletConfig::by_name(&spec.wallet_config).ok_or_else(|| DeployError::Component {
            what: "configuring the sequencer",
            source: anyhow::anyhow!(
                "unknown wallet configuration {:?} (devnet, sepolia)",
                spec.wallet_config
            ),
        })?;
    config.chain_id = chain_id;
    config.poll_interval = Duration::from_millis(spec.poll_ms.max(1));
    config.batch_interval = Duration::from_millis(spec.batch_interval_ms);
    config.shape = if spec.legacy_shape {
        ResponseShape::Legacy
    } else {
        ResponseShape::Newest
    };
    config.faults = spec
        .faults
        .iter()
        .map(|f| f.parse::<Fault>())
        .collect::<Result<_, _>>()?;
    if let Some(ops) = spec.batch_max_ops {
        config.batch_max_ops = ops;
    }
    Ok(config)
}

/// The deployment's sequencer.
#[derive(Debug)]
pub struct SequencerControl {
    backend: Backend,
    /// The task's configuration (`None` for a remote sequencer).
    config: Option<SequencerConfig>,
    handle: Option<SequencerHandle>,
    /// The sequencer's container (`compose`) and whether it runs.
    container: Option<(SequencerContainer, bool)>,
    url: String,
    control_url: Option<String>,
}

impl SequencerControl {
    /// Starts the devnet sequencer as a task; later starts reuse its ports.
    pub(crate) async fn task(
        backend: Backend,
        mut config: SequencerConfig,
    ) -> Result<Self, DeployError> {
        let handle =
            Sequencer::start(config.clone())
                .await
                .map_err(|source| DeployError::Component {
                    what: "starting the sequencer",
                    source,
                })?;
        config.listen = handle.listen_addr();
        config.control_listen = handle.control_addr();
        Ok(Self {
            backend,
            url: handle.url(),
            control_url: Some(handle.control_url()),
            config: Some(config),
            handle: Some(handle),
            container: None,
        })
    }

    /// The sequencer in its (started) container; stops remove it, starts make it again.
    pub(crate) fn container(config: SequencerConfig, container: SequencerContainer) -> Self {
        Self {
            backend: Backend::Compose,
            url: container.url(),
            control_url: Some(container.control_url()),
            config: Some(config),
            handle: None,
            container: Some((container, true)),
        }
    }

    /// The container's name (`compose`).
    pub(crate) fn container_name(&self) -> Option<&str> {
        self.container.as_ref().map(|(c, _)| c.name.as_str())
    }

    /// The container's address on the L1 network (`compose`).
    pub(crate) fn container_l1_ip(&self) -> Option<std::net::Ipv4Addr> {
        self.container.as_ref().map(|(c, _)| c.l1_ip())
    }

    /// A sequencer known only by URL (and, if given, its control API).
    pub(crate) fn remote(url: &str, control_url: Option<&str>) -> Self {
        Self {
            backend: Backend::Attach,
            config: None,
            handle: None,
            container: None,
            url: url.trim_end_matches('/').to_owned(),
            control_url: control_url.map(|u| u.trim_end_matches('/').to_owned()),
        }
    }

    /// The public API (`http://127.0.0.1:<port>`), stable across restarts.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The control API, if known; stable across restarts.
    pub fn control_url(&self) -> Option<&str> {
        self.control_url.as_deref()
    }

    /// The application the sequencer serves.
    pub fn app(&self) -> Address {
        self.config
            .as_ref()
            .map_or(addresses::APPLICATION, |c| c.app)
    }

    /// Whether this deployment runs the sequencer (so it can stop and start it).
    pub fn is_managed(&self) -> bool {
        self.config.is_some()
    }

    /// Whether the managed task is running (a remote sequencer counts as running).
    pub fn is_running(&self) -> bool {
        match &self.container {
            Some((_, running)) => *running,
            None => self.handle.is_some() || !self.is_managed(),
        }
    }

    /// The running task, if any.
    pub fn handle(&self) -> Option<&SequencerHandle> {
        self.handle.as_ref()
    }

    fn managed(&self, what: &'static str) -> Result<&SequencerConfig, DeployError> {
        self.config.as_ref().ok_or(DeployError::Unsupported {
            what,
            backend: self.backend,
        })
    }

    /// Stops the task, or removes the container (as a crash would: unsent batches are lost);
    /// no-op when stopped.
    pub async fn stop(&mut self) -> Result<(), DeployError> {
        self.managed("stopping the sequencer")?;
        if let Some((container, running)) = &mut self.container {
            if *running {
                container.remove().await?;
                *running = false;
            }
            return Ok(());
        }
        if let Some(handle) = self.handle.take() {
            handle
                .shutdown()
                .await
                .map_err(|source| DeployError::Component {
                    what: "stopping the sequencer",
                    source,
                })?;
        }
        Ok(())
    }

    /// Starts the task (or makes the container) again on the same ports, without the start-up
    /// faults; it recovers from
    /// the L1. No-op when running.
    pub async fn start(&mut self) -> Result<(), DeployError> {
        let mut config = self.managed("starting the sequencer")?.clone();
        if let Some((container, running)) = &mut self.container {
            if !*running {
                container.start(false).await?;
                *running = true;
            }
            return Ok(());
        }
        if self.handle.is_some() {
            return Ok(());
        }
        config.faults.clear();
        let handle = Sequencer::start(config)
            .await
            .map_err(|source| DeployError::Component {
                what: "restarting the sequencer",
                source,
            })?;
        self.handle = Some(handle);
        Ok(())
    }

    /// [`stop`](Self::stop), then [`start`](Self::start).
    pub async fn restart(&mut self) -> Result<(), DeployError> {
        self.stop().await?;
        self.start().await
    }

    /// Replaces the armed faults through the control API (`[]` disarms all).
    pub async fn set_faults(&self, specs: &[&str]) -> Result<(), DeployError> {
        for spec in specs {
            spec.parse::<Fault>()?;
        }
        let control = self
            .control_url
            .as_deref()
            .ok_or(DeployError::Unsupported {
                what: "sequencer faults",
                backend: self.backend,
            })?;
        let response = reqwest::Client::new()
            .post(format!("{control}/faults"))
            .json(&serde_json::json!({ "set": specs }))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|source| DeployError::Control {
                what: "POST /faults",
                source,
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(DeployError::ControlStatus {
                what: "POST /faults",
                status: status.as_u16(),
            });
        }
        Ok(())
    }

    /// Shuts the task down (bounded).
    pub(crate) async fn shutdown(&mut self) -> Result<(), DeployError> {
        if self.is_managed() {
            self.stop().await?;
        }
        Ok(())
    }
}
