//! `devnet up --detach`: the supervisor in the background.
//!
//! This program runs itself again with the same arguments but `--detach`, in a new session
//! (`setsid`: no controlling terminal, its own process group), stdin from `/dev/null`, stdout
//! and stderr appended to `logs/supervisor.log`, the state directory passed down in
//! `DEVNET_STATE_DIR`; its pid goes to `supervisor.pid`. Then it waits until `devnet.json` of
//! that supervisor says `ready` and prints the status, exit 0. If the supervisor exits first,
//! or is not ready in time (it is then stopped, and everything it started with it), the exit is
//! non-zero with the reason and the log tail.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use devnet_stack::DevnetError;
use devnet_stack::process::{self, last_lines};
use devnet_stack::state_file::{
    RunState, StateFile, create_private_dir, supervisor_alive, write_atomic,
};
use rustix::process::Signal;
use tokio::time::Instant;

use super::{Exit, PID_FILE, STATE_DIR_ENV, down, inspect};

/// How long a detached supervisor gets to stop by itself before its session is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The arguments of this process without `--detach` (and without the program name).
fn arguments_without_detach() -> Vec<OsString> {
    std::env::args_os()
        .skip(1)
        .filter(|arg| arg != "--detach")
        .collect()
}

fn spawn(dir: &Path) -> Result<Child> {
    let logs = dir.join("logs");
    create_private_dir(&logs)?;
    let log_path = logs.join("supervisor.log");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let err = log
        .try_clone()
        .with_context(|| format!("opening {}", log_path.display()))?;
    let exe = std::env::current_exe().context("locating the running executable")?;
    let mut command = Command::new(exe);
    command
        .args(arguments_without_detach())
        .env(STATE_DIR_ENV, dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
    // SAFETY: the closure runs in the forked child before exec and makes one
    // async-signal-safe system call (setsid); it allocates nothing and takes no locks.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid()
                .map(drop)
                .map_err(std::io::Error::from)
        });
    }
    command.spawn().context("starting the supervisor")
}

fn log_tail(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("logs").join("supervisor.log")).unwrap_or_default();
    last_lines(&text, 20).join("\n")
}

/// Starts the supervisor of `dir` in the background and waits (up to `timeout`) until it is
/// ready; prints its status.
pub(super) async fn up_detached(
    dir: &Path,
    timeout: Duration,
    out: &mut dyn Write,
) -> Result<Exit> {
    create_private_dir(dir)?;
    if supervisor_alive(dir)? {
        let pid = StateFile::read(dir)
            .ok()
            .flatten()
            .map(|s| s.supervisor.pid);
        return Err(DevnetError::AlreadyRunning {
            dir: dir.to_owned(),
            pid,
        }
        .into());
    }
    let mut child = spawn(dir)?;
    let pid = child.id();
    write_atomic(&dir.join(PID_FILE), format!("{pid}\n").as_bytes())?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().context("polling the supervisor")? {
            let reason = StateFile::read(dir)
                .ok()
                .flatten()
                .filter(|s| s.supervisor.pid == pid)
                .and_then(|s| s.reason)
                .unwrap_or_else(|| "no reason recorded".to_owned());
            let _ = std::fs::remove_file(dir.join(PID_FILE));
            let error = anyhow!(
                "the supervisor exited ({status}) before the devnet was ready: {reason}\n\
                 supervisor.log tail:\n{}",
                log_tail(dir)
            );
            // Exit code 3 is an environment problem (a missing tool, a readiness timeout).
            return Err(
                if status.code() == Some(i32::from(Exit::Environment.code())) {
                    anyhow::Error::new(DevnetError::BringUp(error))
                } else {
                    error
                },
            );
        }
        let state = StateFile::read(dir).ok().flatten();
        if let Some(state) = state.filter(|s| s.supervisor.pid == pid)
            && state.state == RunState::Ready
            && supervisor_alive(dir)?
        {
            // Not waited for: once this process exits, the session leader is adopted by init.
            return inspect::status(dir, &inspect::StatusArgs { json: true }, out).await;
        }
        if Instant::now() >= deadline {
            stop(&mut child, dir).await;
            return Err(DevnetError::BringUp(anyhow!(
                "the devnet was not ready within {timeout:?}; it was stopped\n\
                 supervisor.log tail:\n{}",
                log_tail(dir)
            ))
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops a detached supervisor that did not become ready: SIGTERM (it tears down), then its
/// whole session's group; then what `devnet down` cleans.
async fn stop(child: &mut Child, dir: &Path) {
    let pid = child.id();
    process::signal_process(pid, Signal::TERM);
    let deadline = Instant::now() + STOP_GRACE;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    process::signal_group(pid, Signal::KILL);
    let _ = child.wait();
    match down::stop_all(dir).await {
        Ok(orphans) if orphans.is_empty() => {}
        Ok(orphans) => {
            tracing::warn!(target: "devnet::detach", ?orphans, "killed processes the supervisor left");
        }
        Err(e) => {
            tracing::warn!(target: "devnet::detach", error = %format!("{e:#}"), "cleaning up after the supervisor");
        }
    }
    let _ = std::fs::remove_file(dir.join(PID_FILE));
}
