//! Verdicts and the run report (spec `devnet.md` §8): the verdict table, `report.json`, and
//! the evidence each scenario leaves behind (URLs, paths, log tails, watchdog outputs).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use super::checks::Check;
use super::seed::Seed;

/// Lines kept from the end of each child log.
pub const LOG_TAIL_LINES: usize = 40;
/// Lines kept from the end of each watchdog stderr.
pub const STDERR_TAIL_LINES: usize = 20;
/// Entries kept from the end of each proxy log.
pub const PROXY_TAIL_ENTRIES: usize = 20;

/// Up to this many exit codes are listed one by one in the observed column; more are counted.
const OBSERVED_IN_FULL: usize = 8;

/// How a scenario ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Every expectation held.
    Passed,
    /// An expectation failed, or setup or a step failed.
    Failed,
    /// The backend lacks a capability the scenario needs (`--strict` counts it as failed).
    Skipped {
        /// The missing capability.
        cap: String,
    },
}

/// One watchdog command as the report shows it.
#[derive(Debug, Clone)]
pub struct WatchdogRecord {
    /// `tick`, `init`, `clear --block 7 --reason drill`, …
    pub args: String,
    /// The exit code (`None`: killed by a signal).
    pub exit_code: Option<i32>,
    /// The summary line, parsed.
    pub summary: Value,
    /// The `watchdog_event` lines, verbatim.
    pub events: Vec<String>,
    /// The last lines of its stderr.
    pub stderr_tail: Vec<String>,
}

/// What a scenario leaves behind for the report.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Endpoints by name (`anvil`, `sequencer`, `sequencer_control`, `wd_l1_proxy`,
    /// `wd_seq_proxy`).
    pub urls: Vec<(String, String)>,
    /// The scenario's temporary directory (logs, watchdog state).
    pub dir: Option<PathBuf>,
    /// The watchdog state directory.
    pub state_dir: Option<PathBuf>,
    /// The last [`LOG_TAIL_LINES`] lines of each child log, by log name.
    pub logs: Vec<(String, Vec<String>)>,
    /// Every watchdog command, in order.
    pub watchdog: Vec<WatchdogRecord>,
    /// The last [`PROXY_TAIL_ENTRIES`] entries of each proxy, by edge (`wd-l1`, `wd-seq`),
    /// as the JSON objects of its `logs/proxy-<edge>.jsonl`.
    pub proxy_tail: Vec<(String, Vec<Value>)>,
    /// Notes the scenario left: seeded choices, what the stack served.
    pub notes: Vec<String>,
}

/// The verdict on one scenario.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Scenario name.
    pub name: &'static str,
    /// The backend it ran on.
    pub backend: String,
    /// The run seed.
    pub seed: Seed,
    /// The expected watchdog verdict (spec §9).
    pub expected: &'static str,
    /// Every expectation.
    pub checks: Vec<Check>,
    /// A setup or step failure that stopped the scenario.
    pub error: Option<String>,
    /// Skipped for a missing capability.
    pub skipped: Option<String>,
    /// Wall time.
    pub duration: Duration,
    /// What the report shows.
    pub evidence: Evidence,
    /// The kept temporary directory, if kept.
    pub kept: Option<PathBuf>,
}

impl Verdict {
    /// The status; `strict` turns skipped into failed.
    pub fn status(&self, strict: bool) -> Status {
        match &self.skipped {
            Some(cap) if !strict => Status::Skipped { cap: cap.clone() },
            Some(_) => Status::Failed,
            None if self.error.is_none()
                && !self.checks.is_empty()
                && self.checks.iter().all(|c| c.ok) =>
            {
                Status::Passed
            }
            None => Status::Failed,
        }
    }

    /// Passed: no error, not skipped, and every expectation held.
    pub fn passed(&self) -> bool {
        self.status(false) == Status::Passed
    }

    /// The watchdog exit codes, in order (`-` for a signal): the table's observed column. Long
    /// runs are counted per code instead (`0×17 1×4 last 0`).
    pub fn observed(&self) -> String {
        let codes: Vec<String> = self
            .evidence
            .watchdog
            .iter()
            .map(|r| r.exit_code.map_or("-".to_owned(), |c| c.to_string()))
            .collect();
        match codes.last() {
            None => "-".to_owned(),
            Some(last) if codes.len() > OBSERVED_IN_FULL => {
                let mut counts = std::collections::BTreeMap::<&str, usize>::new();
                for code in &codes {
                    *counts.entry(code.as_str()).or_default() += 1;
                }
                let counts: Vec<String> = counts.iter().map(|(c, n)| format!("{c}×{n}")).collect();
                format!("{} last {last}", counts.join(" "))
            }
            Some(_) => codes.join(" "),
        }
    }

    /// The command that repeats this run.
    pub fn repro(&self) -> String {
        let backend = if self.backend == "local" {
            String::new()
        } else {
            format!(" --backend {}", self.backend)
        };
        format!(
            "devnet run {}{backend} --seed {} --keep",
            self.name, self.seed
        )
    }

    /// The report entry.
    pub fn to_json(&self, strict: bool) -> Value {
        let (verdict, cap) = match self.status(strict) {
            Status::Passed => ("passed", None),
            Status::Failed => ("failed", None),
            Status::Skipped { cap } => ("skipped", Some(cap)),
        };
        let failed: Vec<Value> = self
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| json!({"what": c.what, "expected": c.expected, "evidence": c.observed}))
            .collect();
        let watchdog: Vec<Value> = self
            .evidence
            .watchdog
            .iter()
            .map(|r| {
                json!({
                    "args": r.args,
                    "exit_code": r.exit_code,
                    "summary": r.summary,
                    "events": r.events,
                    "stderr_tail": r.stderr_tail,
                })
            })
            .collect();
        let logs: serde_json::Map<String, Value> = self
            .evidence
            .logs
            .iter()
            .map(|(name, lines)| (name.clone(), json!(lines)))
            .collect();
        let urls: serde_json::Map<String, Value> = self
            .evidence
            .urls
            .iter()
            .map(|(name, url)| (name.clone(), json!(url)))
            .collect();
        let proxy_tail: serde_json::Map<String, Value> = self
            .evidence
            .proxy_tail
            .iter()
            .map(|(edge, entries)| (edge.clone(), json!(entries)))
            .collect();
        json!({
            "scenario": self.name,
            "backend": self.backend,
            "seed": self.seed.to_string(),
            "expected": self.expected,
            "observed": self.observed(),
            "verdict": verdict,
            "skipped_cap": cap,
            "duration_ms": u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
            "error": self.error,
            "failed_checks": failed,
            "checks": self.checks,
            "notes": self.evidence.notes,
            "urls": urls,
            "dir": self.evidence.dir,
            "watchdog_state_dir": self.evidence.state_dir,
            "kept": self.kept,
            "logs": logs,
            "watchdog": watchdog,
            "proxy_tail": proxy_tail,
            "repro": self.repro(),
        })
    }

    /// A failure message for a test: the table row, each failure, the evidence and the repro.
    pub fn failure_report(&self) -> String {
        let mut out = table(std::slice::from_ref(self), false);
        for r in &self.evidence.watchdog {
            out.push_str(&format!(
                "  watchdog {} → exit {:?}: {}\n",
                r.args, r.exit_code, r.summary
            ));
            for line in &r.stderr_tail {
                out.push_str(&format!("      | {line}\n"));
            }
        }
        for (name, lines) in &self.evidence.logs {
            out.push_str(&format!("  {name} (last {} lines):\n", lines.len()));
            for line in lines {
                out.push_str(&format!("      | {line}\n"));
            }
        }
        out
    }
}

/// The whole run: one verdict per scenario.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The verdicts, in run order.
    pub verdicts: Vec<Verdict>,
    /// Whether skipped counts as failed.
    pub strict: bool,
}

impl RunReport {
    /// Whether every scenario passed (skipped ones pass unless strict).
    pub fn passed(&self) -> bool {
        self.verdicts
            .iter()
            .all(|v| v.status(self.strict) != Status::Failed)
    }

    /// `report.json`.
    pub fn to_json(&self) -> Value {
        let count = |s: &str| {
            self.verdicts
                .iter()
                .filter(|v| {
                    matches!(
                        (v.status(self.strict), s),
                        (Status::Passed, "passed")
                            | (Status::Failed, "failed")
                            | (Status::Skipped { .. }, "skipped")
                    )
                })
                .count()
        };
        json!({
            "schema_version": 1,
            "passed": self.passed(),
            "strict": self.strict,
            "counts": {"passed": count("passed"), "failed": count("failed"), "skipped": count("skipped")},
            "scenarios": self.verdicts.iter().map(|v| v.to_json(self.strict)).collect::<Vec<_>>(),
        })
    }
}

/// The verdict table (scenario, backend, seed, expected, observed, result, time), then each
/// failure with its seed and a repro line.
pub fn table(verdicts: &[Verdict], strict: bool) -> String {
    const HEADER: [&str; 7] = [
        "scenario", "backend", "seed", "expected", "observed", "result", "time",
    ];
    let rows: Vec<[String; 7]> = verdicts
        .iter()
        .map(|v| {
            let result = match v.status(strict) {
                Status::Passed => "pass".to_owned(),
                Status::Failed => "FAIL".to_owned(),
                Status::Skipped { cap } => format!("skip({cap})"),
            };
            [
                v.name.to_owned(),
                v.backend.clone(),
                v.seed.to_string(),
                v.expected.to_owned(),
                v.observed(),
                result,
                format!("{:.1}s", v.duration.as_secs_f64()),
            ]
        })
        .collect();
    // Each column as wide as its widest cell, so long cells (several skipped capabilities,
    // many observed exit codes) never push the next column out of line.
    let mut widths = HEADER.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 7]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i == 6 {
                text.push_str(&format!("{cell:>width$}"));
            } else {
                text.push_str(&format!("{cell:<width$} "));
            }
        }
        text.push('\n');
        text
    };
    let mut out = line(HEADER);
    for row in &rows {
        out.push_str(&line(row.each_ref().map(String::as_str)));
    }
    for v in verdicts {
        if v.status(strict) != Status::Failed {
            continue;
        }
        out.push_str(&format!("\n{} failed (seed {}):\n", v.name, v.seed));
        for c in v.checks.iter().filter(|c| !c.ok) {
            out.push_str(&format!(
                "  - {}: expected {}, observed {} (seed {})\n",
                c.what, c.expected, c.observed, v.seed
            ));
        }
        if let Some(error) = &v.error {
            out.push_str(&format!("  - error: {error} (seed {})\n", v.seed));
        }
        if let Some(cap) = &v.skipped {
            out.push_str(&format!("  - skipped for {cap} under --strict\n"));
        }
        if let Some(dir) = &v.kept {
            out.push_str(&format!("  kept: {}\n", dir.display()));
        }
        out.push_str(&format!("  repro: {}\n", v.repro()));
    }
    out
}

/// The last `n` lines of `text`.
pub(super) fn tail_lines(text: &str, n: usize) -> Vec<String> {
    devnet_stack::process::last_lines(text, n)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(ok: bool) -> Verdict {
        Verdict {
            name: "genesis-agree",
            backend: "local".into(),
            seed: Seed(0x5eed),
            expected: "0",
            checks: vec![Check {
                what: "tick".into(),
                expected: "exit 0 agreed".into(),
                observed: "exit 1 failed".into(),
                ok,
            }],
            error: None,
            skipped: None,
            duration: Duration::from_millis(1500),
            evidence: Evidence::default(),
            kept: None,
        }
    }

    #[test]
    fn failures_carry_the_seed_and_a_repro_line() {
        let text = table(&[verdict(false)], false);
        assert!(text.contains("scenario"), "{text}");
        assert!(
            text.contains("observed") && text.contains("backend"),
            "{text}"
        );
        assert!(text.contains("(seed 0x5eed)"), "{text}");
        assert!(
            text.contains("repro: devnet run genesis-agree --seed 0x5eed --keep"),
            "{text}"
        );
        let text = table(&[verdict(true)], false);
        assert!(!text.contains("repro"), "{text}");
    }

    #[test]
    fn columns_stay_aligned_whatever_a_cell_holds() {
        let mut skipped = verdict(true);
        skipped.checks.clear();
        skipped.skipped = Some("Evm | L1Inputs | SeqFaults | StateDirFaults".into());
        let text = table(&[verdict(true), skipped], false);
        let lines: Vec<&str> = text.lines().take(3).collect();
        assert_eq!(lines.len(), 3, "{text}");
        let widths: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{text}");
        let time_column = lines[0].find("time").unwrap();
        assert!(lines.iter().all(|l| l.len() >= time_column), "{text}");
    }

    #[test]
    fn observed_lists_few_codes_and_counts_many() {
        let record = |code| WatchdogRecord {
            args: "tick".into(),
            exit_code: Some(code),
            summary: Value::Null,
            events: Vec::new(),
            stderr_tail: Vec::new(),
        };
        let mut v = verdict(true);
        assert_eq!(v.observed(), "-");
        v.evidence.watchdog = vec![record(0), record(2)];
        assert_eq!(v.observed(), "0 2");
        v.evidence.watchdog = [1, 0, 1, 0, 0, 0, 0, 0, 0, 0].map(record).to_vec();
        assert_eq!(v.observed(), "0×8 1×2 last 0");
    }

    #[test]
    fn strict_turns_skipped_into_failed() {
        let mut v = verdict(true);
        v.skipped = Some("Reorg".into());
        assert_eq!(
            v.status(false),
            Status::Skipped {
                cap: "Reorg".into()
            }
        );
        assert_eq!(v.status(true), Status::Failed);
        let report = RunReport {
            verdicts: vec![v],
            strict: false,
        };
        assert!(report.passed());
        assert_eq!(report.to_json()["counts"]["skipped"], 1);
        assert_eq!(report.to_json()["scenarios"][0]["seed"], json!("0x5eed"));
    }

    #[test]
    fn proxy_tails_are_json_objects_by_edge() {
        let mut v = verdict(true);
        v.evidence.proxy_tail = vec![
            (
                "wd-l1".into(),
                vec![json!({"seq": 3, "method": "eth_getLogs"})],
            ),
            ("wd-seq".into(), Vec::new()),
        ];
        let report = RunReport {
            verdicts: vec![v],
            strict: false,
        };
        let tail = &report.to_json()["scenarios"][0]["proxy_tail"];
        assert_eq!(tail["wd-l1"][0]["method"], "eth_getLogs");
        assert_eq!(tail["wd-seq"], json!([]));
    }
}
