//! The `devnet up` supervisor: brings a [`LocalStack`] up in a state directory (anvil, the
//! contracts, the `devnet-sequencer` child), exposes it through stable [`Front`](crate::Front)s, restarts
//! crashed children with exponential backoff and a limit, checks health, persists everything in
//! `devnet.json` and tears down in reverse order with an orphan audit.
//!
//! - **Sequencer exit**: restarted after the backoff on its previous ports when free; it
//!   recovers from L1 and its data dir, so it serves the same finalized state.
//! - **anvil exit**: the L1 is re-provisioned (same addresses, new history), the sequencer data
//!   wiped and the sequencer restarted; `generation` is bumped (re-run `sequencer-watchdog
//!   init`).
//! - **Too many exits** ([`RestartPolicy`]): the component is `failed`, the supervisor
//!   `degraded`; it tears down and [`Outcome::Degraded`] is returned (`up` exits 1).
//! - **Chain halt** (interval mining): the L1 head stops advancing, or the sequencer's
//!   checkpoint stops moving while the L1 holds inputs it has not finalized → `degraded` (an
//!   event), and `ready` again (`recovered`) once both move.
//! - **Control**: the [`control`] API on `control.sock` serves the state, logs and [`events`],
//!   sends transactions, saves, lists and removes snapshots, rewinds the running stack to a
//!   snapshot (anvil restarted on its chain, the sequencer on cleared data), and replaces the
//!   sequencer on request (a rolling restart; the L1 keeps running).
//! - **Logs**: `logs/anvil.log`, `sequencer.log` and `supervisor.log` are rotated past a size
//!   cap, a few rotated files kept ([`LogPolicy`](crate::logs::LogPolicy)).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use devnet_pins::CHAIN_ID;
use devnet_sequencer::{Fault, ResponseShape};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::error::DevnetError;
use crate::local::{LocalStack, Mining, SequencerMode, StackDirs, wipe};
use crate::state_file::{
    Addresses, Component, Components, Endpoints, ProcessRecord, RunState, STATE_FORMAT, StateFile,
    SupervisorLock, Versions, account_roles, create_private_dir, now_ms,
};
use crate::{persist, process};

pub mod control;
pub mod events;
mod health;
mod restart;
mod runner;

pub use restart::{Decision, RestartPolicy, RestartTracker};

use control::{ControlServer, ControlState};
use events::{EventKind, EventLog};

/// Options of `devnet up`.
#[derive(Clone, Debug)]
pub struct UpOptions {
    /// The state directory.
    pub state_dir: PathBuf,
    /// Mining after deployment (default `interval:1`).
    pub mining: Mining,
    /// The `devnet-sequencer` binary (default: next to the running executable).
    pub sequencer_bin: Option<PathBuf>,
    /// Run this upstream sequencer instead (untested here).
    pub upstream: Option<PathBuf>,
    /// The anvil binary (default: `$DEVNET_ANVIL_BIN`, else the pinned install).
    pub anvil_bin: Option<PathBuf>,
    /// Sequencer faults armed at start.
    pub faults: Vec<Fault>,
    /// Serve the legacy `l2_tx_index` shape.
    pub legacy_shape: bool,
    /// The sequencer's L1 poll period.
    pub poll_interval: Duration,
    /// The sequencer's batch-open limit.
    pub batch_interval: Duration,
    /// Keep the chain (anvil's state, the sequencer data, the watchdog state dir) after exit,
    /// for the next `up` to resume ([`persist`](crate::persist)).
    pub keep: bool,
    /// Historical states anvil keeps in memory (`None`: anvil's default, which writes evicted
    /// states to disk below `anvil/cache/`).
    pub state_history: Option<usize>,
    /// When crashed children are restarted.
    pub restart: RestartPolicy,
    /// How often health is checked.
    pub health_interval: Duration,
    /// Under interval mining: how long the sequencer's checkpoint may stand still while the L1
    /// holds inputs it has not finalized before the stack is `degraded`.
    pub stall_after: Duration,
    /// How the logs (`anvil.log`, `sequencer.log`, `supervisor.log`) are bounded.
    pub logs: crate::logs::LogPolicy,
    /// The L1's chain id (default the devnet's 31337); the sequencer signs and checks ops for
    /// it, and a kept chain resumes only with the same one.
    pub chain_id: u64,
}

impl UpOptions {
    /// Defaults for a state directory: interval mining every second, the pinned tools, the
    /// default restart policy, health every 2 s.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            state_dir: state_dir.into(),
            mining: Mining::Interval(1),
            sequencer_bin: None,
            upstream: None,
            anvil_bin: None,
            faults: Vec::new(),
            legacy_shape: false,
            poll_interval: Duration::from_millis(200),
            batch_interval: Duration::from_secs(2),
            keep: false,
            state_history: Some(crate::DEFAULT_STATE_HISTORY),
            restart: RestartPolicy::default(),
            health_interval: Duration::from_secs(2),
            stall_after: Duration::from_secs(30),
            logs: crate::logs::LogPolicy::default(),
            chain_id: CHAIN_ID,
        }
    }
}

/// How a supervisor ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stopped on request (signal, [`SupervisorHandle::shutdown`]).
    Stopped,
    /// A component exhausted its restarts.
    Degraded {
        /// `anvil` or `sequencer`.
        component: String,
        /// Its last failure.
        reason: String,
    },
}

/// Starts supervisors.
#[derive(Debug)]
pub struct Supervisor;

impl Supervisor {
    /// Takes the state directory's lock, brings the stack up, writes `devnet.json` (`ready`)
    /// and spawns the supervision loop on the current runtime.
    ///
    /// Errors are [`DevnetError::AlreadyRunning`] or [`DevnetError::BringUp`] (the state file
    /// then says `failed`).
    pub async fn start(options: UpOptions) -> Result<SupervisorHandle> {
        let started = Instant::now();
        let dir = std::path::absolute(&options.state_dir)
            .with_context(|| format!("resolving {}", options.state_dir.display()))?;
        create_private_dir(&dir)?;
        let lock = SupervisorLock::acquire(&dir, Duration::from_secs(1)).map_err(|_| {
            let pid = StateFile::read(&dir)
                .ok()
                .flatten()
                .map(|s| s.supervisor.pid);
            DevnetError::AlreadyRunning {
                dir: dir.clone(),
                pid,
            }
        })?;
        let dirs = StackDirs::under(&dir);
        persist::take_keep_request(&dir);
        // A kept chain is resumed with the sequencer data and the watchdog state of its run; a
        // fresh L1 makes everything of a previous run stale.
        let resume = persist::resumable(&dir, Some(options.chain_id))?;
        if resume.is_none() {
            wipe(&dirs.sequencer_data)?;
            wipe(&dir.join("watchdog"))?;
            persist::remove_anvil_files(&dir)?;
        }
        for stale in ["sequencer.log", "sequencer.stdout"] {
            let _ = std::fs::remove_file(dirs.logs.join(stale));
        }
        create_private_dir(&dirs.logs)?;

        let events = EventLog::create(&dir);
        // A resumed chain is served on the endpoints of the run that kept it, when free.
        let previous = resume
            .as_ref()
            .and_then(|_| StateFile::read(&dir).ok().flatten())
            .map(|s| s.endpoints);
        let l1_front = persist::reopen_front(previous.as_ref().map(|e| e.l1_rpc.as_str())).await?;
        let seq_front =
            persist::reopen_front(previous.as_ref().map(|e| e.sequencer.as_str())).await?;
        let run_id = process::new_run_id();
        let me = std::process::id();
        let mut state = StateFile {
            format: STATE_FORMAT,
            run_id: run_id.clone(),
            state: RunState::Starting,
            generation: 0,
            state_dir: dir.clone(),
            supervisor: ProcessRecord {
                pid: me,
                start_time: process::start_time(me),
            },
            chain_id: options.chain_id,
            mining: options.mining.to_string(),
            endpoints: Endpoints {
                l1_rpc: l1_front.url(),
                sequencer: seq_front.url(),
            },
            addresses: None,
            accounts: account_roles(),
            versions: Versions::default(),
            components: Components {
                anvil: Component::starting(dirs.logs.join("anvil.log")),
                sequencer: Component::starting(dirs.logs.join("sequencer.log")),
            },
            reason: None,
            started_at_ms: now_ms(),
            ready_after_ms: None,
            updated_at_ms: 0,
        };
        state.write(&dir)?;
        let (publish, subscription) = watch::channel(state.clone());
        let (requests, requests_rx) = mpsc::channel(16);
        let control = ControlServer::start(ControlState {
            dir: dir.clone(),
            state: subscription.clone(),
            events: events.clone(),
            requests,
        })?;
        events.emit(EventKind::Started {
            run_id: run_id.clone(),
            pid: me,
        });

        let resumed = resume.as_ref().map(|(kept, _)| kept.clone());
        let stack = match bring_up(&options, &dir, &run_id, resume).await {
            Ok(stack) => match application_safe(&stack, options.mining, SAFE_TIMEOUT).await {
                Ok(()) => stack,
                Err(e) => {
                    state.state = RunState::Failed;
                    state.reason = Some(format!("{e:#}"));
                    let _ = state.write(&dir);
                    return Err(DevnetError::BringUp(e).into());
                }
            },
            Err(e) => {
                state.state = RunState::Failed;
                state.reason = Some(format!("{e:#}"));
                let _ = state.write(&dir);
                publish.send_replace(state.clone());
                events.emit(EventKind::Failed {
                    reason: format!("{e:#}"),
                });
                events.emit(EventKind::Stopped);
                control.close();
                return Err(DevnetError::BringUp(e).into());
            }
        };
        l1_front.set_target(Some(stack.anvil_addr()));
        seq_front.set_target(stack.sequencer_addr());
        state.addresses = Some(Addresses::from(stack.devnet().deployment()));
        runner::record_anvil(&mut state.components.anvil, &stack);
        runner::record_sequencer(&mut state.components.sequencer, &stack);
        state.state = RunState::Ready;
        let ready_after_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(0);
        state.ready_after_ms = Some(ready_after_ms);
        state.write(&dir)?;
        let resumed_kept = resumed.clone();
        if let Some(kept) = resumed {
            // The chain lives in anvil again; a later `down --keep` dumps it anew.
            persist::discard_kept(&dir)?;
            tracing::info!(target: "devnet::supervisor", block = kept.block_number, kept_by = %kept.run_id, "resumed the kept chain");
            events.emit(EventKind::Resumed {
                block_number: kept.block_number,
                block_hash: kept.block_hash,
                kept_by: kept.run_id,
            });
        }
        publish.send_replace(state.clone());
        events.emit(EventKind::Ready { ready_after_ms });
        tracing::info!(
            target: "devnet::supervisor",
            l1 = %state.endpoints.l1_rpc,
            sequencer = %state.endpoints.sequencer,
            ready_ms = state.ready_after_ms,
            "devnet ready"
        );

        let (stop, stopped) = watch::channel(false);
        let runner = runner::Runner::new(runner::Parts {
            dir,
            stack,
            l1_front,
            seq_front,
            state,
            publish,
            lock,
            policy: options.restart,
            health_interval: options.health_interval,
            stall_after: options.stall_after,
            logs: options.logs,
            keep: options.keep,
            events,
            control,
            requests: requests_rx,
        });
        let task = tokio::spawn(runner.run(stopped));
        Ok(SupervisorHandle {
            resumed: resumed_kept,
            state: subscription,
            stop,
            task: Some(task),
            finished: None,
        })
    }
}

/// How long bring-up waits for the application to be under the L1 `safe` head.
const SAFE_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits until the application's deployment block is at or below the L1 `safe` head, so that
/// a watchdog `init` against a `ready` devnet finds the application at its head tag. Under
/// automine and manual mining nothing else would move the head, so it mines empty blocks (one
/// per poll); under interval mining it only waits.
async fn application_safe(stack: &LocalStack, mining: Mining, timeout: Duration) -> Result<()> {
    use alloy::eips::BlockNumberOrTag;
    use alloy::providers::Provider as _;

    let target = stack.devnet().deployment().application_block;
    let provider = stack.devnet().provider();
    let deadline = Instant::now() + timeout;
    loop {
        let safe = provider
            .get_block_by_number(BlockNumberOrTag::Safe)
            .await
            .context("eth_getBlockByNumber(safe)")?
            .map(|block| block.header.number);
        if safe.is_some_and(|safe| safe >= target) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the L1 safe block ({}) did not reach the application's deployment block {target} within {timeout:?}",
            safe.map_or_else(|| "none".to_owned(), |n| n.to_string())
        );
        match mining {
            Mining::Interval(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Mining::Auto | Mining::Manual => stack.mine(1).await?,
        }
    }
}

async fn bring_up(
    options: &UpOptions,
    dir: &std::path::Path,
    run_id: &str,
    resume: Option<(persist::Kept, PathBuf)>,
) -> Result<LocalStack> {
    let mut builder = LocalStack::builder()
        .dir(dir)
        .run_id(run_id)
        .mining(options.mining)
        .state_history(options.state_history)
        .log_policy(options.logs)
        .chain_id(options.chain_id)
        .sequencer(SequencerMode::Child {
            bin: options.sequencer_bin.clone(),
            upstream: options.upstream.clone(),
        });
    if let Some(bin) = &options.anvil_bin {
        builder = builder.anvil_bin(bin);
    }
    if let Some((_, state)) = &resume {
        builder = builder.resume(state);
    }
    let faults = options.faults.clone();
    let legacy = options.legacy_shape;
    let poll = options.poll_interval;
    let batch = options.batch_interval;
    let stack = builder
        .configure_sequencer(move |config| {
            config.faults = faults;
            config.poll_interval = poll;
            config.batch_interval = batch;
            if legacy {
                config.shape = ResponseShape::Legacy;
            }
        })
        .start()
        .await?;
    if let Some((kept, _)) = &resume {
        persist::verify_resumed(stack.devnet().anvil().provider(), kept).await?;
    }
    Ok(stack)
}

/// A running supervisor. Dropping it asks the loop to tear down (which completes if the runtime
/// keeps running; otherwise the children are killed as the loop is dropped).
#[derive(Debug)]
pub struct SupervisorHandle {
    resumed: Option<persist::Kept>,
    state: watch::Receiver<StateFile>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<Result<Outcome>>>,
    finished: Option<Outcome>,
}

impl SupervisorHandle {
    /// The current state (what `devnet.json` holds).
    pub fn state(&self) -> StateFile {
        self.state.borrow().clone()
    }

    /// The kept chain this supervisor resumed (`None`: it started at genesis).
    pub fn resumed(&self) -> Option<&persist::Kept> {
        self.resumed.as_ref()
    }

    /// A receiver that sees every state change.
    pub fn subscribe(&self) -> watch::Receiver<StateFile> {
        self.state.clone()
    }

    /// Waits (up to `timeout`) until the state satisfies `pred`; returns that state.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl FnMut(&StateFile) -> bool,
    ) -> Result<StateFile> {
        let mut rx = self.state.clone();
        let state = tokio::time::timeout(timeout, rx.wait_for(pred))
            .await
            .context("timed out waiting for the supervisor state")?
            .context("the supervisor is gone")?;
        Ok(state.clone())
    }

    /// Waits until the loop ends by itself (a degraded component) or after a stop request.
    /// Cancel-safe: a `select!` may drop this future and call it again.
    pub async fn wait(&mut self) -> Result<Outcome> {
        if let Some(outcome) = &self.finished {
            return Ok(outcome.clone());
        }
        let task = self
            .task
            .as_mut()
            .context("the supervision loop already ended with an error")?;
        let joined = task.await;
        self.task = None;
        let outcome = joined.context("the supervision loop panicked")??;
        self.finished = Some(outcome.clone());
        Ok(outcome)
    }

    /// Asks the loop to stop, then waits for the teardown.
    pub async fn shutdown(mut self) -> Result<Outcome> {
        self.stop.send_replace(true);
        self.wait().await
    }
}

impl Drop for SupervisorHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
