//! `devnet snapshot save|restore|list|remove`: named snapshots of the whole stack for
//! repeatable drills (L1 and sequencer together, see [`devnet_stack::snapshot`]).
//!
//! - `save NAME [--force]`: from the running devnet (what is on L1 at that moment),
//!   else from the chain `down --keep` kept.
//! - `restore NAME`: on a running devnet, rewinds it in place: the sequencer stops, anvil
//!   restarts on the snapshot's chain (the endpoints stay), the sequencer restarts on cleared
//!   data and recovers from that chain (events `restoring`, `restored`); a chain anvil cannot
//!   load is refused (`restore_failed`) and the devnet runs on as it was. On a stopped devnet,
//!   the snapshot becomes the kept chain, the sequencer's data is cleared, and the next
//!   `devnet up` resumes there. Either way L1 and sequencer are rewound together.
//! - `list`, `remove NAME`.
//!
//! With a running supervisor every action goes through its control API (`/v1/snapshots…`,
//! `"source": "control_api"`); otherwise, or when the socket does not answer, the files of the
//! state directory are used (`"source": "files"`; a running devnet whose API does not answer
//! is saved from `devnet.json` and cannot be restored).

use std::io::Write;
use std::path::Path;

use std::time::Duration;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use devnet_stack::snapshot;
use devnet_stack::state_file::{RunState, StateFile, supervisor_alive};
use devnet_stack::{ControlClient, ControlError};
use serde_json::{Value, json};

use super::{Exit, emit};

/// How long a save or restore through the control API may take (a long chain dumps and loads
/// slowly).
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(300);

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
    /// Rewind the running devnet (L1 and sequencer) to NAME; on a stopped one, make NAME the
    /// chain the next `devnet up` resumes.
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
    if let Some(client) = ControlClient::connect(dir)? {
        let answer = match &args.action {
            SnapshotAction::Save { name, force } => {
                let path = format!("/v1/snapshots/{name}");
                client
                    .post_json(&path, &json!({"force": force}), SNAPSHOT_TIMEOUT)
                    .await
            }
            SnapshotAction::Restore { name } => {
                let path = format!("/v1/snapshots/{name}/restore");
                client.post_json(&path, &json!({}), SNAPSHOT_TIMEOUT).await
            }
            SnapshotAction::List => client.get_json("/v1/snapshots", super::API_TIMEOUT).await,
            SnapshotAction::Remove { name } => {
                let path = format!("/v1/snapshots/{name}");
                client.delete_json(&path, super::API_TIMEOUT).await
            }
        };
        match answer {
            Ok(mut line) => {
                line["source"] = Value::from("control_api");
                emit(out, &line)?;
                return Ok(Exit::Passed);
            }
            Err(e)
                if e.downcast_ref::<ControlError>()
                    .is_some_and(ControlError::unsent) =>
            {
                tracing::debug!(target: "devnet::snapshot", error = %format!("{e:#}"), "the control API is unreachable; using the files");
            }
            Err(e) => return Err(e),
        }
    }
    let mut line = match &args.action {
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
            json!({"saved": info})
        }
        SnapshotAction::Restore { name } => {
            if supervisor_alive(dir)? {
                bail!(
                    "the devnet in {} runs but its control API does not answer: stop it (`devnet down`), restore, then `devnet up` resumes the snapshot",
                    dir.display()
                );
            }
            let info = snapshot::restore(dir, name)?;
            json!({"restored": info, "next": "devnet up resumes it"})
        }
        SnapshotAction::List => json!({"snapshots": snapshot::list(dir)?}),
        SnapshotAction::Remove { name } => {
            snapshot::remove(dir, name)?;
            json!({"removed": name})
        }
    };
    line["source"] = Value::from("files");
    emit(out, &line)?;
    Ok(Exit::Passed)
}
