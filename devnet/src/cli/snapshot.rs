//! `devnet snapshot save|restore|list|remove`: named snapshots of the whole stack for
//! repeatable drills (L1 and sequencer together, see [`devnet_stack::snapshot`]).
//!
//! - `save NAME [--force]`: from the running devnet (what is on L1 at that moment),
//!   else from the chain `down --keep` kept.
//! - `restore NAME`: on a stopped devnet; the snapshot becomes the kept chain, the sequencer's
//!   data is cleared, and the next `devnet up` resumes there (L1 and sequencer rewound).
//! - `list`, `remove NAME`.

use std::io::Write;
use std::path::Path;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use devnet_stack::snapshot;
use devnet_stack::state_file::{RunState, StateFile, supervisor_alive};
use serde_json::json;

use super::{Exit, emit};

/// `devnet snapshot` options.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: SnapshotAction,
}

/// The snapshot actions.
#[derive(Debug, Subcommand)]
pub enum SnapshotAction {
    /// Save the devnet (running, or kept by `down --keep`) as NAME.
    Save {
        /// 1 to 64 letters, digits, `.`, `_` or `-`.
        name: String,
        /// Replace a snapshot of that name.
        #[arg(long)]
        force: bool,
    },
    /// Make NAME the chain the next `devnet up` resumes (the devnet must be stopped).
    Restore {
        /// The snapshot.
        name: String,
    },
    /// List the snapshots.
    List,
    /// Remove a snapshot.
    Remove {
        /// The snapshot.
        name: String,
    },
}

/// Runs `devnet snapshot`.
pub(super) async fn snapshot(dir: &Path, args: &SnapshotArgs, out: &mut dyn Write) -> Result<Exit> {
    match &args.action {
        SnapshotAction::Save { name, force } => {
            let info = if supervisor_alive(dir)? {
                let state = StateFile::read(dir)?
                    .filter(|s| s.state == RunState::Ready)
                    .ok_or_else(|| {
                        anyhow::anyhow!("the devnet in {} is not ready", dir.display())
                    })?;
                snapshot::save_running(dir, &state, name, *force).await?
            } else {
                snapshot::save_kept(dir, name, *force).await?
            };
            emit(out, &json!({"saved": info}))?;
        }
        SnapshotAction::Restore { name } => {
            if supervisor_alive(dir)? {
                bail!(
                    "the devnet in {} is running: stop it first (`devnet down`), restore, then `devnet up` resumes the snapshot",
                    dir.display()
                );
            }
            let info = snapshot::restore(dir, name)?;
            emit(
                out,
                &json!({"restored": info, "next": "devnet up resumes it"}),
            )?;
        }
        SnapshotAction::List => {
            emit(out, &json!({"snapshots": snapshot::list(dir)?}))?;
        }
        SnapshotAction::Remove { name } => {
            snapshot::remove(dir, name)?;
            emit(out, &json!({"removed": name}))?;
        }
    }
    Ok(Exit::Passed)
}
