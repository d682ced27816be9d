//! Running a parsed [`Invocation`]: every command returns a [`Summary`], on every path.

mod progress;
mod scan;
mod snapshot;
mod state;

use std::{
    io::{Read, Write},
    time::Instant,
};

use crate::{
    Error, Invocation, Result, Summary,
    cli::{Command, L1Command, SnapshotCommand},
    env::Env,
};

/// The standard streams of a command.
pub struct Io<'a> {
    /// Where `-` arguments are read from.
    pub stdin: &'a mut dyn Read,
    /// Where command output lines (not the summary) are written, e.g. `l1 scan` inputs.
    pub stdout: &'a mut dyn Write,
    /// Where the raw `watchdog_event` alert line of a new divergence is written.
    pub stderr: &'a mut dyn Write,
}

impl std::fmt::Debug for Io<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Io")
    }
}

/// Runs the command and returns its summary (with the duration set). Never exits the process
/// and never prints the summary: the caller prints [`Summary::line`] and exits with
/// [`Summary::exit_code`].
pub fn run(invocation: &Invocation, env: &Env, io: &mut Io<'_>) -> Summary {
    let started = Instant::now();
    warn_about_env(env);
    let name = invocation.command_name();
    let result = match invocation.command() {
        Some(command) => dispatch(command, env, io),
        None => Err(Error::Usage("a command is required".to_owned())),
    };
    let summary = result.unwrap_or_else(|error| {
        tracing::warn!(
            target: "watchdog",
            event = "failed",
            class = error.class().as_str(),
            reason = error.reason().as_str(),
            "{error}"
        );
        Summary::failed(name, &error)
    });
    summary.duration(started.elapsed())
}

fn dispatch(command: &Command, env: &Env, io: &mut Io<'_>) -> Result<Summary> {
    match command {
        Command::Snapshot(SnapshotCommand::Decode { file }) => snapshot::decode(file, io),
        Command::Snapshot(SnapshotCommand::Diff { a, b }) => snapshot::diff(a, b, io),
        Command::L1(L1Command::Scan(args)) => scan::run(args, env, io),
        Command::Init(args) => state::init(args, env),
        Command::Tick(args) => state::tick(args, env, io),
        Command::Status(args) => state::status(args, env),
        Command::Clear(args) => state::clear(args, env),
        Command::Replay(args) => state::replay(args, env),
        Command::Backup(args) => state::backup(args, env),
        Command::Restore(args) => state::restore(args, env),
        Command::Doctor(args) => state::doctor(args, env, io),
    }
}

fn warn_about_env(env: &Env) {
    for name in env.ignored() {
        tracing::warn!(target: "watchdog::env", event = "env_ignored", name, "ignored (Lua watchdog setting)");
    }
    for name in env.unknown() {
        tracing::warn!(target: "watchdog::env", event = "env_unknown", name, "unknown variable");
    }
}
