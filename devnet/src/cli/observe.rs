//! `devnet logs` and `devnet events`: what the supervisor's control API serves while it runs,
//! and the files it left behind (`logs/*.log` and their rotated `*.log.N`, `events.jsonl`)
//! when it does not.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use devnet_stack::events::read_events;
use devnet_stack::{ControlClient, DevnetError, control, logs};

use super::{API_TIMEOUT, Exit};

/// A component with a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogComponent {
    /// The L1.
    Anvil,
    /// The devnet sequencer.
    Sequencer,
    /// The supervisor itself (`up --detach`'s output).
    Supervisor,
}

impl LogComponent {
    fn name(self) -> &'static str {
        match self {
            Self::Anvil => "anvil",
            Self::Sequencer => "sequencer",
            Self::Supervisor => "supervisor",
        }
    }
}

/// `devnet logs` options.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Whose log.
    #[arg(value_enum)]
    pub component: LogComponent,
    /// How many of the last lines.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub tail: usize,
}

/// `devnet events` options.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Keep the stream open and print each event as it happens, until the supervisor stops.
    #[arg(long)]
    pub follow: bool,
    /// Only events after this sequence number.
    #[arg(long, default_value_t = 0, value_name = "SEQ")]
    pub since: u64,
}

/// Prints the tail of a component's log.
pub(super) async fn logs(dir: &Path, args: &LogsArgs, out: &mut dyn Write) -> Result<Exit> {
    let name = args.component.name();
    let text = match ControlClient::connect(dir)? {
        Some(client) => {
            client
                .get_text(&format!("/v1/logs/{name}?tail={}", args.tail), API_TIMEOUT)
                .await?
        }
        None => {
            let path = control::log_path(dir, name).context("no such component")?;
            // Across rotation: the live file and its rotated ones (`anvil.log.1`, …).
            match logs::read_tail(&path, args.tail)? {
                Some(tail) => tail,
                None => {
                    return Err(anyhow::Error::new(DevnetError::NotRunning(dir.to_owned()))
                        .context(format!("no log at {}", path.display())));
                }
            }
        }
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(Exit::Passed)
}

/// Prints lifecycle events as JSON lines; with `--follow`, until the supervisor stops.
pub(super) async fn events(dir: &Path, args: &EventsArgs, out: &mut dyn Write) -> Result<Exit> {
    if let Some(client) = ControlClient::connect(dir)? {
        let path = format!("/v1/events?since={}&follow={}", args.since, args.follow);
        client
            .follow_lines(&path, |line| {
                writeln!(out, "{line}")?;
                out.flush()?;
                // `stopped` is the last event of a run.
                let last = serde_json::from_str::<serde_json::Value>(line)
                    .is_ok_and(|event| event["kind"] == "stopped");
                Ok(!last)
            })
            .await?;
        return Ok(Exit::Passed);
    }
    let recorded =
        read_events(dir).with_context(|| format!("reading events in {}", dir.display()))?;
    if recorded.is_empty() {
        return Err(DevnetError::NotRunning(dir.to_owned()).into());
    }
    for event in recorded.iter().filter(|e| e.seq > args.since) {
        writeln!(out, "{}", serde_json::to_string(event)?)?;
    }
    out.flush()?;
    Ok(Exit::Passed)
}
