//! The whole local stack as one RAII value: anvil with the contracts ([`Devnet`]) plus the
//! devnet sequencer, as a task of this process or as a `devnet-sequencer` child. Scenario code
//! and tests start it, drive it (L1 helpers, sequencer restarts, a settle pump) and tear it down
//! deterministically; `devnet up` supervises the same value.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use devnet_stack::{LocalStack, Mining, SequencerMode};
//! let stack = LocalStack::builder()
//!     .mining(Mining::Auto)
//!     .sequencer(SequencerMode::child())
//!     .configure_sequencer(|c| c.batch_max_ops = 2)
//!     .start()
//!     .await?;
//! let url = stack.sequencer_url().to_owned();
//! let block = stack.settle_finalized_past(0, std::time::Duration::from_secs(30)).await?;
//! stack.shutdown().await?; // reverse order, then the orphan audit
//! # let _ = (url, block); Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use devnet_sequencer::SequencerConfig;
use tokio::time::Instant;

use crate::devnet::Devnet;
use crate::error::DevnetError;
use crate::process;
use crate::sequencer_child::ChildSetup;

mod builder;
mod modes;
mod running;

use builder::L1Setup;
pub use builder::LocalStackBuilder;
pub use modes::{Mining, SequencerMode, StackDirs};
pub use running::ChildExit;
use running::RunningSequencer;

/// Removes a directory tree if it exists.
pub fn wipe(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", dir.display())),
    }
}

/// A running local stack: anvil with the contracts and the devnet sequencer. Dropping it kills
/// everything (sequencer first); [`LocalStack::shutdown`] also audits for orphans.
#[derive(Debug)]
pub struct LocalStack {
    // Field order is drop order: the sequencer goes before the L1, the directory last.
    sequencer: Option<RunningSequencer>,
    devnet: Devnet,
    l1: L1Setup,
    config: SequencerConfig,
    child_setup: Option<ChildSetup>,
    run_id: String,
    dirs: StackDirs,
    generation: u64,
    spawned: Vec<u32>,
    seq_url: String,
    seq_control_url: Option<String>,
    http: reqwest::Client,
    temp: Option<tempfile::TempDir>,
    keep: bool,
    log_policy: crate::logs::LogPolicy,
}

impl LocalStack {
    /// Options for starting a stack.
    pub fn builder() -> LocalStackBuilder {
        LocalStackBuilder::default()
    }

    /// Starts a stack with the defaults: automine, the sequencer as a task, a temporary
    /// directory.
    pub async fn start() -> Result<Self> {
        Self::builder().start().await
    }

    /// The L1: anvil, the deployment and the L1 helpers (deposits, inputs, mining).
    pub fn devnet(&self) -> &Devnet {
        &self.devnet
    }

    /// The L1 JSON-RPC endpoint.
    pub fn rpc_url(&self) -> &str {
        self.devnet.rpc_url()
    }

    /// The sequencer's public API (`http://127.0.0.1:<port>`), of the running or last sequencer.
    pub fn sequencer_url(&self) -> &str {
        &self.seq_url
    }

    /// The sequencer's control API (`None` for the upstream sequencer).
    pub fn control_url(&self) -> Option<&str> {
        self.seq_control_url.as_deref()
    }

    /// The configuration the sequencer runs with.
    pub fn sequencer_config(&self) -> &SequencerConfig {
        &self.config
    }

    /// The sequencer child's pid (`None` for a task or a stopped sequencer).
    pub fn sequencer_pid(&self) -> Option<u32> {
        self.sequencer.as_ref().and_then(RunningSequencer::pid)
    }

    /// The sequencer child's start time in clock ticks (`None` for a task).
    pub fn sequencer_start_time(&self) -> Option<u64> {
        self.sequencer
            .as_ref()
            .and_then(RunningSequencer::start_time)
    }

    /// Whether the sequencer runs as a child process.
    pub fn is_child_mode(&self) -> bool {
        self.child_setup.is_some()
    }

    /// The run id every child carries in `DEVNET_RUN_ID`.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The stack's directories.
    pub fn dirs(&self) -> &StackDirs {
        &self.dirs
    }

    /// How many times the L1 was re-provisioned.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The mining mode.
    pub fn mining(&self) -> Mining {
        self.l1.mining
    }

    /// Every process group this stack has started (for audits).
    pub fn spawned_groups(&self) -> &[u32] {
        &self.spawned
    }

    /// Whether anvil has exited (it is not reaped until the stack is re-provisioned or
    /// dropped).
    pub fn anvil_exited(&self) -> bool {
        !process::is_running(self.devnet.anvil().pid())
    }

    /// If the sequencer child has exited: reaps it and returns how it ended. A task never
    /// exits on its own.
    pub fn sequencer_exit(&mut self) -> Option<ChildExit> {
        let exited = match self.sequencer.as_mut() {
            Some(running) => running.try_exit(),
            None => return None,
        };
        match exited {
            Ok(Some(status)) => {
                self.sequencer = None;
                Some(status)
            }
            Ok(None) => None,
            Err(e) => Some(ChildExit::described(format!("{e:#}"))),
        }
    }

    /// Whether a sequencer is running (not killed, not exited).
    pub fn sequencer_running(&mut self) -> bool {
        self.sequencer_exit();
        self.sequencer.is_some()
    }

    /// Kills the sequencer at once: SIGKILL to a child's group, abort for a task.
    pub fn kill_sequencer(&mut self) {
        if let Some(mut running) = self.sequencer.take() {
            running.kill();
        }
    }

    /// Stops the sequencer (SIGTERM, then SIGKILL after a grace period, for a child) and
    /// leaves it stopped; [`ensure_sequencer`](Self::ensure_sequencer) starts it again.
    pub async fn stop_sequencer(&mut self) -> Result<()> {
        match self.sequencer.take() {
            Some(running) => running.shutdown().await,
            None => Ok(()),
        }
    }

    /// Stops the sequencer (gracefully if it still runs) and starts it again, on the same ports
    /// when they are free. The new sequencer recovers from L1 and its data dir.
    pub async fn restart_sequencer(&mut self) -> Result<()> {
        if let Some(running) = self.sequencer.take() {
            running.shutdown().await?;
        }
        self.start_sequencer(true).await
    }

    /// Rolling replacement of the sequencer child, the L1 untouched: stops it gracefully and
    /// starts `bin` (a `devnet-sequencer` build taking the same flags) in its place, or the
    /// same binary again when `bin` is `None`; later restarts keep the new binary. Returns the
    /// binary that runs now. Only a child can be replaced. When the new binary does not start,
    /// the previous one is kept for later starts (none runs until the next
    /// [`ensure_sequencer`](Self::ensure_sequencer)).
    pub async fn replace_sequencer(&mut self, bin: Option<PathBuf>) -> Result<PathBuf> {
        let Some(setup) = self.child_setup.as_mut() else {
            bail!("the sequencer runs as a task of this process; only a child can be replaced");
        };
        let previous = (setup.bin.clone(), setup.bin_args.clone());
        if let Some(bin) = bin {
            ensure!(bin.is_file(), "no sequencer binary at {}", bin.display());
            setup.bin = bin;
            setup.bin_args.clear();
        }
        let running = setup.bin.clone();
        if let Err(e) = self.restart_sequencer().await {
            // Later restarts go back to the binary that worked.
            if let Some(setup) = self.child_setup.as_mut() {
                (setup.bin, setup.bin_args) = previous;
            }
            return Err(e);
        }
        Ok(running)
    }

    /// Starts the sequencer if none runs (after [`kill_sequencer`](Self::kill_sequencer) or an
    /// exit), on the previous ports when they are free.
    pub async fn ensure_sequencer(&mut self) -> Result<()> {
        if self.sequencer_running() {
            return Ok(());
        }
        self.start_sequencer(true).await
    }

    /// Replaces the L1 with a fresh one (same addresses; all L1 history is lost): stops the
    /// sequencer, starts and provisions a new anvil, wipes the sequencer data and starts the
    /// sequencer again. Bumps [`generation`](Self::generation).
    pub async fn reprovision(&mut self) -> Result<()> {
        if let Some(running) = self.sequencer.take() {
            running.shutdown().await?;
        }
        // The log of the L1 that is being replaced goes aside as the newest rotated file.
        crate::logs::rotate_now(&self.l1.log, self.log_policy.files)?;
        let fresh = self.l1.provision().await?;
        let old = std::mem::replace(&mut self.devnet, fresh);
        old.shutdown().await?;
        self.spawned.push(self.devnet.anvil().pid());
        self.generation += 1;
        self.config.rpc_url = self.devnet.rpc_url().to_owned();
        wipe(&self.dirs.sequencer_data)?;
        self.start_sequencer(false).await
    }

    /// Rewinds the L1 and the sequencer together to the chain dumped at `state` (a snapshot's
    /// `chain.json`), whose head must be `kept`'s: stops the sequencer, starts an anvil on that
    /// chain (logging to `anvil.log.next`), checks the head, stops the old anvil, moves its log
    /// aside as the newest rotated file and the new one's into place, clears the sequencer's
    /// data and starts the sequencer again, which recovers from the rewound chain. Addresses and mining stay; the L1 endpoint changes (a
    /// [`Front`](crate::Front) hides that). When the new anvil does not start or holds another
    /// head, the running L1 stays and the sequencer is started on it again.
    pub async fn restore_chain(&mut self, state: &Path, kept: &crate::persist::Kept) -> Result<()> {
        if let Some(running) = self.sequencer.take() {
            running.shutdown().await?;
        }
        let mut next_log = self.l1.log.clone().into_os_string();
        next_log.push(".next");
        let next_log = PathBuf::from(next_log);
        let fresh = match self.l1.resume_logging_to(state, &next_log).await {
            Ok(fresh) => match crate::persist::verify_resumed(fresh.anvil().provider(), kept).await
            {
                Ok(()) => Ok(fresh),
                Err(e) => {
                    let _ = fresh.shutdown().await;
                    Err(e)
                }
            },
            Err(e) => Err(e),
        };
        let fresh = match fresh {
            Ok(fresh) => fresh,
            Err(e) => {
                // Its output is in the error (the log tail).
                let _ = std::fs::remove_file(&next_log);
                if let Err(again) = self.start_sequencer(true).await {
                    tracing::warn!(target: "devnet::stack", error = %format!("{again:#}"), "the sequencer did not start again on the running L1");
                }
                return Err(e.context("restoring the chain"));
            }
        };
        let old = std::mem::replace(&mut self.devnet, fresh);
        old.shutdown().await?;
        crate::logs::rotate_now(&self.l1.log, self.log_policy.files)?;
        std::fs::rename(&next_log, &self.l1.log).with_context(|| {
            format!(
                "renaming {} to {}",
                next_log.display(),
                self.l1.log.display()
            )
        })?;
        self.spawned.push(self.devnet.anvil().pid());
        self.config.rpc_url = self.devnet.rpc_url().to_owned();
        wipe(&self.dirs.sequencer_data)?;
        self.start_sequencer(true).await
    }

    /// How this stack bounds its logs on restarts and restores.
    pub fn log_policy(&self) -> crate::logs::LogPolicy {
        self.log_policy
    }

    async fn start_sequencer(&mut self, reuse_ports: bool) -> Result<()> {
        let mut config = self.config.clone();
        if reuse_ports && let Some(previous) = &self.sequencer_addrs() {
            config.listen = free_or_ephemeral(previous.0);
            if let Some(control) = previous.1 {
                config.control_listen = free_or_ephemeral(control);
            }
        }
        let running = RunningSequencer::start(&config, self.child_setup.as_ref()).await?;
        if let Some(pid) = running.pid() {
            self.spawned.push(pid);
        }
        self.seq_url = running.url();
        self.seq_control_url = running.control_url();
        self.sequencer = Some(running);
        self.wait_ready().await
    }

    fn sequencer_addrs(&self) -> Option<(SocketAddr, Option<SocketAddr>)> {
        let listen = self.sequencer_addr()?;
        Some((listen, self.seq_control_url.as_deref().and_then(addr_of)))
    }

    /// The sequencer's public API address (of the running or last sequencer).
    pub fn sequencer_addr(&self) -> Option<SocketAddr> {
        addr_of(&self.seq_url)
    }

    /// anvil's JSON-RPC address.
    pub fn anvil_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.devnet.anvil().port()))
    }

    /// Polls `/readyz` until it answers 200.
    /// (The upstream sequencer, which has no control API, is ready once it answers at all.)
    async fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = format!("{}/readyz", self.seq_url);
        let upstream = self.seq_control_url.is_none();
        loop {
            let last = match self.http.get(&url).send().await {
                Ok(reply) if upstream || reply.status().is_success() => return Ok(()),
                Ok(reply) => format!("status {}", reply.status()),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                bail!("the sequencer is not ready ({url}: {last})");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Mines `blocks` blocks.
    pub async fn mine(&self, blocks: u64) -> Result<()> {
        self.devnet.mine(blocks).await
    }

    /// `GET /finalized_state/inclusion_block` → the checkpoint's inclusion block.
    pub async fn finalized_inclusion_block(&self) -> Result<u64> {
        let url = format!("{}/finalized_state/inclusion_block", self.seq_url);
        let reply = self
            .http
            .get(&url)
            .send()
            .await
            .context("GET inclusion_block")?;
        ensure!(reply.status().is_success(), "{url}: {}", reply.status());
        let body: serde_json::Value = serde_json::from_slice(&reply.bytes().await?)
            .with_context(|| format!("parsing {url}"))?;
        body.get("inclusion_block")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| anyhow!("{url} has no inclusion_block: {body}"))
    }

    /// The settle pump: until the finalized checkpoint is past `block`, mines one block every
    /// 20 ms (waits for the interval miner in interval mode). Returns the new inclusion block;
    /// fails after `timeout`.
    pub async fn settle_finalized_past(&self, block: u64, timeout: Duration) -> Result<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.finalized_inclusion_block().await {
                Ok(b) if b > block => return Ok(b),
                Ok(b) => format!("inclusion block {b}"),
                Err(e) => format!("{e:#}"),
            };
            if Instant::now() >= deadline {
                bail!("the finalized checkpoint did not pass block {block} in time ({last})");
            }
            if !matches!(self.l1.mining, Mining::Interval(_)) {
                self.devnet.mine(1).await?;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The sequencer's control `GET /status` (`None` for the upstream sequencer).
    pub async fn control_status(&self) -> Result<Option<serde_json::Value>> {
        let Some(control) = &self.seq_control_url else {
            return Ok(None);
        };
        let reply = self
            .http
            .get(format!("{control}/status"))
            .send()
            .await
            .context("GET /status")?;
        let body = reply.bytes().await.context("reading /status")?;
        Ok(Some(
            serde_json::from_slice(&body).context("parsing /status")?,
        ))
    }

    /// Stops everything in reverse order (sequencer: SIGTERM, 3 s, SIGKILL; then anvil), then
    /// runs the orphan audit: every group started must be gone and no process may carry the
    /// run id. Survivors are killed and reported as an error.
    pub async fn shutdown(self) -> Result<()> {
        let Self {
            sequencer,
            devnet,
            run_id,
            spawned,
            temp,
            keep,
            ..
        } = self;
        let mut first_error = None;
        if let Some(running) = sequencer
            && let Err(e) = running.shutdown().await
        {
            first_error = Some(e);
        }
        if let Err(e) = devnet.shutdown().await {
            first_error.get_or_insert(e);
        }
        let orphans = process::audit(&run_id, &spawned).await;
        if let Some(temp) = temp
            && keep
        {
            let _ = temp.keep();
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        if !orphans.is_empty() {
            return Err(DevnetError::Orphans(orphans).into());
        }
        Ok(())
    }
}

fn addr_of(url: &str) -> Option<SocketAddr> {
    url.strip_prefix("http://")?
        .trim_end_matches('/')
        .parse()
        .ok()
}

fn free_or_ephemeral(addr: SocketAddr) -> SocketAddr {
    match std::net::TcpListener::bind(addr) {
        Ok(probe) => {
            drop(probe);
            addr
        }
        Err(_) => SocketAddr::new(addr.ip(), 0),
    }
}
