//! Binaries that announce themselves: spawn one, read the JSON line it prints first on stdout,
//! and stop it with SIGTERM. Included by more than one test target.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};
use serde_json::Value;

/// Spawns `command` with stdout piped and waits (60 s at most) for its first stdout line, a
/// JSON object; returns the child and that object.
pub(crate) async fn spawn_announced(command: &mut Command) -> (Child, Value) {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    });
    let line = tokio::time::timeout(Duration::from_secs(60), line)
        .await
        .expect("the announcement line")
        .unwrap();
    let announced = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the announcement {line:?} is not JSON: {e}"));
    (child, announced)
}

/// Sends SIGTERM to `child` and polls (at most `within`) until it exits.
pub(crate) async fn terminate(child: &mut Child, within: Duration) -> ExitStatus {
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    kill_process(pid, Signal::TERM).unwrap();
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "no exit within {within:?} of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
