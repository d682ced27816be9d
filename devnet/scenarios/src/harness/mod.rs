//! The runner's view of one scenario: a fresh [`Deployment`] on the chosen [`Backend`] (anvil
//! with the real contracts, or the synthetic L1, with the devnet sequencer as a task; or an
//! attached L1 and sequencer, whose history is theirs), optionally a
//! JSON-RPC proxy on the watchdog's L1 edge and an HTTP proxy on its sequencer edge (the
//! harness's), and one on the sequencer's L1 edge (the deployer's, from the topology), a
//! watchdog state directory and the [`WatchdogDriver`], plus workload, settle, fault and L1
//! history helpers. Scenarios go through these methods only, so they run on every backend; a
//! helper a backend cannot serve fails with [`NeedsCap`], and anvil-only helpers sit behind
//! [`Harness::devnet`].
//!
//! Layout of the scenario's directory (the deployment's): `logs/anvil.log` (`local`),
//! `logs/watchdog-<n>.stderr` (one per watchdog command), `logs/proxy-wd-l1.jsonl`,
//! `logs/proxy-wd-seq.jsonl` and `logs/proxy-seq-l1.jsonl` (every request through a proxy)
//! and `watchdog/` (the state directory).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use anyhow::{Context, Result, bail};
use canonical::WalletSnapshot;
use cartesi_rollups_contracts::input_box::InputBox;
use sequencer_client::{RedactedUrl, SequencerClient};

mod bulk;
mod evidence;
mod history;
mod proxies;
mod workload;

use devnet_sequencer::ResponseShape;
use devnet_stack::Devnet;
use evidence::record;
use fault_proxy::{GetLogsCap, ProxyRules, RuleSet};

use super::attach::AttachTarget;
use super::seed::Seed;
use crate::deploy::{
    AttachDeployer, Backend, Caps, ComposeDeployer, Deployer, Deployment, FaultProxy,
    InProcessDeployer, LocalDeployer, Member,
};
use crate::driver::{ContainerSpec, Run, WatchdogDriver, ensure_watchdog_binary};
use crate::topology::{Edge, SequencerSpec, Topology};

/// How a scenario's stack is built.
#[derive(Debug, Clone, Default)]
pub struct StackOptions {
    /// Where it runs (default `local`).
    pub backend: Backend,
    /// Finalized-route response shape of the sequencer.
    pub shape: ResponseShape,
    /// Fault specs armed when the sequencer starts (`tamper-state`, `drop-deposit:1`, …).
    pub faults: Vec<String>,
    /// An `eth_getLogs` cap on the watchdog's L1 edge (puts a proxy there).
    pub wd_l1_cap: Option<GetLogsCap>,
    /// Rules for a proxy on the watchdog's L1 edge (puts a proxy there; `wd_l1_cap`, when
    /// also given, replaces their cap). Change them with [`Harness::set_wd_l1_rules`].
    pub wd_l1_rules: Option<ProxyRules>,
    /// Rules for an HTTP proxy on the watchdog's sequencer edge (puts a proxy there; an empty
    /// set passes everything). Change them with [`Harness::set_wd_seq_rules`].
    pub wd_seq_rules: Option<RuleSet>,
    /// Rules for a JSON-RPC proxy on the sequencer's L1 edge (`seq→l1`; the deployer puts it
    /// there, in the topology). Change them with [`Harness::set_seq_l1_rules`]. Not on
    /// `attach`, whose sequencer reads its L1 directly.
    pub seq_l1_rules: Option<RuleSet>,
    /// Seal batches at this many ops (default: the sequencer's).
    pub batch_max_ops: Option<usize>,
    /// The L1 chain id (`local` only; default 31337).
    pub chain_id: Option<u64>,
    /// The sequencer's wallet configuration by name (`devnet`, the default, or `sepolia`).
    pub wallet_config: Option<String>,
    /// Build `sequencer-watchdog` in release mode if it has to be built.
    pub release_build: bool,
    /// The run seed (workload and fault choices, the synthetic L1's hashes).
    pub seed: Seed,
    /// What the `attach` backend attaches to (required there). The attached sequencer keeps
    /// its own configuration: `shape` and `batch_max_ops` cannot be set there, and `faults`
    /// are armed through its control URL.
    pub attach: Option<AttachTarget>,
}

impl StackOptions {
    /// The topology these options describe: the `seq→l1` proxy is the deployer's; the
    /// watchdog's proxies are the harness's.
    pub fn topology(&self) -> Topology {
        let defaults = SequencerSpec::default();
        let mut topology = Topology::new().seed(self.seed.0).sequencer(SequencerSpec {
            faults: self.faults.clone(),
            batch_max_ops: self.batch_max_ops,
            legacy_shape: self.shape == ResponseShape::Legacy,
            wallet_config: self
                .wallet_config
                .clone()
                .unwrap_or(defaults.wallet_config.clone()),
            ..defaults
        });
        if let Some(chain_id) = self.chain_id {
            topology.l1.chain_id = chain_id;
        }
        match &self.seq_l1_rules {
            Some(rules) => topology.proxy(Edge::SeqToL1, rules.clone()),
            None => topology,
        }
    }
}

/// A harness helper the deployment's backend cannot serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} needs capability {cap}, which the {backend} backend lacks")]
pub struct NeedsCap {
    /// The helper.
    pub what: &'static str,
    /// The missing capability.
    pub cap: Caps,
    /// The backend.
    pub backend: Backend,
}

/// A running scenario stack.
pub struct Harness {
    net: Deployment,
    /// Reads of the L1 (`client→l1`).
    l1: DynProvider,
    /// The sequencer's public API (`client→seq`).
    pub client: SequencerClient,
    /// Runs `sequencer-watchdog`.
    pub driver: WatchdogDriver,
    /// The proxy on the watchdog's L1 edge, if any.
    pub proxy: Option<FaultProxy>,
    /// The proxy on the watchdog's sequencer edge, if any.
    pub seq_proxy: Option<FaultProxy>,
    /// The application.
    pub app: Address,
    /// The L1's chain id, read once (signed ops and bulk inputs carry it).
    chain_id: u64,
    /// The watchdog state directory (on `compose`, the state volume's directory on the engine's
    /// host, when that is this machine).
    pub state_dir: PathBuf,
    /// The newest finalized block seen by a settle.
    pub finalized: u64,
    /// The run seed.
    pub seed: Seed,
    runs: Arc<Mutex<Vec<Run>>>,
    notes: Vec<String>,
    keep: bool,
    /// Faults were armed on a sequencer this harness does not own: disarm them at shutdown.
    disarm: AtomicBool,
    /// Docker volumes made for the watchdog image's state, removed at shutdown.
    volumes: Vec<String>,
}

impl Harness {
    /// Deploys on `options.backend` (L1, contracts or their stand-ins, the sequencer; on
    /// `attach`, handles on the target's, with `options.faults` armed through its control
    /// URL), puts proxies on the watchdog's L1 and sequencer edges when asked (routed before
    /// the watchdog driver is built), and prepares the watchdog (not yet init).
    pub async fn start(options: StackOptions) -> Result<Self> {
        let binary = ensure_watchdog_binary(options.release_build).await?;
        let deployer: Box<dyn Deployer> = match options.backend {
            Backend::Local => Box::new(LocalDeployer),
            Backend::InProcess => Box::new(InProcessDeployer),
            Backend::Attach => Box::new(attach_deployer(&options)?),
            Backend::Compose => Box::new(ComposeDeployer),
        };
        let mut net = deployer
            .deploy(&options.topology())
            .await
            .with_context(|| format!("deploying on {}", options.backend))?;
        let disarm = options.backend == Backend::Attach && !options.faults.is_empty();
        if disarm {
            let faults: Vec<&str> = options.faults.iter().map(String::as_str).collect();
            net.sequencer()
                .set_faults(&faults)
                .await
                .context("arming the attached sequencer's faults")?;
        }
        let client = SequencerClient::new(RedactedUrl::parse(net.url(Edge::ClientToSeq))?)?;
        let l1 = ProviderBuilder::new()
            .connect_http(net.url(Edge::ClientToL1).parse()?)
            .erased();
        let chain_id = l1.get_chain_id().await.context("eth_chainId")?;
        let rules = match (options.wd_l1_rules, options.wd_l1_cap) {
            (Some(rules), None) => Some(rules),
            (rules, Some(cap)) => Some(ProxyRules {
                get_logs_cap: Some(cap),
                ..rules.unwrap_or_default()
            }),
            (None, None) => None,
        };
        let proxy = match rules {
            Some(rules) => Some(proxies::start(&net, Edge::WdToL1, rules.compile()).await?),
            None => None,
        };
        if let Some(proxy) = &proxy {
            net.route(Edge::WdToL1, proxy.url());
        }
        let seq_proxy = match options.wd_seq_rules {
            Some(rules) => Some(proxies::start(&net, Edge::WdToSeq, rules).await?),
            None => None,
        };
        if let Some(proxy) = &seq_proxy {
            net.route(Edge::WdToSeq, proxy.url());
        }
        let mut volumes = Vec::new();
        let mut driver = net.watchdog(binary);
        let mut state_dir = net.state_dir().to_owned();
        if let Some(compose) = net.compose() {
            // Every watchdog command in a container on both networks, its state in a volume,
            // which the scenario reads where a local engine keeps it.
            let volume = crate::container::create_volume("devnet-watchdog-state").await?;
            volumes.push(volume.clone());
            let mount = crate::container::docker(&[
                "volume",
                "inspect",
                "--format",
                "{{.Mountpoint}}",
                &volume,
            ])
            .await?;
            let mount = PathBuf::from(mount.trim());
            if mount.is_dir() {
                state_dir = mount.join("state");
            }
            driver = driver.in_container(ContainerSpec {
                image: crate::container::watchdog_image(),
                network: compose.l1_network().to_owned(),
                extra_networks: vec![compose.app_network().to_owned()],
                label: Some(compose.label()),
                name: None,
                volume,
            });
        }
        Ok(Self {
            app: net.app(),
            chain_id,
            state_dir,
            net,
            l1,
            client,
            driver,
            proxy,
            seq_proxy,
            finalized: 0,
            seed: options.seed,
            runs: Arc::default(),
            notes: Vec::new(),
            keep: false,
            disarm: AtomicBool::new(disarm),
            volumes,
        })
    }

    /// The deployment underneath.
    pub fn deployment(&self) -> &Deployment {
        &self.net
    }

    /// The backend it runs on.
    pub fn backend(&self) -> Backend {
        self.net.backend()
    }

    /// Fails with [`NeedsCap`] unless the deployment has `cap`.
    pub fn need(&self, what: &'static str, cap: Caps) -> Result<(), NeedsCap> {
        let missing = self.net.caps().missing(cap);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(NeedsCap {
                what,
                cap: missing,
                backend: self.backend(),
            })
        }
    }

    /// The anvil devnet, for EVM-level helpers (balances, raw transactions, `mint`); fails
    /// with [`NeedsCap`] (`Evm`) on other backends.
    pub fn devnet(&self) -> Result<&Devnet, NeedsCap> {
        self.net.devnet().ok_or(NeedsCap {
            what: "the anvil devnet",
            cap: Caps::EVM,
            backend: self.backend(),
        })
    }

    /// `sequencer-watchdog <args>`, recorded for the report.
    pub async fn watchdog(&self, args: &[&str]) -> Result<Run> {
        record(&self.runs, self.dir(), self.driver.run(args).await)
    }

    /// A driver that runs the watchdog image ([`watchdog_image`](crate::container::watchdog_image))
    /// on the host network with this deployment's exports, its state in a fresh volume
    /// (removed at shutdown). Needs `Image`: fails with [`NeedsCap`] when no engine answers
    /// or it lacks the image.
    pub async fn image_driver(&mut self) -> Result<WatchdogDriver> {
        if let Some(why) = crate::container::image_unavailable().await {
            return Err(anyhow::Error::new(NeedsCap {
                what: "the watchdog image",
                cap: Caps::IMAGE,
                backend: self.backend(),
            })
            .context(why));
        }
        let volume = crate::container::create_volume("devnet-watchdog-state").await?;
        self.volumes.push(volume.clone());
        Ok(self.driver.in_container(ContainerSpec {
            image: crate::container::watchdog_image(),
            network: "host".to_owned(),
            volume,
            ..ContainerSpec::default()
        }))
    }

    /// `sequencer-watchdog <args>` through `driver` (another than the harness's own),
    /// recorded for the report.
    pub async fn watchdog_with(&self, driver: &WatchdogDriver, args: &[&str]) -> Result<Run> {
        record(&self.runs, self.dir(), driver.run(args).await)
    }

    /// Starts `sequencer-watchdog tick` in the background (recorded when it finishes).
    pub fn spawn_tick(&self) -> tokio::task::JoinHandle<Result<Run>> {
        let driver = self.driver.clone();
        let runs = Arc::clone(&self.runs);
        let dir = self.dir().to_owned();
        tokio::spawn(async move { record(&runs, &dir, driver.run(&["tick"]).await) })
    }

    /// Starts `sequencer-watchdog tick` in the background in a container named `name`
    /// (`compose`), so that it can be [`partition`](Self::partition)ed mid-tick.
    pub fn spawn_named_tick(&self, name: &str) -> tokio::task::JoinHandle<Result<Run>> {
        let driver = self.driver.named(name);
        let runs = Arc::clone(&self.runs);
        let dir = self.dir().to_owned();
        tokio::spawn(async move { record(&runs, &dir, driver.run(&["tick"]).await) })
    }

    /// Cuts `member` off the L1 network (`Partition`).
    pub async fn partition(&self, member: &Member) -> Result<()> {
        self.need("a partition", Caps::PARTITION)?;
        Ok(self.net.partition(member).await?)
    }

    /// Joins `member` to the L1 network again (`Partition`).
    pub async fn rejoin(&self, member: &Member) -> Result<()> {
        self.need("a partition", Caps::PARTITION)?;
        Ok(self.net.rejoin(member).await?)
    }

    /// Whether the container `name` still runs (`compose`).
    pub async fn container_running(&self, name: &str) -> bool {
        crate::container::docker(&["inspect", "--format", "{{.State.Running}}", name])
            .await
            .is_ok_and(|out| out.trim() == "true")
    }

    /// Sets (or replaces) a watchdog environment variable for later commands.
    pub fn set_watchdog_env(&mut self, name: &str, value: impl Into<String>) {
        self.driver.set_env(name, value);
    }

    /// `sequencer-watchdog tick`.
    pub async fn tick(&self) -> Result<Run> {
        self.watchdog(&["tick"]).await
    }

    /// Mines `blocks` L1 blocks.
    pub async fn mine(&self, blocks: u64) -> Result<()> {
        Ok(self.net.l1().mine(blocks).await?)
    }

    /// The L1 head.
    pub async fn block_number(&self) -> Result<u64> {
        Ok(self.net.l1().block_number().await?)
    }

    /// The application's input count on L1 at the head (`InputBox.getNumberOfInputs`).
    pub async fn input_count(&self) -> Result<u64> {
        let count = InputBox::new(self.net.input_box(), &self.l1)
            .getNumberOfInputs(self.app)
            .call()
            .await
            .context("InputBox.getNumberOfInputs")?;
        u64::try_from(count).context("input count does not fit in u64")
    }

    /// The sequencer's finalized inclusion block (`/finalized_state/inclusion_block`).
    pub async fn inclusion_block(&self) -> Result<u64> {
        Ok(self.client.inclusion_block().await?.inclusion_block)
    }

    /// Replaces the sequencer's armed faults.
    pub async fn set_faults(&self, faults: &[&str]) -> Result<()> {
        self.need("sequencer faults", Caps::SEQ_FAULTS)?;
        anyhow::ensure!(
            self.net.sequencer().is_running(),
            "the sequencer is stopped"
        );
        self.net.sequencer().set_faults(faults).await?;
        if !self.net.sequencer().is_managed() {
            self.disarm.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Stops the sequencer (as a crash would).
    pub async fn stop_sequencer(&mut self) -> Result<()> {
        self.need("stopping the sequencer", Caps::NODE_CONTROL)?;
        Ok(self.net.sequencer_mut().stop().await?)
    }

    /// Starts the sequencer again on the same port, without its start-up faults; it
    /// recovers from L1.
    pub async fn restart_sequencer(&mut self) -> Result<()> {
        self.need("starting the sequencer", Caps::NODE_CONTROL)?;
        Ok(self.net.sequencer_mut().start().await?)
    }

    /// The sequencer's public URL while it runs.
    pub fn sequencer_url(&self) -> Option<String> {
        self.net
            .sequencer()
            .is_running()
            .then(|| self.net.sequencer().url().to_owned())
    }

    /// The served finalized state, decoded.
    pub async fn served_snapshot(&self) -> Result<WalletSnapshot> {
        let state = self
            .client
            .download_state(1 << 24, None)
            .await?
            .modified()
            .context("state")?;
        Ok(WalletSnapshot::decode(&state.bytes)?)
    }

    /// Keeps the scenario's directory after shutdown; returns the watchdog state directory.
    pub fn keep_state_dir(&mut self) -> PathBuf {
        self.keep = true;
        self.state_dir.clone()
    }

    /// Leaves a note for the report (a seeded choice, what the stack served).
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Keeps (or not) the scenario's directory after shutdown.
    pub fn set_keep(&mut self, keep: bool) {
        self.keep = keep;
    }

    /// The scenario's directory (logs, watchdog state).
    pub fn dir(&self) -> &Path {
        self.net.dir()
    }

    /// Stops everything (the proxies, the sequencer, the L1). An attached sequencer is left
    /// running with no fault armed, if this harness armed any.
    pub async fn shutdown(mut self) -> Result<()> {
        if self.keep {
            self.net.keep_dir();
        }
        let disarmed = if self.disarm.load(Ordering::Relaxed) {
            self.net.sequencer().set_faults(&[]).await
        } else {
            Ok(())
        };
        if let Some(proxy) = self.proxy.take() {
            proxy.shutdown().await;
        }
        if let Some(proxy) = self.seq_proxy.take() {
            proxy.shutdown().await;
        }
        let mut volumes = Ok(());
        for volume in std::mem::take(&mut self.volumes) {
            let removed = crate::container::remove_volume(&volume).await;
            volumes = volumes.and(removed.with_context(|| format!("removing volume {volume}")));
        }
        self.net.shutdown().await?;
        volumes?;
        disarmed.context("disarming the attached sequencer's faults")
    }
}

/// The deployer for `options.attach`; refuses what an attached sequencer cannot be given.
fn attach_deployer(options: &StackOptions) -> Result<AttachDeployer> {
    let Some(target) = &options.attach else {
        bail!("the attach backend needs an L1 and a sequencer URL");
    };
    if options.shape != ResponseShape::default()
        || options.batch_max_ops.is_some()
        || options.chain_id.is_some()
        || options.wallet_config.is_some()
    {
        bail!(
            "the attached stack's chain, wallet configuration, response shape and batch size are its own"
        );
    }
    Ok(target.deployer())
}
