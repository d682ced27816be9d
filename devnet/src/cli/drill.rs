//! `devnet demo` and `devnet run <scenario>…`: the README demonstration and the named drills.

use std::io::Write;

use anyhow::Result;
use clap::Args;

use super::Exit;
use crate::demo::DemoOptions;
use crate::scenario::{self, SCENARIOS};

/// `devnet demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Keep the watchdog state directory for inspection.
    #[arg(long)]
    pub keep: bool,
}

/// `devnet run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Scenario names (see `--list`).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// Run every scenario.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// List the scenarios and exit.
    #[arg(long)]
    pub list: bool,
}

/// Runs the demo; exit 0 only if every step met its expectation.
pub(super) async fn demo(args: &DemoArgs, out: &mut dyn Write) -> Result<Exit> {
    let options = DemoOptions {
        keep: args.keep,
        release: !cfg!(debug_assertions),
    };
    let steps = crate::demo::run(&options, out).await?;
    out.flush()?;
    Ok(if steps.iter().all(|s| s.ok) {
        Exit::Passed
    } else {
        Exit::Failed
    })
}

/// Runs named scenarios and prints the verdict table; exit 0 only if all passed.
pub(super) async fn run(args: &RunArgs, out: &mut dyn Write) -> Result<Exit> {
    if args.list {
        for s in SCENARIOS {
            writeln!(out, "{:<28} {}", s.name, s.description)?;
        }
        return Ok(Exit::Passed);
    }
    let names: Vec<&str> = if args.all {
        SCENARIOS.iter().map(|s| s.name).collect()
    } else {
        args.names.iter().map(String::as_str).collect()
    };
    if names.is_empty() {
        writeln!(out, "name a scenario, or use --all or --list")?;
        return Ok(Exit::Usage);
    }
    let mut verdicts = Vec::new();
    for name in names {
        match scenario::run(name).await {
            Some(verdict) => {
                writeln!(
                    out,
                    "{:<28} {}",
                    verdict.name,
                    if verdict.passed() { "pass" } else { "FAIL" }
                )?;
                verdicts.push(verdict);
            }
            None => {
                writeln!(out, "no scenario named {name}; see `devnet run --list`")?;
                return Ok(Exit::Usage);
            }
        }
    }
    writeln!(out, "\n{}", scenario::table(&verdicts))?;
    Ok(if verdicts.iter().all(scenario::Verdict::passed) {
        Exit::Passed
    } else {
        Exit::Failed
    })
}
