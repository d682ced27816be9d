//! `devnet demo` and `devnet run <scenario>…`: the README demonstration and the named drills.

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use anyhow::{Context as _, Result};
use clap::Args;
use devnet_scenarios::deploy::Backend;
use devnet_scenarios::{
    ATTACH_APP_ENV, ATTACH_CONTROL_ENV, ATTACH_L1_ENV, ATTACH_SEQUENCER_ENV,
    ATTACH_WALLET_CONFIG_ENV, AttachTarget, Keep, RunOptions, RunReport, SCENARIOS, Seed, Status,
};

use super::Exit;
use crate::demo::DemoOptions;

/// `devnet demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Keep the watchdog state directory for inspection.
    #[arg(long)]
    pub keep: bool,
}

/// `devnet run`.
///
/// Every run writes `report.json` (per scenario: verdict, failed checks with evidence, seed,
/// backend, URLs, the watchdog state dir, log tails, watchdog outputs, the last proxy entries
/// per edge, a repro line) to
/// `--report PATH`, else `<state-dir>/run/report.json`.
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
    /// The backend to run on: `local` (anvil and the real contracts), `in-process` (the
    /// synthetic L1, no EVM: scenarios needing `Evm` are skipped), `attach` (the L1 and
    /// sequencer at `--l1` and `--sequencer`, on any chain; capabilities are probed, and
    /// scenarios that add L1 inputs are skipped) or `compose` (anvil, the devnet sequencer and
    /// each watchdog command in containers of the local images on private internal Docker
    /// networks, fault proxies as containers there: `release/devnet-images` and
    /// `release/image` build them; adds `Partition`, lacks `StateDirFaults` and `Evm`;
    /// without an engine or the images every
    /// scenario is skipped with the reason).
    #[arg(long, env = "DEVNET_BACKEND", default_value = "local")]
    pub backend: String,
    /// `attach`: the L1's JSON-RPC URL (any chain: the chain id is read from the node).
    #[arg(long, env = ATTACH_L1_ENV, hide_env_values = true, value_name = "URL")]
    pub l1: Option<String>,
    /// `attach`: the sequencer's public URL.
    #[arg(long, env = ATTACH_SEQUENCER_ENV, hide_env_values = true, value_name = "URL")]
    pub sequencer: Option<String>,
    /// `attach`: the sequencer's control URL; enables scenarios that arm sequencer faults.
    #[arg(long, env = ATTACH_CONTROL_ENV, hide_env_values = true, value_name = "URL")]
    pub control: Option<String>,
    /// `attach`: the application (default: the devnet's pinned one); its InputBox is read
    /// from it.
    #[arg(long, env = ATTACH_APP_ENV, value_name = "ADDRESS")]
    pub app: Option<Address>,
    /// `attach`: the sequencer's wallet configuration, `devnet` or `sepolia` (default: read
    /// from the sequencer's finalized state).
    #[arg(long, env = ATTACH_WALLET_CONFIG_ENV, value_name = "NAME")]
    pub wallet_config: Option<String>,
    /// The run seed, decimal or `0x` hex (default `0x5eed`) [env: DEVNET_SEED]
    #[arg(long, value_name = "S")]
    pub seed: Option<Seed>,
    /// Keep every scenario's temporary directory (logs, watchdog state) and print its path;
    /// without it `DEVNET_KEEP` decides (`1`, `failure` = the default, `0`).
    #[arg(long)]
    pub keep: bool,
    /// Count skipped scenarios as failed.
    #[arg(long)]
    pub strict: bool,
    /// Print the report as one JSON line instead of the verdict table.
    #[arg(long)]
    pub json: bool,
    /// Where to write `report.json` (default `<state-dir>/run/report.json`).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
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

/// Runs named scenarios, prints the verdict table (or the JSON report) and writes
/// `report.json`; exit 0 only if all passed (skipped ones too, unless `--strict`).
pub(super) async fn run(args: &RunArgs, state_dir: &Path, out: &mut dyn Write) -> Result<Exit> {
    if args.list {
        let needs: Vec<String> = SCENARIOS.iter().map(|s| format!("[{}]", s.needs)).collect();
        let name_width = SCENARIOS.iter().map(|s| s.name.len()).max().unwrap_or(0);
        let needs_width = needs.iter().map(String::len).max().unwrap_or(0);
        for (s, needs) in SCENARIOS.iter().zip(&needs) {
            writeln!(
                out,
                "{:<name_width$} {needs:<needs_width$} {}",
                s.name, s.description
            )?;
        }
        return Ok(Exit::Passed);
    }
    let backend = match args.backend.parse::<Backend>() {
        Ok(backend) => backend,
        Err(e) => {
            writeln!(out, "{e}")?;
            return Ok(Exit::Usage);
        }
    };
    let attach = match (backend, attach_target(args)) {
        (Backend::Attach, Ok(target)) => {
            if !args.json {
                writeln!(out, "attaching to {target}")?;
            }
            Some(target)
        }
        (Backend::Attach, Err(e)) => {
            writeln!(out, "{e:#}")?;
            return Ok(Exit::Usage);
        }
        _ => None,
    };
    let names: Vec<&str> = if args.all {
        SCENARIOS.iter().map(|s| s.name).collect()
    } else {
        args.names.iter().map(String::as_str).collect()
    };
    if names.is_empty() {
        writeln!(out, "name a scenario, or use --all or --list")?;
        return Ok(Exit::Usage);
    }
    if let Some(unknown) = names.iter().find(|n| devnet_scenarios::find(n).is_none()) {
        writeln!(out, "no scenario named {unknown}; see `devnet run --list`")?;
        return Ok(Exit::Usage);
    }
    let seed = match args.seed {
        Some(seed) => seed,
        None => match Seed::from_env() {
            Ok(seed) => seed,
            Err(e) => {
                writeln!(out, "{}: {e}", devnet_scenarios::SEED_ENV)?;
                return Ok(Exit::Usage);
            }
        },
    };
    let keep = if args.keep {
        Keep::Always
    } else {
        match Keep::from_env() {
            Ok(keep) => keep,
            Err(e) => {
                writeln!(out, "{e}")?;
                return Ok(Exit::Usage);
            }
        }
    };
    let options = RunOptions {
        backend,
        seed,
        keep,
        attach,
    };
    let mut verdicts = Vec::new();
    for name in names {
        let verdict = devnet_scenarios::run_with(name, &options)
            .await
            .context("a registered scenario")?;
        if !args.json {
            writeln!(
                out,
                "{:<28} {} (seed {})",
                verdict.name,
                match verdict.status(args.strict) {
                    Status::Passed => "pass".to_owned(),
                    Status::Failed => "FAIL".to_owned(),
                    Status::Skipped { cap } => format!("skipped({cap})"),
                },
                verdict.seed
            )?;
            if verdict.skipped.is_some() {
                for why in &verdict.evidence.notes {
                    writeln!(out, "  {why}")?;
                }
            }
            out.flush()?;
        }
        verdicts.push(verdict);
    }
    let report = RunReport {
        verdicts,
        strict: args.strict,
    };
    let path = args
        .report
        .clone()
        .unwrap_or_else(|| state_dir.join("run").join("report.json"));
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let json = report.to_json();
    std::fs::write(&path, format!("{json:#}\n"))
        .with_context(|| format!("writing {}", path.display()))?;
    if args.json {
        writeln!(out, "{json}")?;
    } else {
        writeln!(
            out,
            "\n{}",
            devnet_scenarios::table(&report.verdicts, args.strict)
        )?;
        for v in report.verdicts.iter().filter(|v| v.kept.is_some()) {
            if let Some(dir) = &v.kept {
                writeln!(out, "kept {}: {}", v.name, dir.display())?;
            }
        }
        writeln!(out, "report: {}", path.display())?;
    }
    out.flush()?;
    Ok(if report.passed() {
        Exit::Passed
    } else {
        Exit::Failed
    })
}

/// The `attach` target of `--l1`, `--sequencer`, `--control`, `--app` and `--wallet-config`
/// (or their environment variables); both of the first two are required. Errors never repeat a URL.
fn attach_target(args: &RunArgs) -> Result<AttachTarget> {
    match (&args.l1, &args.sequencer) {
        (Some(l1), Some(sequencer)) => {
            Ok(AttachTarget::parse(l1, sequencer, args.control.as_deref())?
                .with_app(args.app)
                .with_wallet_config(args.wallet_config.clone()))
        }
        _ => anyhow::bail!(
            "the attach backend needs --l1 URL and --sequencer URL (or {ATTACH_L1_ENV} and \
             {ATTACH_SEQUENCER_ENV}); --control URL ({ATTACH_CONTROL_ENV}) is optional"
        ),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::super::{Cli, Command};
    use super::*;

    fn run_args(args: &[&str]) -> RunArgs {
        let cli = Cli::try_parse_from(["devnet", "run"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Run(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn run_flags_parse() {
        let args = run_args(&["--all", "--seed", "0x10", "--strict", "--json", "--keep"]);
        assert!(args.all && args.strict && args.json && args.keep);
        assert_eq!(args.seed, Some(Seed(16)));
        assert_eq!(args.backend, "local");
        assert_eq!(run_args(&["--backend", "in-process"]).backend, "in-process");
        let args = run_args(&["reorg-tip", "--seed", "7", "--report", "/tmp/r.json"]);
        assert_eq!(args.names, ["reorg-tip"]);
        assert_eq!(args.seed, Some(Seed(7)));
        assert_eq!(args.report, Some(PathBuf::from("/tmp/r.json")));
        assert!(Cli::try_parse_from(["devnet", "run", "--seed", "x"]).is_err());
        assert!(Cli::try_parse_from(["devnet", "run", "--all", "genesis-agree"]).is_err());
    }

    #[tokio::test]
    async fn unknown_names_and_backends_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        let exit = run(&run_args(&["no-such-drill"]), dir.path(), &mut out).await;
        assert_eq!(exit.unwrap(), Exit::Usage);
        let exit = run(
            &run_args(&["--backend", "kubernetes", "genesis-agree"]),
            dir.path(),
            &mut out,
        )
        .await;
        assert_eq!(exit.unwrap(), Exit::Usage);
        let exit = run(
            &run_args(&[
                "--backend",
                "attach",
                "--l1",
                "http://127.0.0.1:9",
                "genesis-agree",
            ]),
            dir.path(),
            &mut out,
        )
        .await;
        assert_eq!(exit.unwrap(), Exit::Usage);
        let refused = String::from_utf8(out.clone()).unwrap();
        assert!(refused.contains("--sequencer URL"), "{refused}");
        let mut out = Vec::new();
        let args = [
            "--backend",
            "attach",
            "--l1",
            "ftp://user:hunter2@l1.invalid/KEY",
            "--sequencer",
            "http://127.0.0.1:9",
            "genesis-agree",
        ];
        let exit = run(&run_args(&args), dir.path(), &mut out).await;
        assert_eq!(exit.unwrap(), Exit::Usage);
        let refused = String::from_utf8(out).unwrap();
        assert!(refused.contains("the attached L1 URL"), "{refused}");
        assert!(
            !refused.contains("hunter2") && !refused.contains("KEY"),
            "{refused}"
        );
        let mut out = Vec::new();
        let exit = run(&run_args(&["--list"]), dir.path(), &mut out).await;
        assert_eq!(exit.unwrap(), Exit::Passed);
        let listed = String::from_utf8(out).unwrap();
        assert!(listed.contains("reorg-below-safe"), "{listed}");
    }
}
