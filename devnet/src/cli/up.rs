//! `devnet up`: the foreground supervisor. A chain kept by `devnet down --keep` in the state
//! directory is resumed (same addresses, the block numbers continue); one kept by other pins is
//! refused (exit 3).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;
use devnet_sequencer::Fault;
use devnet_stack::logs::LogPolicy;
use devnet_stack::{
    ANVIL_BIN_ENV, Mining, Outcome, RestartPolicy, SEQUENCER_BIN_ENV, Supervisor, UpOptions,
};
use serde_json::json;
use tokio::signal::unix::{SignalKind, signal};

use super::{Exit, emit};

/// `devnet up` options.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Mining after deployment: `auto`, `manual` or `interval:N` (a block every N seconds).
    #[arg(long, default_value = "interval:1", value_name = "M")]
    pub mining: Mining,
    /// `devnet` (the built-in sequencer) or the path of an upstream sequencer binary (run
    /// through `devnet-sequencer --sequencer PATH`; untested here).
    #[arg(long, default_value = "devnet", value_name = "devnet|PATH")]
    pub sequencer: String,
    /// A sequencer fault to arm at start (repeatable), e.g. `tamper-state`.
    #[arg(long = "seq-fault", value_name = "SPEC")]
    pub seq_faults: Vec<Fault>,
    /// Serve the legacy `l2_tx_index` response shape.
    #[arg(long)]
    pub legacy_shape: bool,
    /// The anvil binary (default: the pinned install, installed on first use).
    #[arg(long, env = ANVIL_BIN_ENV, value_name = "PATH")]
    pub anvil: Option<PathBuf>,
    /// The `devnet-sequencer` binary (default: next to this executable).
    #[arg(long, env = SEQUENCER_BIN_ENV, value_name = "PATH")]
    pub sequencer_bin: Option<PathBuf>,
    /// The sequencer's L1 poll period in milliseconds.
    #[arg(long, default_value_t = 200, value_name = "MS")]
    pub poll_ms: u64,
    /// Give up on a component after this many restarts within 10 minutes.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_restarts: u32,
    /// Keep the chain when stopped (as `devnet down --keep` does), for the next `up` to resume.
    #[arg(long)]
    pub keep: bool,
    /// Historical block states anvil keeps, in memory only; reads at older blocks fail. `0`
    /// lets anvil use its own default (500 in memory, then up to 3600 on disk below
    /// `anvil/cache/`, each as large as the whole state).
    #[arg(long, default_value_t = devnet_stack::DEFAULT_STATE_HISTORY, value_name = "N")]
    pub l1_history: usize,
    /// Run the supervisor in the background (own session, `supervisor.pid`,
    /// `logs/supervisor.log`); print the status once ready, exit 0. Stop it with `devnet down`.
    #[arg(long)]
    pub detach: bool,
    /// With `--detach`: how long to wait for the devnet to be ready before stopping it again.
    #[arg(long, default_value_t = 180, value_name = "SECS")]
    pub ready_timeout: u64,
    /// Under interval mining: how long the sequencer's checkpoint may stand still while the L1
    /// holds inputs it has not finalized before the devnet is `degraded`.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub stall_after: u64,
    /// Rotate `logs/anvil.log`, `sequencer.log` and `supervisor.log` once larger than this
    /// (checked every second).
    #[arg(long, default_value_t = LogPolicy::default().max_bytes, value_name = "BYTES")]
    pub log_max_bytes: u64,
    /// The L1's chain id (the contracts land at the same addresses; the sequencer signs and
    /// checks ops for it; a kept chain resumes only with the chain id it was kept with).
    #[arg(long, default_value_t = devnet_pins::CHAIN_ID, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub chain_id: u64,
    /// Rotated files kept per log (`anvil.log.1` … `anvil.log.N`); `logs` reads across them.
    #[arg(long, default_value_t = LogPolicy::default().files, value_name = "N")]
    pub log_files: usize,
}

impl UpArgs {
    fn options(self, dir: &Path) -> UpOptions {
        let mut options = UpOptions::new(dir);
        options.mining = self.mining;
        if self.sequencer != "devnet" {
            options.upstream = Some(PathBuf::from(self.sequencer));
        }
        options.faults = self.seq_faults;
        options.legacy_shape = self.legacy_shape;
        options.anvil_bin = self.anvil;
        options.sequencer_bin = self.sequencer_bin;
        options.poll_interval = Duration::from_millis(self.poll_ms.max(1));
        options.keep = self.keep;
        options.state_history = (self.l1_history > 0).then_some(self.l1_history);
        options.stall_after = Duration::from_secs(self.stall_after.max(1));
        options.chain_id = self.chain_id;
        options.logs = LogPolicy {
            max_bytes: self.log_max_bytes.max(1),
            files: self.log_files,
        };
        options.restart = RestartPolicy {
            max_restarts: self.max_restarts,
            ..RestartPolicy::default()
        };
        options
    }
}

/// Runs the supervisor until SIGINT/SIGTERM or until a component gives up.
pub(super) async fn up(dir: &Path, args: UpArgs, out: &mut dyn Write) -> Result<Exit> {
    if args.detach {
        let dir =
            std::path::absolute(dir).with_context(|| format!("resolving {}", dir.display()))?;
        let timeout = Duration::from_secs(args.ready_timeout.max(1));
        return super::detach::up_detached(&dir, timeout, out).await;
    }
    // Installed before bring-up, so a signal during it is not lost (nor fatal).
    let mut term = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing a SIGINT handler")?;
    let mut handle = Supervisor::start(args.options(dir)).await?;
    let state = handle.state();
    emit(
        out,
        &json!({
            "state": state.state,
            "state_dir": state.state_dir,
            "run_id": state.run_id,
            "endpoints": state.endpoints,
            "addresses": state.addresses,
            "ready_after_ms": state.ready_after_ms,
            "resumed": handle.resumed().map(|kept| json!({
                "block_number": kept.block_number,
                "block_hash": kept.block_hash,
                "kept_by": kept.run_id,
            })),
        }),
    )?;
    let ended = tokio::select! {
        outcome = handle.wait() => Some(outcome),
        _ = term.recv() => None,
        _ = int.recv() => None,
    };
    let outcome = match ended {
        Some(outcome) => outcome?,
        None => {
            tracing::info!(target: "devnet::supervisor", "signal received");
            handle.shutdown().await?
        }
    };
    let (exit, outcome_json) = match &outcome {
        Outcome::Stopped => (Exit::Passed, json!({"outcome": "stopped"})),
        Outcome::Degraded { component, reason } => (
            Exit::Failed,
            json!({"outcome": "degraded", "component": component, "reason": reason}),
        ),
    };
    let mut line = json!({"state": "stopped"});
    if let (Some(line), Some(extra)) = (line.as_object_mut(), outcome_json.as_object()) {
        line.extend(extra.clone());
    }
    emit(out, &line)?;
    Ok(exit)
}
