//! CLI tests: the real `sequencer-watchdog` binary, asserting exit code, stdout and stderr.
//!
//! Golden files live in `tests/golden/`; run with `WATCHDOG_BLESS=1` to rewrite them after an
//! intended change, then review the diff.

mod cartesi;
mod cartesi_rig;
mod cli;
mod docs;
mod golden;
mod liveness;
mod metrics;
mod readonly;
mod rig;
mod scan;
mod snapshot;
mod source;
mod state_cli;
mod state_tools;
mod tick;

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

/// The output of one run of the binary.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// The last stdout line: the summary.
    pub(crate) fn summary(&self) -> &str {
        self.stdout.lines().last().unwrap_or_default()
    }

    /// The summary as JSON.
    pub(crate) fn summary_json(&self) -> serde_json::Value {
        serde_json::from_str(self.summary()).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// Runs the binary in `dir` with `args`, a clean environment plus `env`, and `stdin`.
pub(crate) fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sequencer-watchdog"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn sequencer-watchdog");
    let mut input = child.stdin.take().expect("stdin");
    // A command that does not read stdin may exit first: a broken pipe is fine.
    let _ = input.write_all(stdin);
    drop(input);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait");
    Run {
        code: status.code().expect("exit code, not a signal"),
        stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
    }
}

/// Runs the binary in the scratch directory.
pub(crate) fn run(args: &[&str]) -> Run {
    run_in(&scratch(), args, &[], b"")
}

/// A scratch directory for this test binary.
pub(crate) fn scratch() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("watchdog-it");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}
