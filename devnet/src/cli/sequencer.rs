//! `devnet sequencer …`: the devnet sequencer in the foreground, with the flags of
//! `devnet-sequencer` (one JSON announcement line on stdout, SIGINT/SIGTERM stop it). `up` runs
//! it this way when no `devnet-sequencer` binary sits next to `devnet`.

use std::io::Write;

use anyhow::Result;
use devnet_sequencer::{Args, Sequencer, UpstreamSequencer, shutdown_signal};

use super::{Exit, emit};

/// Runs the sequencer until a signal (or the upstream binary's exit).
pub(super) async fn sequencer(args: Args, out: &mut dyn Write) -> Result<Exit> {
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
