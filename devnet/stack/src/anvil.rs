//! An anvil child process on a loopback ephemeral port, ready when it makes progress, killed on
//! drop.
//!
//! anvil is started with `--port 0` and the port the kernel chose is read back from its
//! `Listening on 127.0.0.1:<port>` line, so there is no window in which another process can take
//! a port picked in advance. The child runs in its own process group (so the group can be
//! signalled as a whole) with a parent-death signal, and its output goes to a log file.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::Duration;

use alloy::providers::ext::AnvilApi as _;
use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use anyhow::{Context, Result, bail};
use devnet_pins::CHAIN_ID;
use rustix::process::{Pid, Signal};
use tokio::time::Instant;

use crate::process;

use crate::install;

/// How long `shutdown` waits after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(3);
/// Poll step while waiting for the port line, readiness or exit.
const POLL_STEP: Duration = Duration::from_millis(10);
/// How many historical block states anvil keeps (in memory only, `--prune-history`): reads at
/// blocks older than this answer `BlockOutOfRangeError`. Without the flag anvil also writes up
/// to 3 600 evicted states to disk (one file per block, each the size of the whole state).
pub const DEFAULT_STATE_HISTORY: usize = 256;

/// How to start anvil.
#[derive(Clone, Debug)]
pub struct AnvilOptions {
    /// The binary; `None` resolves `$DEVNET_ANVIL_BIN`, else installs the pinned anvil.
    pub bin: Option<PathBuf>,
    /// The chain id (`--chain-id`).
    pub chain_id: u64,
    /// Interval mining in seconds (`--block-time`); `None` = automine.
    pub block_time: Option<u64>,
    /// Where anvil's output goes; `None` = a temporary directory removed on drop.
    pub log_path: Option<PathBuf>,
    /// Readiness deadline (spawn, port, chain id, progress).
    pub ready_timeout: Duration,
    /// Extra environment variables for the child (its environment is otherwise scrubbed to
    /// `PATH`, `HOME` and `LANG`), e.g. a run id an orphan audit can find.
    pub env: Vec<(String, String)>,
    /// Historical states kept, in memory only (`--prune-history N`); `None` = anvil's default
    /// (500 in memory, then up to 3 600 on disk under the cache path).
    pub state_history: Option<usize>,
    /// Where anvil may persist states (`--cache-path`); `None` = anvil's default under
    /// `~/.foundry/anvil/tmp`.
    pub cache_dir: Option<PathBuf>,
    /// Start from this state dump (`--load-state`, a file written by
    /// [`dump_state`](crate::persist::dump_state)) instead of genesis.
    pub load_state: Option<PathBuf>,
}

impl Default for AnvilOptions {
    fn default() -> Self {
        Self {
            bin: None,
            chain_id: CHAIN_ID,
            block_time: None,
            log_path: None,
            ready_timeout: Duration::from_secs(10),
            env: Vec::new(),
            state_history: Some(DEFAULT_STATE_HISTORY),
            cache_dir: None,
            load_state: None,
        }
    }
}

/// A running anvil. Dropping it kills its process group.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    port: u16,
    url: reqwest::Url,
    chain_id: u64,
    log_path: PathBuf,
    provider: DynProvider,
    _log_dir: Option<tempfile::TempDir>,
}

impl Anvil {
    /// Starts anvil with the default options.
    pub async fn start() -> Result<Self> {
        Self::spawn(AnvilOptions::default()).await
    }

    /// Starts anvil and waits until it is ready: `eth_chainId` answers the configured chain id
    /// and the height advances after one `anvil_mine`.
    ///
    /// The child gets `PR_SET_PDEATHSIG` = SIGKILL, which Linux ties to the *thread* that spawns
    /// it: call this from a thread that outlives the child (a runtime worker or the test
    /// thread), never from a short-lived blocking-pool thread.
    pub async fn spawn(options: AnvilOptions) -> Result<Self> {
        let bin = match options.bin.clone() {
            Some(bin) => bin,
            None => tokio::task::spawn_blocking(install::anvil_binary)
                .await
                .context("the anvil installer task failed")??,
        };
        let (log_path, log_dir) = match options.log_path.clone() {
            Some(path) => (path, None),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("devnet-anvil-")
                    .tempdir()
                    .context("creating a log directory")?;
                (dir.path().join("anvil.log"), Some(dir))
            }
        };
        if let Some(parent) = log_path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        // A new log, appended to, so the supervisor can truncate it in place when it rotates
        // it ([`logs`](crate::logs)).
        match fs::remove_file(&log_path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", log_path.display())),
        }
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let log_err = log.try_clone().context("duplicating the log handle")?;

        let mut command = Command::new(&bin);
        command
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--slots-in-an-epoch",
                "1",
            ])
            .arg("--chain-id")
            .arg(options.chain_id.to_string());
        if let Some(secs) = options.block_time {
            command.arg("--block-time").arg(secs.to_string());
        }
        if let Some(states) = options.state_history {
            command.arg("--prune-history").arg(states.to_string());
        }
        if let Some(dir) = &options.cache_dir {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            command.arg("--cache-path").arg(dir);
        }
        if let Some(state) = &options.load_state {
            command.arg("--load-state").arg(state);
        }
        process::isolate(&mut command)
            .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(log)
            .stderr(log_err);
        let child = command
            .spawn()
            .with_context(|| format!("spawning anvil ({})", bin.display()))?;

        let deadline = Instant::now() + options.ready_timeout;
        // From here on `guard` kills the child if readiness fails or this future is dropped.
        let mut guard = process::SpawnGuard::new(child, "anvil");
        let port = wait_for_port(guard.child()?, &log_path, deadline).await?;
        let url: reqwest::Url = format!("http://127.0.0.1:{port}")
            .parse()
            .context("building the anvil URL")?;
        let provider = ProviderBuilder::new().connect_http(url.clone()).erased();
        wait_until_ready(
            &provider,
            guard.child()?,
            options.chain_id,
            &log_path,
            deadline,
        )
        .await?;
        let child = guard.release()?;
        Ok(Self {
            child,
            port,
            url,
            chain_id: options.chain_id,
            log_path,
            provider,
            _log_dir: log_dir,
        })
    }

    /// The JSON-RPC endpoint, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }

    /// The endpoint as a URL.
    pub fn endpoint_url(&self) -> &reqwest::Url {
        &self.url
    }

    /// The TCP port anvil listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The chain id anvil was started with.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The child's pid (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log file holding anvil's output.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// A provider without signers (reads, anvil controls).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Mines `blocks` blocks at once.
    pub async fn mine(&self, blocks: u64) -> Result<()> {
        self.provider
            .anvil_mine(Some(blocks), None)
            .await
            .context("anvil_mine")
    }

    /// Whether the child is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops anvil: SIGTERM to its process group, then SIGKILL after a grace period.
    pub async fn shutdown(mut self) -> Result<ExitStatus> {
        signal_group(&self.child, Signal::TERM);
        let deadline = Instant::now() + TERM_GRACE;
        loop {
            if let Some(status) = self.child.try_wait().context("waiting for anvil")? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(POLL_STEP).await;
        }
        signal_group(&self.child, Signal::KILL);
        self.child.wait().context("reaping anvil")
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        process::kill_and_reap(&mut self.child);
    }
}

fn signal_group(child: &Child, signal: Signal) {
    // The child leads its own group (`process_group(0)`), so pgid = pid. A group that is
    // already gone answers ESRCH, which is what we want.
    let _ = rustix::process::kill_process_group(Pid::from_child(child), signal);
}

/// Reads the port from the `Listening on 127.0.0.1:<port>` line of the log.
async fn wait_for_port(child: &mut Child, log_path: &Path, deadline: Instant) -> Result<u16> {
    loop {
        let log = fs::read_to_string(log_path).unwrap_or_default();
        if let Some(port) = parse_listening_port(&log) {
            return Ok(port);
        }
        if let Some(status) = child.try_wait().context("polling anvil")? {
            bail!(
                "anvil exited with {status} before listening; log tail:\n{}",
                tail(&log, 20)
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "anvil printed no `Listening on` line in time; log tail:\n{}",
                tail(&log, 20)
            );
        }
        tokio::time::sleep(POLL_STEP).await;
    }
}

/// Polls until the chain id matches and one `anvil_mine` advances the height.
async fn wait_until_ready(
    provider: &DynProvider,
    child: &mut Child,
    chain_id: u64,
    log_path: &Path,
    deadline: Instant,
) -> Result<()> {
    loop {
        if let Some(status) = child.try_wait().context("polling anvil")? {
            bail!(
                "anvil exited with {status} during readiness; log tail:\n{}",
                log_tail(log_path)
            );
        }
        let last = match probe(provider, chain_id).await {
            Ok(true) => return Ok(()),
            Ok(false) => "height did not advance after anvil_mine".to_owned(),
            Err(e) => format!("{e:#}"),
        };
        if Instant::now() >= deadline {
            bail!(
                "anvil not ready in time (last: {last}); log tail:\n{}",
                log_tail(log_path)
            );
        }
        tokio::time::sleep(POLL_STEP).await;
    }
}

async fn probe(provider: &DynProvider, chain_id: u64) -> Result<bool> {
    let got = provider.get_chain_id().await.context("eth_chainId")?;
    if got != chain_id {
        bail!("chain id {got}, expected {chain_id}");
    }
    let before = provider
        .get_block_number()
        .await
        .context("eth_blockNumber")?;
    provider
        .anvil_mine(Some(1), None)
        .await
        .context("anvil_mine")?;
    let after = provider
        .get_block_number()
        .await
        .context("eth_blockNumber")?;
    Ok(after > before)
}

/// Extracts the port from anvil's `Listening on 127.0.0.1:<port>` line.
pub(crate) fn parse_listening_port(log: &str) -> Option<u16> {
    log.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("Listening on 127.0.0.1:")?;
        rest.trim().parse().ok()
    })
}

fn log_tail(path: &Path) -> String {
    tail(&fs::read_to_string(path).unwrap_or_default(), 20)
}

fn tail(text: &str, lines: usize) -> String {
    crate::process::last_lines(text, lines).join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_line_is_parsed() {
        let log = "Genesis Number\n==================\n\n0\n\nListening on 127.0.0.1:37747\n";
        assert_eq!(parse_listening_port(log), Some(37747));
        assert_eq!(parse_listening_port("Listening on 0.0.0.0:8545\n"), None);
        assert_eq!(parse_listening_port("Listening on 127.0.0.1:"), None);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
