//! Named scenarios and drills (spec `devnet.md` §9): each builds a fresh local stack, drives a
//! workload and faults, runs `sequencer-watchdog` commands, and checks what the watchdog did.
//! `devnet run <name>` runs them from the command line; each is also a test.

mod harness;
mod named;

use std::time::{Duration, Instant};

pub use harness::{Harness, StackOptions};
pub use named::{SCENARIOS, ScenarioInfo};

use crate::driver::Run;

/// One checked expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// What was expected.
    pub expected: String,
    /// What happened.
    pub observed: String,
    /// Whether it held.
    pub ok: bool,
}

/// The expectations of one run, in order.
#[derive(Debug, Default)]
pub struct Checks(pub Vec<Check>);

impl Checks {
    /// Records a free-form expectation.
    pub fn that(&mut self, what: &str, expected: &str, observed: impl Into<String>, ok: bool) {
        self.0.push(Check {
            what: what.into(),
            expected: expected.into(),
            observed: observed.into(),
            ok,
        });
    }

    /// Records that `run` exited `exit` with `outcome` (and `reason`, when given).
    pub fn run(&mut self, what: &str, run: &Run, exit: i32, outcome: &str, reason: Option<&str>) {
        let mut expected = format!("exit {exit} {outcome}");
        if let Some(reason) = reason {
            expected.push_str(&format!(" ({reason})"));
        }
        let observed = format!(
            "exit {} {}{}",
            run.exit_code.map_or("signal".to_owned(), |c| c.to_string()),
            run.outcome(),
            run.reason().map(|r| format!(" ({r})")).unwrap_or_default()
        );
        let ok = run.exit_code == Some(exit)
            && run.outcome() == outcome
            && reason.is_none_or(|r| run.reason() == Some(r));
        self.that(what, &expected, observed, ok);
    }

    /// Records that `run` emitted exactly `count` events, all of `kind`.
    pub fn events(&mut self, what: &str, run: &Run, count: usize, kind: &str) {
        let kinds: Vec<String> = run
            .parsed_events()
            .iter()
            .map(|e| e["kind"].as_str().unwrap_or("?").to_owned())
            .collect();
        let ok = kinds.len() == count && kinds.iter().all(|k| k == kind);
        self.that(what, &format!("{count} × {kind}"), format!("{kinds:?}"), ok);
    }

    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.0.iter().all(|c| c.ok)
    }
}

/// The verdict on one scenario.
#[derive(Debug)]
pub struct Verdict {
    /// Scenario name.
    pub name: &'static str,
    /// Every expectation.
    pub checks: Vec<Check>,
    /// A setup or driver failure that stopped the scenario.
    pub error: Option<String>,
    /// Wall time.
    pub duration: Duration,
}

impl Verdict {
    /// Passed: no error and every expectation held.
    pub fn passed(&self) -> bool {
        self.error.is_none() && !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }
}

/// Runs the scenario `name` on a fresh stack.
pub async fn run(name: &str) -> Option<Verdict> {
    let info = SCENARIOS.iter().find(|s| s.name == name)?;
    let started = Instant::now();
    let mut checks = Checks::default();
    let result = named::run(info.name, &mut checks).await;
    Some(Verdict {
        name: info.name,
        checks: checks.0,
        error: result.err().map(|e| format!("{e:#}")),
        duration: started.elapsed(),
    })
}

/// The verdict table: scenario, result, time, then each failed expectation.
pub fn table(verdicts: &[Verdict]) -> String {
    let mut out = format!("{:<28} {:<6} {:>7}\n", "scenario", "result", "time");
    for v in verdicts {
        let result = if v.passed() { "pass" } else { "FAIL" };
        out.push_str(&format!(
            "{:<28} {:<6} {:>6.1}s\n",
            v.name,
            result,
            v.duration.as_secs_f64()
        ));
        for c in &v.checks {
            if !c.ok {
                out.push_str(&format!(
                    "    - {}: expected {}, observed {}\n",
                    c.what, c.expected, c.observed
                ));
            }
        }
        if let Some(error) = &v.error {
            out.push_str(&format!("    - error: {error}\n"));
        }
    }
    out
}
