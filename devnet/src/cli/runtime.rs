//! `devnet mine`, `devnet reorg` and `devnet fault`: runtime controls of a running devnet,
//! through its supervisor's control API (`POST /v1/l1/mine`, `POST /v1/l1/reorg`,
//! `/v1/faults`). Without a running supervisor they exit 3.
//!
//! - `mine N`: N blocks at once (on top of the mining mode).
//! - `reorg DEPTH`: the newest DEPTH blocks replaced with empty ones (their transactions are
//!   gone; a `reorged` event records the old and new head hashes).
//! - `fault set SPEC…` / `clear` / `list`: the sequencer's faults (`tamper-state`,
//!   `drop-deposit:1`, …, as `up --seq-fault`), armed until it restarts.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::{Args, Subcommand};
use devnet_sequencer::Fault;
use devnet_stack::{ControlClient, DevnetError};
use serde_json::{Value, json};

use super::{API_TIMEOUT, Exit, emit};

/// `devnet mine` options.
#[derive(Debug, Args)]
pub struct MineArgs {
    /// How many blocks (1 to 100000).
    #[arg(value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub blocks: u64,
}

/// `devnet reorg` options.
#[derive(Debug, Args)]
pub struct ReorgArgs {
    /// How many of the newest blocks to replace (at least 1).
    #[arg(value_name = "DEPTH", value_parser = clap::value_parser!(u64).range(1..))]
    pub depth: u64,
}

/// `devnet fault` options.
#[derive(Debug, Args)]
pub struct FaultArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: FaultAction,
}

/// The fault actions.
#[derive(Debug, Subcommand)]
pub enum FaultAction {
    /// Arm these faults in the running sequencer, replacing the armed ones.
    Set {
        /// Fault specs, e.g. `tamper-state`, `drop-deposit:1`, `unavailable`.
        #[arg(required = true, value_name = "SPEC")]
        specs: Vec<Fault>,
    },
    /// Disarm every fault.
    Clear,
    /// List the armed faults.
    List,
}

fn client(dir: &Path) -> Result<ControlClient> {
    ControlClient::connect(dir)?.ok_or_else(|| DevnetError::NotRunning(dir.to_owned()).into())
}

fn print(out: &mut dyn Write, mut line: Value) -> Result<Exit> {
    line["source"] = Value::from("control_api");
    emit(out, &line)?;
    Ok(Exit::Passed)
}

/// Runs `devnet mine`.
pub(super) async fn mine(dir: &Path, args: &MineArgs, out: &mut dyn Write) -> Result<Exit> {
    let body = json!({"blocks": args.blocks});
    let line = client(dir)?
        .post_json("/v1/l1/mine", &body, API_TIMEOUT * 6)
        .await?;
    print(out, line)
}

/// Runs `devnet reorg`.
pub(super) async fn reorg(dir: &Path, args: &ReorgArgs, out: &mut dyn Write) -> Result<Exit> {
    let body = json!({"depth": args.depth});
    let line = client(dir)?
        .post_json("/v1/l1/reorg", &body, API_TIMEOUT)
        .await?;
    print(out, line)
}

/// Runs `devnet fault`.
pub(super) async fn fault(dir: &Path, args: &FaultArgs, out: &mut dyn Write) -> Result<Exit> {
    let client = client(dir)?;
    let line = match &args.action {
        FaultAction::Set { specs } => {
            let specs: Vec<String> = specs.iter().map(ToString::to_string).collect();
            client
                .post_json("/v1/faults", &json!({"set": specs}), API_TIMEOUT)
                .await?
        }
        FaultAction::Clear => client.delete_json("/v1/faults", API_TIMEOUT).await?,
        FaultAction::List => client.get_json("/v1/faults", API_TIMEOUT).await?,
    };
    print(out, line)
}
