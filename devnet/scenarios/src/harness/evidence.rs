//! What a scenario leaves for the report: recorded watchdog commands, the logs `log_hygiene`
//! reads, and the evidence (URLs, paths, log tails, watchdog outputs, proxy tails).

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use anyhow::Result;
use sequencer_client::RedactedUrl;

use super::Harness;
use crate::checks::LogText;
use crate::driver::Run;
use crate::report::{Evidence, LOG_TAIL_LINES, STDERR_TAIL_LINES, WatchdogRecord, tail_lines};

impl Harness {
    /// Every watchdog command run so far, in order.
    pub fn runs(&self) -> Vec<Run> {
        self.runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// anvil's log (`local` only).
    fn anvil_log(&self) -> Option<String> {
        let devnet = self.deployment().devnet()?;
        Some(std::fs::read_to_string(devnet.anvil().log_path()).unwrap_or_default())
    }

    /// The logs `log_hygiene` reads: anvil's log (`local`) and every watchdog stderr.
    pub fn logs(&self) -> Vec<LogText> {
        let mut logs: Vec<LogText> = self
            .anvil_log()
            .map(|text| LogText {
                name: "anvil.log".into(),
                text,
            })
            .into_iter()
            .collect();
        for (i, run) in self.runs().iter().enumerate() {
            logs.push(LogText {
                name: format!("watchdog #{i} {} (stderr)", run.args.join(" ")),
                text: run.stderr.clone(),
            });
        }
        logs
    }

    /// The evidence for the report: URLs (`scheme://host[:port]` only, so an attached
    /// endpoint's credentials stay out), paths, log tails, watchdog outputs, proxy tails.
    pub async fn evidence(&self) -> Evidence {
        let net = self.deployment();
        let l1 = net.l1();
        let mut urls = vec![(l1.kind().to_owned(), l1.rpc_url())];
        urls.push(("sequencer".into(), net.sequencer().url().to_owned()));
        if let Some(control) = net.sequencer().control_url() {
            urls.push(("sequencer_control".into(), control.to_owned()));
        }
        if let Some(proxy) = &self.proxy {
            urls.push(("wd_l1_proxy".into(), proxy.url()));
        }
        if let Some(proxy) = &self.seq_proxy {
            urls.push(("wd_seq_proxy".into(), proxy.url()));
        }
        if let Some(proxy) = net.rpc_proxy(crate::topology::Edge::SeqToL1) {
            urls.push(("seq_l1_proxy".into(), proxy.url()));
        }
        let watchdog = self
            .runs()
            .iter()
            .map(|run| WatchdogRecord {
                args: run.args.join(" "),
                exit_code: run.exit_code,
                summary: run.summary.clone(),
                events: run.events.clone(),
                stderr_tail: tail_lines(&run.stderr, STDERR_TAIL_LINES),
            })
            .collect();
        Evidence {
            urls,
            dir: Some(self.dir().to_owned()),
            state_dir: Some(self.state_dir.clone()),
            logs: self
                .anvil_log()
                .map(|log| ("anvil.log".to_owned(), tail_lines(&log, LOG_TAIL_LINES)))
                .into_iter()
                .collect(),
            watchdog,
            proxy_tail: self.proxy_tails().await,
            notes: self.notes.clone(),
        }
        .with_redacted_urls()
    }
}

impl Evidence {
    /// Every URL as [`RedactedUrl`] prints it.
    fn with_redacted_urls(mut self) -> Self {
        for (_, url) in &mut self.urls {
            *url = RedactedUrl::parse(url).map_or_else(|e| format!("<{e}>"), |u| u.to_string());
        }
        self
    }
}

/// Records a finished watchdog command and writes its stderr to `logs/watchdog-<n>.stderr`.
pub(super) fn record(runs: &Mutex<Vec<Run>>, dir: &Path, run: Result<Run>) -> Result<Run> {
    let run = run?;
    let mut runs = runs.lock().unwrap_or_else(PoisonError::into_inner);
    let path = dir
        .join("logs")
        .join(format!("watchdog-{}.stderr", runs.len()));
    // Best effort: the in-memory copy is what the checks and the report read.
    let _ = std::fs::write(path, &run.stderr);
    runs.push(run.clone());
    Ok(run)
}
