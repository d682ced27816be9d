//! `devnet down`: stop a running supervisor, or clean up after a dead one.
//!
//! With the supervisor alive (its lock held): SIGTERM to it (its pid checked against the
//! recorded start time), up to 10 s for the lock to be released, else SIGKILL (its children
//! die with it: parent-death signal). Then, with the lock free: recorded process groups whose
//! leader still matches its start time get SIGTERM, 3 s, SIGKILL; the orphan audit runs; the
//! run's files are removed. Running it again does nothing.
//!
//! `--keep` asks the supervisor (before signalling it) to keep the chain: it stops the
//! sequencer, dumps anvil into `anvil/state.json` and writes `kept.json`; `devnet.json`, the
//! sequencer data and the watchdog state dir stay too, and the next `up` resumes. anvil's cache
//! path goes either way; snapshots are never removed by `down`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use devnet_stack::process::{self, TERM_GRACE};
use devnet_stack::state_file::{ProcessRecord, StateFile, supervisor_alive};
use devnet_stack::{DevnetError, control, persist, wipe};
use rustix::process::Signal;
use serde_json::json;
use tokio::time::Instant;

use super::{Exit, PID_FILE, emit};

/// How long the supervisor gets to tear down after SIGTERM.
const SUPERVISOR_GRACE: Duration = Duration::from_secs(10);

/// `devnet down` options.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// Keep the chain for the next `up` to resume: anvil's state, the sequencer data, the
    /// watchdog state dir and `devnet.json`. Without it, everything but snapshots is removed.
    #[arg(long)]
    pub keep: bool,
}

fn matches(record: &ProcessRecord) -> bool {
    match record.start_time {
        Some(start) => process::is_same_process(record.pid, start),
        None => process::is_running(record.pid),
    }
}

async fn wait_lock_free(dir: &Path, deadline: Instant) -> Result<bool> {
    loop {
        if !supervisor_alive(dir)? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// With everything stopped: removes anvil's cache path, and either the run's data (without
/// `keep`) or nothing else. Returns the kept chain (`null` when none is kept).
fn finish_files(dir: &Path, keep: bool) -> Result<serde_json::Value> {
    persist::take_keep_request(dir);
    persist::remove_anvil_cache(dir)?;
    if keep {
        return Ok(match persist::Kept::read(dir)? {
            Some(kept) => json!({
                "block_number": kept.block_number,
                "block_hash": kept.block_hash,
                "chain_bytes": kept.chain_bytes,
                "path": persist::chain_state_path(dir),
            }),
            None => serde_json::Value::Null,
        });
    }
    persist::remove_anvil_files(dir)?;
    wipe(&dir.join("sequencer-data"))?;
    wipe(&dir.join("watchdog"))?;
    Ok(serde_json::Value::Null)
}

/// Stops the supervisor of `dir` if one holds its lock: SIGTERM, then SIGKILL after the grace
/// period. With `keep`, it is first asked to keep the chain. Returns its pid.
async fn stop_supervisor(dir: &Path, keep: bool) -> Result<Option<u32>> {
    let mut stopped_supervisor = None;
    if supervisor_alive(dir)? {
        let state = StateFile::read(dir)?;
        let supervisor = state.as_ref().map(|s| s.supervisor).filter(matches);
        let Some(supervisor) = supervisor else {
            anyhow::bail!(
                "a supervisor holds {} but its record does not match a live process",
                dir.display()
            );
        };
        if keep {
            persist::request_keep(dir)?;
        }
        process::signal_process(supervisor.pid, Signal::TERM);
        if !wait_lock_free(dir, Instant::now() + SUPERVISOR_GRACE).await? {
            tracing::warn!(target: "devnet::down", pid = supervisor.pid, "the supervisor did not stop in time; killing it");
            if matches(&supervisor) {
                process::signal_process(supervisor.pid, Signal::KILL);
            }
            wait_lock_free(dir, Instant::now() + Duration::from_secs(5)).await?;
        }
        stopped_supervisor = Some(supervisor.pid);
    }
    Ok(stopped_supervisor)
}

/// Stops the recorded process groups of the run in `dir` whose leaders still match, and runs
/// the orphan audit. Returns the groups and the orphans (killed).
pub(super) async fn stop_children(state: &StateFile) -> (Vec<u32>, Vec<u32>) {
    let mut groups = Vec::new();
    for component in [&state.components.anvil, &state.components.sequencer] {
        if let Some(record) = component.process {
            groups.push(record.pid);
            if matches(&record) {
                process::stop_foreign_group(record.pid, TERM_GRACE).await;
            }
        }
    }
    let orphans = process::audit(&state.run_id, &[]).await;
    (groups, orphans)
}

/// Stops whatever runs in `dir` (supervisor, then recorded children) and audits; removes
/// nothing. Returns the orphans.
pub(super) async fn stop_all(dir: &Path) -> Result<Vec<u32>> {
    stop_supervisor(dir, false).await?;
    let Some(state) = StateFile::read(dir)? else {
        return Ok(Vec::new());
    };
    Ok(stop_children(&state).await.1)
}

/// Stops the devnet in `dir`.
pub(super) async fn down(dir: &Path, args: &DownArgs, out: &mut dyn Write) -> Result<Exit> {
    let stopped_supervisor = stop_supervisor(dir, args.keep).await?;
    for leftover in [PID_FILE, control::SOCKET_FILE] {
        let _ = std::fs::remove_file(dir.join(leftover));
    }
    let Some(state) = StateFile::read(dir)? else {
        let kept = finish_files(dir, args.keep)?;
        emit(
            out,
            &json!({"stopped": stopped_supervisor.is_some(), "state_dir": dir, "orphans": [], "kept": kept}),
        )?;
        return Ok(Exit::Passed);
    };
    let (groups, orphans) = stop_children(&state).await;
    let kept = finish_files(dir, args.keep)?;
    if !args.keep {
        match std::fs::remove_file(StateFile::path(dir)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    emit(
        out,
        &json!({
            "stopped": stopped_supervisor.is_some() || !groups.is_empty(),
            "supervisor_pid": stopped_supervisor,
            "state_dir": dir,
            "run_id": state.run_id,
            "orphans": orphans,
            "kept": kept,
        }),
    )?;
    if !orphans.is_empty() {
        return Err(DevnetError::Orphans(orphans).into());
    }
    Ok(Exit::Passed)
}
