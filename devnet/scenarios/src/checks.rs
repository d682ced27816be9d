//! Expectations (spec `devnet.md` §8): each records what was expected, what was observed and
//! whether it held, so the report can show every failure with its evidence.

use crate::driver::Run;

/// One checked expectation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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
        let ok = run.exit_code == Some(exit)
            && run.outcome() == outcome
            && reason.is_none_or(|r| run.reason() == Some(r));
        self.that(what, &expected, describe(run), ok);
    }

    /// Records that `run` exited 0 or 1 (never 2) and emitted no event.
    pub fn not_diverged(&mut self, what: &str, run: &Run) {
        let ok = matches!(run.exit_code, Some(0 | 1)) && run.events.is_empty();
        self.that(
            what,
            "exit 0 or 1, no event",
            format!("{}, {} event(s)", describe(run), run.events.len()),
            ok,
        );
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

/// `exit 1 failed (reason)`: a run as the checks show it.
pub fn describe(run: &Run) -> String {
    format!(
        "exit {} {}{}",
        run.exit_code.map_or("signal".to_owned(), |c| c.to_string()),
        run.outcome(),
        run.reason().map(|r| format!(" ({r})")).unwrap_or_default()
    )
}

/// An `ERROR` or `panicked` log line a scenario expects, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Allow {
    /// A substring of the allowed line.
    pub pattern: &'static str,
    /// Why the line is expected.
    pub reason: &'static str,
}

/// One log to check: a name for the report and its text.
#[derive(Debug, Clone)]
pub struct LogText {
    /// `anvil.log`, `watchdog #3 tick (stderr)`, …
    pub name: String,
    /// The whole text.
    pub text: String,
}

/// Whether a log line reports an error or a panic.
fn is_error_line(line: &str) -> bool {
    line.contains("ERROR") || line.contains("panicked")
}

/// `log_hygiene(allowlist)`: no `ERROR`/`panicked` line outside the allowlist, and every
/// allowlist entry matches at least one line.
pub fn log_hygiene(checks: &mut Checks, logs: &[LogText], allow: &[Allow]) {
    let mut matched = vec![0usize; allow.len()];
    let mut stray = Vec::new();
    for log in logs {
        for line in log.text.lines().filter(|l| is_error_line(l)) {
            match allow.iter().position(|a| line.contains(a.pattern)) {
                Some(i) => matched[i] += 1,
                None => stray.push(format!("{}: {}", log.name, line.trim())),
            }
        }
    }
    checks.that(
        "log_hygiene: no unexpected ERROR/panicked line",
        "none outside the allowlist",
        if stray.is_empty() {
            "none".to_owned()
        } else {
            stray.join(" | ")
        },
        stray.is_empty(),
    );
    for (entry, count) in allow.iter().zip(matched) {
        checks.that(
            &format!(
                "log_hygiene: allowed {:?} ({})",
                entry.pattern, entry.reason
            ),
            "matches at least once",
            format!("{count} line(s)"),
            count > 0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(text: &str) -> LogText {
        LogText {
            name: "test".into(),
            text: text.into(),
        }
    }

    #[test]
    fn hygiene_flags_stray_errors_and_unused_entries() {
        let allow = [Allow {
            pattern: "latched",
            reason: "divergence",
        }];
        let mut checks = Checks::default();
        log_hygiene(
            &mut checks,
            &[log("INFO ok\nERROR watchdog: latched x\n")],
            &allow,
        );
        assert!(checks.passed(), "{checks:?}");

        let mut checks = Checks::default();
        log_hygiene(&mut checks, &[log("ERROR something else\n")], &allow);
        assert!(!checks.0[0].ok);
        assert!(checks.0[0].observed.contains("something else"));
        assert!(!checks.0[1].ok, "the unused entry fails");

        let mut checks = Checks::default();
        log_hygiene(&mut checks, &[log("thread 'main' panicked at x\n")], &[]);
        assert!(!checks.passed());
    }
}
