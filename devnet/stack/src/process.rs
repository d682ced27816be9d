//! Process groups and `/proc`: liveness, start times, group signals with a grace period, and the
//! orphan audit.
//!
//! Every child of the devnet leads its own process group and carries `DEVNET_RUN_ID` in its
//! environment. A recorded pid is trusted only together with its start time (`/proc/<pid>/stat`
//! field 22), so a recycled pid is never signalled. The audit checks that recorded groups answer
//! ESRCH and that no process still carries the run id; survivors are killed and reported.

use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::process::{Pid, Signal};
use tokio::time::Instant;

/// The environment variable naming the run a child belongs to.
pub const RUN_ID_ENV: &str = "DEVNET_RUN_ID";

/// How long a group gets between SIGTERM and SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(3);

/// Poll step while waiting for processes to go.
const POLL_STEP: Duration = Duration::from_millis(10);

/// A fresh run id: the time in nanoseconds and this process's pid, in hex.
pub fn new_run_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{:x}", std::process::id())
}

/// Prepares `command` as a devnet child: its environment cleared down to `PATH`, `HOME` and
/// `LANG` (the caller adds the rest), no stdin, a process group of its own, and `SIGKILL` once
/// its parent dies.
pub fn isolate(command: &mut Command) -> &mut Command {
    command
        .env_clear()
        .envs(std::env::vars_os().filter(|(k, _)| k == "PATH" || k == "HOME" || k == "LANG"))
        .stdin(Stdio::null())
        .process_group(0);
    // SAFETY: the closure runs in the forked child before exec and only makes one
    // async-signal-safe system call (prctl); it allocates nothing and takes no locks.
    unsafe {
        command.pre_exec(|| {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))
                .map_err(std::io::Error::from)
        });
    }
    command
}

fn pid(raw: u32) -> Option<Pid> {
    i32::try_from(raw).ok().and_then(Pid::from_raw)
}

/// The start time of `pid` in clock ticks since boot, `None` if there is no such process.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces and parentheses) start at the
    // state, field 3; the start time is field 22.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The one-letter state of `pid` (`R`, `S`, `Z`, …), `None` if there is no such process.
fn state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().next()?.chars().next()
}

/// How a zombie (exited, not yet reaped) ended, as `(code, signal)`: `/proc/<pid>/stat` field
/// 52, the wait status. `None` while it runs or once it is gone.
pub fn zombie_exit(pid: u32) -> Option<(Option<i32>, Option<i32>)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() != Some(&"Z") {
        return None;
    }
    let raw: i32 = fields.get(49)?.parse().ok()?;
    let signal = raw & 0x7f;
    Some(if signal == 0 {
        (Some((raw >> 8) & 0xff), None)
    } else {
        (None, Some(signal))
    })
}

/// Whether `pid` runs (exists and is not a zombie). A dead child that was not reaped yet is a
/// zombie, so this also tells a parent that its child exited without reaping it.
pub fn is_running(pid: u32) -> bool {
    state(pid).is_some_and(|s| s != 'Z' && s != 'X')
}

/// Whether `pid` is the process recorded with `start` (same pid, same start time, running).
pub fn is_same_process(pid: u32, start: u64) -> bool {
    start_time(pid) == Some(start) && is_running(pid)
}

/// Whether any process of group `pgid` exists (zombies included).
pub fn group_exists(pgid: u32) -> bool {
    pid(pgid).is_some_and(|p| rustix::process::test_kill_process_group(p).is_ok())
}

/// Sends `signal` to group `pgid`; a group that is gone is not an error.
pub fn signal_group(pgid: u32, signal: Signal) {
    if let Some(p) = pid(pgid) {
        let _ = rustix::process::kill_process_group(p, signal);
    }
}

/// Sends `signal` to process `pid`; a process that is gone is not an error.
pub fn signal_process(pid_raw: u32, signal: Signal) {
    if let Some(p) = pid(pid_raw) {
        let _ = rustix::process::kill_process(p, signal);
    }
}

/// Waits until group `pgid` has no process left, or `deadline`. Returns whether it is gone.
/// Only meaningful for groups whose leader this process does not have to reap (or has reaped).
pub async fn wait_group_gone(pgid: u32, deadline: Instant) -> bool {
    loop {
        if !group_exists(pgid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL_STEP).await;
    }
}

/// Stops a group this process is not the parent of: SIGTERM, `grace`, SIGKILL, then waits
/// (bounded) for it to vanish. Returns whether it is gone.
pub async fn stop_foreign_group(pgid: u32, grace: Duration) -> bool {
    signal_group(pgid, Signal::TERM);
    if wait_group_gone(pgid, Instant::now() + grace).await {
        return true;
    }
    signal_group(pgid, Signal::KILL);
    wait_group_gone(pgid, Instant::now() + Duration::from_secs(2)).await
}

/// Pids of this user's processes whose environment holds `DEVNET_RUN_ID=<run_id>`.
pub fn pids_with_run_id(run_id: &str) -> Vec<u32> {
    let needle = format!("{RUN_ID_ENV}={run_id}");
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let own = std::process::id();
    let mut found: Vec<u32> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| p != own && is_running(p))
        .filter(|p| environ_holds(&Path::new("/proc").join(p.to_string()), &needle))
        .collect();
    found.sort_unstable();
    found
}

fn environ_holds(proc_dir: &Path, needle: &str) -> bool {
    fs::read(proc_dir.join("environ")).is_ok_and(|env| {
        env.split(|&b| b == 0)
            .any(|entry| entry == needle.as_bytes())
    })
}

/// The orphan audit: every group in `pgids` must be gone and no process may carry `run_id`.
/// Survivors are killed (SIGKILL) and returned; an empty list means the run left nothing.
pub async fn audit(run_id: &str, pgids: &[u32]) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut survivors = Vec::new();
    for &pgid in pgids {
        if !wait_group_gone(pgid, deadline).await {
            survivors.push(pgid);
            signal_group(pgid, Signal::KILL);
        }
    }
    for p in pids_with_run_id(run_id) {
        if !survivors.contains(&p) {
            survivors.push(p);
        }
        signal_process(p, Signal::KILL);
    }
    survivors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_start_time_and_runs() {
        let me = std::process::id();
        let start = start_time(me).unwrap();
        assert!(is_same_process(me, start));
        assert!(!is_same_process(me, start + 1));
        assert!(start_time(u32::MAX).is_none());
        assert!(!is_running(u32::MAX));
    }

    #[test]
    fn a_zombie_tells_how_it_ended() {
        for (script, expected) in [("exit 3", (Some(3), None)), ("kill -9 $$", (None, Some(9)))] {
            let mut child = std::process::Command::new("sh")
                .args(["-c", script])
                .spawn()
                .unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let ended = loop {
                if let Some(ended) = zombie_exit(child.id()) {
                    break ended;
                }
                assert!(std::time::Instant::now() < deadline, "{script}: no zombie");
                std::thread::sleep(Duration::from_millis(5));
            };
            assert_eq!(ended, expected, "{script}");
            child.wait().unwrap();
            assert_eq!(zombie_exit(child.id()), None, "reaped");
        }
        assert_eq!(zombie_exit(std::process::id()), None, "running");
    }

    #[test]
    fn run_ids_are_distinct_and_unknown_ones_match_nothing() {
        let a = new_run_id();
        assert_ne!(a, new_run_id());
        assert!(pids_with_run_id(&a).is_empty());
    }
}

/// Kills a child's process group (the child leads it) and reaps the child, unless it already
/// exited.
pub fn kill_and_reap(child: &mut std::process::Child) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    signal_group(child.id(), Signal::KILL);
    let _ = child.wait();
}

/// Owns a freshly spawned child until it is ready: dropping the guard (readiness failed, or the
/// future waiting for it was dropped) kills its group and reaps it.
#[derive(Debug)]
pub struct SpawnGuard {
    child: Option<std::process::Child>,
    what: &'static str,
}

impl SpawnGuard {
    /// Guards `child`, named `what` in errors.
    pub fn new(child: std::process::Child, what: &'static str) -> Self {
        Self {
            child: Some(child),
            what,
        }
    }

    /// The guarded child.
    pub fn child(&mut self) -> anyhow::Result<&mut std::process::Child> {
        let what = self.what;
        self.child
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("the {what} child was already taken"))
    }

    /// Hands the ready child over; the guard no longer kills it.
    pub fn release(mut self) -> anyhow::Result<std::process::Child> {
        let what = self.what;
        self.child
            .take()
            .ok_or_else(|| anyhow::anyhow!("the {what} child vanished"))
    }
}

impl Drop for SpawnGuard {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            kill_and_reap(child);
        }
    }
}

/// The last `n` lines of a child's output or log (all of them if there are fewer).
pub fn last_lines(text: &str, n: usize) -> Vec<&str> {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(n)..].to_vec()
}
