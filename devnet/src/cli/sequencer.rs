//! `devnet sequencer …`: the devnet sequencer in the foreground, with the flags of
//! `devnet-sequencer` (one JSON announcement line on stdout, SIGINT/SIGTERM stop it). `up` runs
//! it this way when no `devnet-sequencer` binary sits next to `devnet`.
//!
//! `devnet sequencer restart [--binary PATH]` instead asks the running supervisor (control
//! API) to replace its sequencer: a rolling restart, the L1 untouched.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use devnet_sequencer::{Sequencer, UpstreamSequencer, shutdown_signal};
use devnet_stack::{ControlClient, DevnetError};
use serde_json::json;

use super::{Exit, emit};

/// How long a replacement may take (the new sequencer recovers from L1 before it answers).
const RESTART_TIMEOUT: Duration = Duration::from_secs(120);

/// `devnet sequencer`: run one in the foreground (the flags of `devnet-sequencer`), or act on
/// the running devnet's.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SequencerArgs {
    /// What to do with the running devnet's sequencer.
    #[command(subcommand)]
    pub action: Option<SequencerAction>,
    /// The sequencer's flags, to run one in the foreground.
    #[command(flatten)]
    pub run: Option<devnet_sequencer::Args>,
}

/// Actions on the running devnet's sequencer.
#[derive(Debug, Subcommand)]
pub enum SequencerAction {
    /// Replace the running devnet's sequencer (the L1 keeps running): stop it gracefully and
    /// start the same binary, or `--binary PATH` (another `devnet-sequencer` build taking the
    /// same flags), which later restarts keep using.
    Restart(RestartArgs),
}

/// `devnet sequencer restart` options.
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// The sequencer binary to run from now on.
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
}

/// `devnet sequencer …`.
pub(super) async fn sequencer(
    dir: &Path,
    args: SequencerArgs,
    out: &mut dyn Write,
) -> Result<Exit> {
    match (args.action, args.run) {
        (Some(SequencerAction::Restart(restart)), _) => restart_running(dir, &restart, out).await,
        (None, Some(run)) => foreground(run, out).await,
        (None, None) => anyhow::bail!(
            "`devnet sequencer` needs the sequencer's flags (--rpc-url, --app, …) or `restart`"
        ),
    }
}

async fn restart_running(dir: &Path, args: &RestartArgs, out: &mut dyn Write) -> Result<Exit> {
    let client =
        ControlClient::connect(dir)?.ok_or_else(|| DevnetError::NotRunning(dir.to_owned()))?;
    let binary = args
        .binary
        .as_deref()
        .map(std::path::absolute)
        .transpose()
        .context("resolving --binary")?;
    let answer = client
        .post_json(
            "/v1/sequencer/restart",
            &json!({"binary": binary}),
            RESTART_TIMEOUT,
        )
        .await?;
    emit(out, &answer)?;
    Ok(Exit::Passed)
}

/// Runs the sequencer until a signal (or the upstream binary's exit).
async fn foreground(args: devnet_sequencer::Args, out: &mut dyn Write) -> Result<Exit> {
    let config = args.config()?;
    if let Some(bin) = &args.upstream {
        let upstream = UpstreamSequencer::spawn(&config, bin)?;
        emit(out, &upstream.announcement())?;
        let status = upstream.wait().await?;
        return Ok(if status.success() {
            Exit::Passed
        } else {
            Exit::Failed
        });
    }
    let handle = Sequencer::start(config).await?;
    emit(out, &handle.announcement())?;
    shutdown_signal().await?;
    tracing::info!(target: "devnet::sequencer", "shutting down");
    handle.shutdown().await?;
    Ok(Exit::Passed)
}
