//! The `devnet` command line: `doctor`, `up`, `status`, `env`, `logs`, `events`, `list`,
//! `down`, `tx`, `snapshot`, `mine`, `reorg`, `fault`, `sequencer`, `demo`, `run`, `proxy`.
//!
//! Each subcommand is a variant of [`Command`] with its own argument struct and one arm in
//! [`run`]; new subcommands slot in the same way and can build on [`LocalStack`] (a scenario's
//! stack) or [`Supervisor`] (the `up` stack).
//!
//! | Command | Behaviour |
//! |---|---|
//! | `up [--detach]` | foreground supervisor; prints one JSON line when ready and one when stopped; SIGINT/SIGTERM tear down; resumes a kept chain. `--detach`: in the background, prints the status once ready |
//! | `status` | JSON from the control API (else `devnet.json`) plus liveness, disk use and the kept chain; exit 0 only when up and ready |
//! | `env [--format sh\|fish\|json]` | `CARTESI_WATCHDOG_*` and `DEVNET_*` exports of a running devnet |
//! | `logs anvil\|sequencer\|supervisor [--tail N]` | the tail of a component's log |
//! | `events [--follow] [--since SEQ]` | lifecycle events as JSON lines |
//! | `list` | every named devnet under the root: state, endpoints, pid, age |
//! | `sequencer restart [--binary PATH]` | replace the running devnet's sequencer, the L1 untouched |
//! | `down [--keep]` | stop a running `up` (or clean a dead one); idempotent; `--keep` keeps the chain, which the next `up` resumes |
//! | `tx deposit\|transfer\|withdraw\|input … [--wait none\|soft\|finalized]` | a transaction against the running devnet, through its control API; one JSON line |
//! | `snapshot save NAME [--force]\|restore NAME\|list\|remove NAME` | named snapshots of L1 and sequencer; `restore` rewinds a running devnet in place, or makes a stopped one resume the snapshot at the next `up` |
//! | `mine N`, `reorg DEPTH`, `fault set SPEC…\|clear\|list` | runtime controls of the running devnet through its control API: mine, replace the newest blocks, arm or disarm sequencer faults |
//! | `doctor [--strict]` | anvil version, binaries, pins |
//! | `demo [--keep]` | the README demonstration; exit 0 only if the watchdog behaved as expected |
//! | `run NAME…\|--all\|--list [--backend local\|in-process\|attach\|compose] [--l1 URL --sequencer URL [--control URL]] [--seed S] [--keep] [--strict] [--json] [--report PATH]` | named scenarios with a verdict table and `report.json`; exit 0 only if all passed |
//! | `sequencer …` | the devnet sequencer in the foreground (`devnet-sequencer`'s flags) |
//! | `proxy --listen A --upstream URL --mode rpc\|http --rules F` | a fault proxy in the foreground |
//!
//! Exit codes: 0 passed, 1 failed (a component gave up, orphans, not ready), 2 usage,
//! 3 environment (anvil missing, readiness timeout, `address drifted`, no devnet up, another
//! one holds the state dir).
//!
//! Each devnet lives in its own state directory: `--state-dir DIR`, else `<root>/<NAME>` with
//! `--name NAME` (`$DEVNET_NAME`, default `default`) under `--root` (`$DEVNET_ROOT`, default
//! `<workspace>/.cache/devnet`). Devnets in different directories share no port, file or lock.
//!
//! [`LocalStack`]: devnet_stack::LocalStack
//! [`Supervisor`]: devnet_stack::Supervisor

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand};

use devnet_stack::{Class, classify};

mod detach;
mod down;
mod drill;
mod inspect;
mod names;
mod observe;
mod proxy;
mod runtime;
mod sequencer;
mod snapshot;
mod tx;
mod up;

pub use down::DownArgs;
pub use drill::{DemoArgs, RunArgs};
pub use inspect::{DoctorArgs, EnvArgs, StatusArgs};
pub use names::{DEFAULT_NAME, ListArgs, check_name, default_root};
pub use observe::{EventsArgs, LogComponent, LogsArgs};
pub use proxy::{ProxyArgs, ProxyMode};
pub use runtime::{FaultAction, FaultArgs, MineArgs, ReorgArgs};
pub use sequencer::{RestartArgs, SequencerAction, SequencerArgs};
pub use snapshot::{SnapshotAction, SnapshotArgs};
pub use tx::{Account, Op, Target, TxArgs, TxOp, Wait};
pub use up::UpArgs;

/// The detached supervisor's pid file, in the state directory (written by `up --detach`,
/// removed by `down`).
pub const PID_FILE: &str = "supervisor.pid";
/// Environment variable naming the state directory (wins over the name).
pub const STATE_DIR_ENV: &str = "DEVNET_STATE_DIR";
/// Environment variable naming the devnet.
pub const NAME_ENV: &str = "DEVNET_NAME";
/// Environment variable naming the directory that holds the named devnets.
pub const ROOT_ENV: &str = "DEVNET_ROOT";

/// How long a control API request may take.
const API_TIMEOUT: Duration = Duration::from_secs(10);

/// A local Cartesi rollups devnet: anvil, the Rollups contracts and a faithful sequencer.
///
/// Each devnet has a state directory (`<root>/<name>`, or `--state-dir`) holding
/// `devnet.json`, `events.jsonl`, `logs/` (rotated past a size cap), the supervisor's lock,
/// snapshots, a kept chain, and while it runs its pid file and control socket
/// (`control.sock`, HTTP/1.1 + JSON, mode 0600), which `status`, `env`, `logs`, `events`,
/// `tx`, `snapshot`, `mine`, `reorg`, `fault` and `sequencer restart` talk to (`status`,
/// `logs`, `events` and `snapshot` fall back to `devnet.json` and the files when no supervisor
/// answers).
#[derive(Debug, Parser)]
#[command(name = "devnet", version)]
pub struct Cli {
    /// The devnet's state directory; wins over `--name`.
    #[arg(long, global = true, env = STATE_DIR_ENV, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The devnet's name: its state directory is `<root>/<NAME>`.
    #[arg(long, global = true, env = NAME_ENV, default_value = DEFAULT_NAME, value_name = "NAME")]
    pub name: String,
    /// The directory holding the named devnets (default: `.cache/devnet` in the workspace).
    #[arg(long, global = true, env = ROOT_ENV, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check anvil's version and the binaries; print the pins.
    Doctor(DoctorArgs),
    /// Start anvil, deploy the contracts, start the sequencer and supervise them (in the
    /// foreground, or in the background with `--detach`).
    Up(UpArgs),
    /// Print the state of the devnet as JSON (exit 0 only when it is up and ready).
    Status(StatusArgs),
    /// Print the watchdog settings and client endpoints of the running devnet.
    Env(EnvArgs),
    /// Print the tail of a component's log (anvil, sequencer, supervisor).
    Logs(LogsArgs),
    /// Print the devnet's lifecycle events as JSON lines (`--follow`: as they happen).
    Events(EventsArgs),
    /// List every named devnet with its state, endpoints, pid and age (removes nothing).
    List(ListArgs),
    /// Stop the devnet started by `up` and clean up (`--keep`: keep the chain for the next
    /// `up` to resume).
    Down(DownArgs),
    /// Send a deposit, transfer, withdrawal or direct input to the running devnet; one JSON
    /// line (L1 tx hash or sequencer acknowledgement, inclusion and finalized blocks).
    Tx(TxArgs),
    /// Save, restore, list or remove named snapshots of the whole stack (L1 and sequencer);
    /// `restore` rewinds a running devnet in place.
    Snapshot(SnapshotArgs),
    /// Mine N blocks on the running devnet's L1.
    Mine(MineArgs),
    /// Replace the newest DEPTH blocks of the running devnet's L1 with empty ones.
    Reorg(ReorgArgs),
    /// Arm, disarm or list the running devnet's sequencer faults.
    Fault(FaultArgs),
    /// The README demonstration: a stack, a workload, agreement, a divergence drill.
    Demo(DemoArgs),
    /// Run named scenarios (drills) and print a verdict table.
    Run(RunArgs),
    /// Run the devnet sequencer in the foreground (the flags of `devnet-sequencer`), or
    /// `sequencer restart [--binary PATH]` the running devnet's (the L1 keeps running).
    Sequencer(Box<SequencerArgs>),
    /// Run a fault proxy in the foreground (`--mode rpc|http`, rules from a JSON file).
    Proxy(ProxyArgs),
}

/// The process exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Did what was asked.
    Passed,
    /// Something checked did not hold.
    Failed,
    /// Bad usage.
    Usage,
    /// The environment is not as needed.
    Environment,
}

impl Exit {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Self::Passed => 0,
            Self::Failed => 1,
            Self::Usage => 2,
            Self::Environment => 3,
        }
    }
}

/// The state directory: `--state-dir`/`$DEVNET_STATE_DIR`, else `<root>/<name>` (root:
/// `--root`/`$DEVNET_ROOT`, else [`default_root`]). The name must pass [`check_name`].
pub fn state_dir(
    given: Option<PathBuf>,
    root: Option<&Path>,
    name: &str,
) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    check_name(name)?;
    Ok(root.map_or_else(default_root, Path::to_path_buf).join(name))
}

/// Runs a parsed command line. Results go to `out` (JSON or exports), failures to `err`; logs
/// go through `tracing`.
pub async fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Exit {
    let dir = match state_dir(cli.state_dir, cli.root.as_deref(), &cli.name) {
        Ok(dir) => dir,
        Err(e) => {
            let _ = writeln!(err, "devnet: {e:#}");
            return Exit::Usage;
        }
    };
    let root = cli.root.unwrap_or_else(default_root);
    let result = match cli.command {
        Command::Doctor(args) => inspect::doctor(&args, out).await,
        Command::Up(args) => up::up(&dir, args, out).await,
        Command::Status(args) => inspect::status(&dir, &args, out).await,
        Command::Env(args) => inspect::env(&dir, &args, out).await,
        Command::Logs(args) => observe::logs(&dir, &args, out).await,
        Command::Events(args) => observe::events(&dir, &args, out).await,
        Command::List(_) => names::list(&root, out),
        Command::Down(args) => down::down(&dir, &args, out).await,
        Command::Tx(args) => tx::tx(&dir, &args, out).await,
        Command::Snapshot(args) => snapshot::snapshot(&dir, &args, out).await,
        Command::Mine(args) => runtime::mine(&dir, &args, out).await,
        Command::Reorg(args) => runtime::reorg(&dir, &args, out).await,
        Command::Fault(args) => runtime::fault(&dir, &args, out).await,
        Command::Demo(args) => drill::demo(&args, out).await,
        Command::Run(args) => drill::run(&args, &dir, out).await,
        Command::Sequencer(args) => sequencer::sequencer(&dir, *args, out).await,
        Command::Proxy(args) => proxy::proxy(args, out).await,
    };
    match result {
        Ok(exit) => exit,
        Err(e) => {
            let _ = writeln!(err, "devnet: {e:#}");
            match classify(&e) {
                Class::Environment => Exit::Environment,
                Class::Failure => Exit::Failed,
            }
        }
    }
}

/// Writes one JSON value as a line and flushes.
/// The `devnet` binary's `main` over `args` (the program name first): parses them (usage
/// errors exit 2), sets up logging and a runtime, and runs the command on stdout and stderr.
pub fn main_with(args: impl IntoIterator<Item = std::ffi::OsString>) -> std::process::ExitCode {
    use std::process::ExitCode;
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(Exit::Usage.code())
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    devnet_sequencer::init_tracing();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "no tokio runtime");
            return ExitCode::from(Exit::Environment.code());
        }
    };
    let exit = runtime.block_on(run(cli, &mut std::io::stdout(), &mut std::io::stderr()));
    ExitCode::from(exit.code())
}

fn emit(out: &mut dyn Write, value: &serde_json::Value) -> anyhow::Result<()> {
    writeln!(out, "{value}")?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_parses() {
        Cli::command().debug_assert();
        let cli =
            Cli::try_parse_from(["devnet", "up", "--state-dir", "/x", "--mining", "auto"]).unwrap();
        assert_eq!(cli.state_dir, Some(PathBuf::from("/x")));
        assert!(matches!(cli.command, Command::Up(_)));
        let cli = Cli::try_parse_from(["devnet", "env", "--format", "fish"]).unwrap();
        assert!(matches!(cli.command, Command::Env(_)));
        assert!(Cli::try_parse_from(["devnet", "up", "--mining", "sometimes"]).is_err());
        assert!(Cli::try_parse_from(["devnet", "up", "--seq-fault", "nonsense"]).is_err());
        let cli = Cli::try_parse_from([
            "devnet",
            "sequencer",
            "--rpc-url",
            "http://127.0.0.1:1",
            "--app",
            "0xee72fC427e6A8e8c1Be1B2921DBE9F8E4e20253c",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Sequencer(_)));
        let cli =
            Cli::try_parse_from(["devnet", "sequencer", "restart", "--binary", "/b"]).unwrap();
        let Command::Sequencer(args) = cli.command else {
            panic!("not sequencer");
        };
        assert!(args.run.is_none());
        assert!(matches!(args.action, Some(SequencerAction::Restart(_))));
        let cli = Cli::try_parse_from(["devnet", "up", "--detach", "--name", "ci-1"]).unwrap();
        assert_eq!(cli.name, "ci-1");
        assert_eq!(
            state_dir(None, None, DEFAULT_NAME).unwrap(),
            devnet_stack::workspace_root()
                .join(".cache")
                .join("devnet")
                .join("default")
        );
        assert_eq!(
            state_dir(None, Some(Path::new("/r")), "x").unwrap(),
            PathBuf::from("/r/x")
        );
        assert_eq!(
            state_dir(Some("/s".into()), Some(Path::new("/r")), "x").unwrap(),
            PathBuf::from("/s")
        );
        assert!(state_dir(None, None, "../up").is_err());
        assert_eq!(Exit::Environment.code(), 3);
    }
}
