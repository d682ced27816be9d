//! The `devnet-sequencer` binary as a child process: spawned from a [`SequencerConfig`] (turned
//! back into its flags), in its own process group with a parent-death signal and a scrubbed
//! environment, ready once it prints its JSON announcement line, stopped with SIGTERM then
//! SIGKILL, killed on drop.
//!
//! The announcement goes to a stdout file that is read back (as anvil's port line is), the log
//! (stderr) is appended to across restarts.

use std::fs::{self, File, OpenOptions};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use canonical::WalletConfig;
use devnet_sequencer::{ResponseShape, SequencerConfig};
use rustix::process::Signal;
use serde::Deserialize;
use tokio::time::Instant;

use crate::process::{self, TERM_GRACE};

/// Environment variable naming the `devnet-sequencer` binary to run.
pub const SEQUENCER_BIN_ENV: &str = "DEVNET_SEQUENCER_BIN";

/// Poll step while waiting for the announcement or an exit.
const POLL_STEP: Duration = Duration::from_millis(10);

/// The `devnet-sequencer` binary: `$DEVNET_SEQUENCER_BIN`, else the file of that name next to
/// the running executable (or next to its parent `deps/` directory, where test and bench
/// binaries live). It is never built on demand here ([`ensure_sequencer_binary`] does that).
pub fn sequencer_binary() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os(SEQUENCER_BIN_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().context("locating the running executable")?;
    sibling_sequencer(&exe).ok_or_else(|| {
        anyhow!(
            "no devnet-sequencer binary next to {} (build it with `cargo build -p \
             devnet-sequencer`, or set {SEQUENCER_BIN_ENV})",
            exe.display()
        )
    })
}

/// [`sequencer_binary`], built first when there is none: `cargo build --locked -p
/// devnet-sequencer` (the cargo that runs us, `$CARGO`) into the target directory and profile of
/// the running executable. For the tests and benches of packages other than `devnet-sequencer`,
/// which cargo does not hand that binary; `cargo test --workspace` builds it next to them
/// anyway, and a binary found is used as it is.
pub fn ensure_sequencer_binary() -> Result<PathBuf> {
    if let Ok(bin) = sequencer_binary() {
        return Ok(bin);
    }
    let exe = std::env::current_exe().context("locating the running executable")?;
    let mut profile_dir = exe
        .parent()
        .context("the running executable has no directory")?;
    if profile_dir.file_name().is_some_and(|name| name == "deps") {
        profile_dir = profile_dir.parent().unwrap_or(profile_dir);
    }
    let target_dir = profile_dir
        .parent()
        .context("the running executable is not in a cargo target directory")?;
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--locked",
            "-p",
            "devnet-sequencer",
            "--bin",
            "devnet-sequencer",
        ])
        .args(["--profile", profile])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(crate::workspace_root())
        .status()
        .context("running cargo build for devnet-sequencer")?;
    if !status.success() {
        bail!("building devnet-sequencer failed ({status})");
    }
    sequencer_binary()
}

/// How to run the sequencer as a child: [`sequencer_binary`] when there is one, else the
/// running `devnet` executable itself with its `sequencer` subcommand (so `cargo run -p devnet
/// -- up` works when only that binary was built). Returns the program and its leading
/// arguments.
pub fn sequencer_command() -> Result<(PathBuf, Vec<String>)> {
    if let Ok(bin) = sequencer_binary() {
        return Ok((bin, Vec::new()));
    }
    let exe = std::env::current_exe().context("locating the running executable")?;
    resolve_command(&exe).ok_or_else(|| {
        anyhow!(
            "no devnet-sequencer binary next to {} and it is not `devnet` (build it with `cargo \
             build -p devnet-sequencer`, or set {SEQUENCER_BIN_ENV})",
            exe.display()
        )
    })
}

fn sibling_sequencer(exe: &Path) -> Option<PathBuf> {
    let dir = exe.parent()?;
    let mut candidates = vec![dir.join("devnet-sequencer")];
    if dir.file_name().is_some_and(|name| name == "deps")
        && let Some(up) = dir.parent()
    {
        candidates.push(up.join("devnet-sequencer"));
    }
    candidates.into_iter().find(|path| path.is_file())
}

fn resolve_command(exe: &Path) -> Option<(PathBuf, Vec<String>)> {
    if let Some(bin) = sibling_sequencer(exe) {
        return Some((bin, Vec::new()));
    }
    (exe.file_name()? == "devnet").then(|| (exe.to_owned(), vec!["sequencer".to_owned()]))
}

/// Where a sequencer child's output goes and what else it gets.
#[derive(Clone, Debug)]
pub struct ChildSetup {
    /// The `devnet-sequencer` binary (or `devnet`, with `bin_args` = `["sequencer"]`).
    pub bin: PathBuf,
    /// Arguments before the sequencer's flags.
    pub bin_args: Vec<String>,
    /// stderr (the log) is appended here.
    pub log_path: PathBuf,
    /// stdout (the announcement line) is written here, truncated on every spawn.
    pub stdout_path: PathBuf,
    /// Extra environment variables (the run id, `DEVNET_LOG`).
    pub env: Vec<(String, String)>,
    /// Run this upstream sequencer instead (`--sequencer PATH`; untested here).
    pub upstream: Option<PathBuf>,
    /// How long the child may take to announce itself.
    pub ready_timeout: Duration,
}

/// The flags that make `devnet-sequencer` run with `config`.
pub fn sequencer_args(config: &SequencerConfig) -> Result<Vec<String>> {
    let wallet = if config.wallet == WalletConfig::devnet() {
        "devnet"
    } else if config.wallet == WalletConfig::sepolia() {
        "sepolia"
    } else {
        bail!("a sequencer child can only run the devnet or sepolia wallet configuration");
    };
    let mut args = vec![
        "--rpc-url".to_owned(),
        config.rpc_url.clone(),
        "--app".to_owned(),
        config.app.to_checksum(None),
        "--listen".to_owned(),
        config.listen.to_string(),
        "--control-listen".to_owned(),
        config.control_listen.to_string(),
        "--chain-id".to_owned(),
        config.chain_id.to_string(),
        "--wallet-config".to_owned(),
        wallet.to_owned(),
        "--fee-exponent".to_owned(),
        config.fee_exponent.to_string(),
        "--frame-interval".to_owned(),
        config.frame_interval.to_string(),
        "--batch-max-ops".to_owned(),
        config.batch_max_ops.to_string(),
        "--batch-interval-ms".to_owned(),
        config.batch_interval.as_millis().to_string(),
        "--poll-ms".to_owned(),
        config.poll_interval.as_millis().to_string(),
        "--resubmit-after".to_owned(),
        config.resubmit_after_blocks.to_string(),
        "--from-block".to_owned(),
        config.from_block.to_string(),
        "--boot-timeout-secs".to_owned(),
        config.boot_timeout.as_secs().max(1).to_string(),
    ];
    if let Some(input_box) = config.input_box {
        args.extend(["--input-box".to_owned(), input_box.to_checksum(None)]);
    }
    if config.shape == ResponseShape::Legacy {
        args.push("--legacy-shape".to_owned());
    }
    for fault in &config.faults {
        args.extend(["--fault".to_owned(), fault.to_string()]);
    }
    if let Some(dir) = &config.state_dir {
        args.extend(["--state-dir".to_owned(), dir.display().to_string()]);
    }
    Ok(args)
}

/// The announcement line of `devnet-sequencer`.
#[derive(Debug, Deserialize)]
struct Announcement {
    listen: SocketAddr,
    url: String,
    #[serde(default)]
    control: Option<SocketAddr>,
    #[serde(default)]
    control_url: Option<String>,
}

/// A running `devnet-sequencer` child. Dropping it kills its process group.
#[derive(Debug)]
pub struct SequencerChild {
    child: Child,
    start_time: Option<u64>,
    listen: SocketAddr,
    url: String,
    control: Option<SocketAddr>,
    control_url: Option<String>,
}

impl SequencerChild {
    /// Spawns the sequencer and waits for its announcement (it has then recovered from L1 and
    /// both listeners are bound). A child that exits first fails at once, with its log tail.
    ///
    /// As with anvil, the parent-death signal is tied to the calling thread: call this from a
    /// thread that outlives the child.
    pub async fn spawn(config: &SequencerConfig, setup: &ChildSetup) -> Result<Self> {
        config.validate()?;
        let mut args = sequencer_args(config)?;
        if let Some(upstream) = &setup.upstream {
            args.extend(["--sequencer".to_owned(), upstream.display().to_string()]);
        }
        for path in [&setup.log_path, &setup.stdout_path] {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&setup.log_path)
            .with_context(|| format!("opening {}", setup.log_path.display()))?;
        let stdout = File::create(&setup.stdout_path)
            .with_context(|| format!("creating {}", setup.stdout_path.display()))?;

        let mut command = Command::new(&setup.bin);
        command.args(&setup.bin_args).args(&args);
        process::isolate(&mut command)
            .envs(setup.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(stdout)
            .stderr(log);
        if setup.upstream.is_some() {
            // The upstream binary is configured by `CARTESI_SEQUENCER_*`; the caller's win.
            command.envs(std::env::vars().filter(|(k, _)| k.starts_with("CARTESI_SEQUENCER_")));
        }
        let child = command
            .spawn()
            .with_context(|| format!("spawning {}", setup.bin.display()))?;
        let start_time = process::start_time(child.id());
        let mut pending = process::SpawnGuard::new(child, "sequencer");
        let deadline = Instant::now() + setup.ready_timeout;
        let announcement = wait_for_announcement(pending.child()?, setup, deadline).await?;
        let child = pending.release()?;
        Ok(Self {
            child,
            start_time,
            listen: announcement.listen,
            url: announcement.url.trim_end_matches('/').to_owned(),
            control: announcement.control,
            control_url: announcement
                .control_url
                .or_else(|| announcement.control.map(|c| format!("http://{c}"))),
        })
    }

    /// The child's pid (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child's start time in clock ticks since boot (for pid-reuse-safe records).
    pub fn start_time(&self) -> Option<u64> {
        self.start_time
    }

    /// The public API address.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// `http://<public address>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The control API address (`None` for the upstream sequencer).
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control
    }

    /// `http://<control address>` (`None` for the upstream sequencer).
    pub fn control_url(&self) -> Option<&str> {
        self.control_url.as_deref()
    }

    /// The exit status if the child has exited (reaping it), else `None`.
    pub fn try_exit(&mut self) -> Result<Option<ExitStatus>> {
        self.child.try_wait().context("polling the sequencer child")
    }

    /// Kills the whole group at once (SIGKILL) and reaps the child.
    pub fn kill(&mut self) {
        process::kill_and_reap(&mut self.child);
    }

    /// Stops the child: SIGTERM to its group, a grace period, then SIGKILL; reaps it.
    pub async fn shutdown(mut self) -> Result<ExitStatus> {
        let pgid = self.child.id();
        if let Some(status) = self.try_exit()? {
            process::signal_group(pgid, Signal::KILL);
            return Ok(status);
        }
        process::signal_group(pgid, Signal::TERM);
        let deadline = Instant::now() + TERM_GRACE;
        loop {
            if let Some(status) = self.try_exit()? {
                // Anything the child left in its group goes too.
                process::signal_group(pgid, Signal::KILL);
                return Ok(status);
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(POLL_STEP).await;
        }
        process::signal_group(pgid, Signal::KILL);
        self.child.wait().context("reaping the sequencer child")
    }
}

impl Drop for SequencerChild {
    fn drop(&mut self) {
        process::kill_and_reap(&mut self.child);
    }
}

async fn wait_for_announcement(
    child: &mut Child,
    setup: &ChildSetup,
    deadline: Instant,
) -> Result<Announcement> {
    loop {
        let out = fs::read_to_string(&setup.stdout_path).unwrap_or_default();
        if let Some((line, _)) = out.split_once('\n') {
            return serde_json::from_str(line)
                .with_context(|| format!("parsing the sequencer announcement {line:?}"));
        }
        if let Some(status) = child.try_wait().context("polling the sequencer child")? {
            bail!(
                "the sequencer exited with {status} before announcing itself; log tail:\n{}",
                log_tail(&setup.log_path)
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "the sequencer did not announce itself within {:?}; log tail:\n{}",
                setup.ready_timeout,
                log_tail(&setup.log_path)
            );
        }
        tokio::time::sleep(POLL_STEP).await;
    }
}

/// The last 20 lines of a log file.
pub(crate) fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use devnet_sequencer::{Args, Fault};

    #[test]
    fn the_sequencer_is_a_sibling_or_the_devnet_binary_itself() {
        let dir = tempfile::tempdir().unwrap();
        let devnet = dir.path().join("devnet");
        fs::write(&devnet, b"").unwrap();
        assert_eq!(
            resolve_command(&devnet),
            Some((devnet.clone(), vec!["sequencer".to_owned()]))
        );
        assert_eq!(resolve_command(&dir.path().join("other")), None);
        let sibling = dir.path().join("devnet-sequencer");
        fs::write(&sibling, b"").unwrap();
        assert_eq!(
            resolve_command(&devnet),
            Some((sibling.clone(), Vec::new()))
        );
        let deps = dir.path().join("deps");
        fs::create_dir(&deps).unwrap();
        assert_eq!(sibling_sequencer(&deps.join("stack-0123")), Some(sibling));
    }

    #[test]
    fn the_flags_reproduce_the_config() {
        let mut config =
            SequencerConfig::devnet("http://127.0.0.1:8545", devnet_pins::addresses::APPLICATION);
        config.input_box = Some(devnet_pins::addresses::INPUT_BOX);
        config.batch_interval = Duration::from_millis(250);
        config.poll_interval = Duration::from_millis(30);
        config.batch_max_ops = 7;
        config.shape = ResponseShape::Legacy;
        config.faults = vec![
            "tamper-state".parse::<Fault>().unwrap(),
            "slow:5:user".parse().unwrap(),
        ];
        config.state_dir = Some("/tmp/x".into());
        let mut argv = vec!["devnet-sequencer".to_owned()];
        argv.extend(sequencer_args(&config).unwrap());
        let parsed = Args::try_parse_from(argv).unwrap().config().unwrap();
        assert_eq!(parsed.rpc_url, config.rpc_url);
        assert_eq!(parsed.app, config.app);
        assert_eq!(parsed.input_box, config.input_box);
        assert_eq!(parsed.batch_interval, config.batch_interval);
        assert_eq!(parsed.poll_interval, config.poll_interval);
        assert_eq!(parsed.batch_max_ops, 7);
        assert_eq!(parsed.shape, ResponseShape::Legacy);
        assert_eq!(parsed.faults, config.faults);
        assert_eq!(parsed.state_dir, config.state_dir);
        assert_eq!(parsed.fee_exponent, config.fee_exponent);
        assert_eq!(parsed.wallet, config.wallet);
    }
}
