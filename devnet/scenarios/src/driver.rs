//! The watchdog driver (spec `devnet.md` §5.6): runs the `sequencer-watchdog` binary once per
//! command with a scrubbed environment and the devnet's `CARTESI_WATCHDOG_*` exports, and
//! captures its exit code, summary line and `watchdog_event` lines.
//!
//! The devnet never links the watchdog crate: it tests the product through its process
//! contract, exactly as cron, systemd or Kubernetes run it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

/// Overrides the watchdog binary.
pub const WATCHDOG_BIN_ENV: &str = "DEVNET_WATCHDOG_BIN";

/// Prefix of the alert line.
const EVENT_PREFIX: &str = "watchdog_event ";

/// One finished watchdog command.
#[derive(Debug, Clone)]
pub struct Run {
    /// The arguments, for reports.
    pub args: Vec<String>,
    /// Exit code (`None` when killed by a signal).
    pub exit_code: Option<i32>,
    /// The summary line, parsed.
    pub summary: Value,
    /// The summary line as printed.
    pub summary_line: String,
    /// Every `watchdog_event` line, verbatim (without the newline).
    pub events: Vec<String>,
    /// The whole stderr.
    pub stderr: String,
}

impl Run {
    /// The summary's `outcome`.
    pub fn outcome(&self) -> &str {
        self.summary["outcome"].as_str().unwrap_or("")
    }

    /// The summary's `reason`, if any.
    pub fn reason(&self) -> Option<&str> {
        self.summary["reason"].as_str()
    }

    /// Fails unless the exit code is `code`.
    pub fn expect_exit(&self, code: i32) -> Result<&Self> {
        if self.exit_code != Some(code) {
            bail!(
                "`sequencer-watchdog {}` exited {:?}, expected {code}\nsummary: {}\nstderr tail:\n{}",
                self.args.join(" "),
                self.exit_code,
                self.summary_line,
                tail(&self.stderr, 20)
            );
        }
        Ok(self)
    }

    /// Fails unless the summary's outcome is `outcome`.
    pub fn expect_outcome(&self, outcome: &str) -> Result<&Self> {
        if self.outcome() != outcome {
            bail!("expected outcome {outcome}, got {}", self.summary_line);
        }
        Ok(self)
    }

    /// The parsed events.
    pub fn parsed_events(&self) -> Vec<Value> {
        self.events
            .iter()
            .filter_map(|line| serde_json::from_str(line.strip_prefix(EVENT_PREFIX)?).ok())
            .collect()
    }
}

fn tail(text: &str, lines: usize) -> String {
    devnet_stack::process::last_lines(text, lines).join("\n")
}

/// Finds `sequencer-watchdog`: `DEVNET_WATCHDOG_BIN`, else next to the running executable
/// (the same cargo target profile), else the workspace's release or debug build.
pub fn watchdog_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(WATCHDOG_BIN_ENV) {
        return Some(PathBuf::from(path));
    }
    let name = "sequencer-watchdog";
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join(name));
        // Test binaries live in target/<profile>/deps.
        if let Some(parent) = dir.parent() {
            candidates.push(parent.join(name));
        }
    }
    let target = devnet_stack::workspace_root().join("target");
    candidates.push(target.join("release").join(name));
    candidates.push(target.join("debug").join(name));
    candidates.into_iter().find(|path| path.is_file())
}

/// Builds `sequencer-watchdog` with the cargo that runs us (`$CARGO`), in the given profile,
/// when no binary can be found. Returns its path.
pub async fn ensure_watchdog_binary(release: bool) -> Result<PathBuf> {
    if let Some(found) = watchdog_binary() {
        return Ok(found);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = tokio::process::Command::new(cargo);
    command
        .args([
            "build",
            "--locked",
            "-p",
            "watchdog",
            "--bin",
            "sequencer-watchdog",
        ])
        .current_dir(devnet_stack::workspace_root());
    if release {
        command.arg("--release");
    }
    let status = command
        .status()
        .await
        .context("running cargo build for sequencer-watchdog")?;
    if !status.success() {
        bail!("building sequencer-watchdog failed ({status})");
    }
    watchdog_binary().ok_or_else(|| anyhow!("sequencer-watchdog not found after building it"))
}

/// Where a [`WatchdogDriver`] in container mode runs the watchdog: its image, the Docker
/// network of the container and the named volume mounted as its state volume.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerSpec {
    /// The image (its entrypoint is `sequencer-watchdog`).
    pub image: String,
    /// `host`, or a Docker network by name.
    pub network: String,
    /// More networks the container joins before it starts (`compose`: the application
    /// network, besides the L1 network in `network`).
    pub extra_networks: Vec<String>,
    /// A label (`KEY=VALUE`) on the container, by which its deployment removes it.
    pub label: Option<String>,
    /// The container's name (default: a fresh one per command); set it to reach a running
    /// command's container, e.g. to cut it off a network.
    pub name: Option<String>,
    /// The named volume mounted at [`IMAGE_STATE_VOLUME`].
    pub volume: String,
}

/// The image's state volume; the driver's state directory is [`IMAGE_STATE_DIR`] below it.
pub const IMAGE_STATE_VOLUME: &str = "/var/lib/sequencer-watchdog";

/// The state directory a container-mode driver passes to the watchdog.
pub const IMAGE_STATE_DIR: &str = "/var/lib/sequencer-watchdog/state";

/// Runs watchdog commands against one devnet: the binary on the host, or the image in a
/// container ([`in_container`](Self::in_container)).
#[derive(Debug, Clone)]
pub struct WatchdogDriver {
    binary: PathBuf,
    env: BTreeMap<String, String>,
    timeout: Duration,
    container: Option<ContainerSpec>,
}

impl WatchdogDriver {
    /// A driver for `binary` with the given `CARTESI_WATCHDOG_*` exports.
    pub fn new(binary: impl Into<PathBuf>, exports: BTreeMap<String, String>) -> Self {
        Self {
            binary: binary.into(),
            env: exports,
            timeout: Duration::from_secs(70),
            container: None,
        }
    }

    /// The same exports, run as `docker run --rm` of `spec.image` (the state directory moved
    /// into the volume). Variables reach the container by name (`-e NAME`), never on the
    /// command line.
    pub fn in_container(&self, spec: ContainerSpec) -> Self {
        let mut driver = self.clone();
        driver.binary = crate::container::docker_client();
        driver.set_env("CARTESI_WATCHDOG_STATE_DIR", IMAGE_STATE_DIR);
        driver.container = Some(spec);
        driver
    }

    /// The same driver, its commands in a container named `name` (container mode only: on the
    /// host the driver is returned unchanged).
    pub fn named(&self, name: impl Into<String>) -> Self {
        let mut driver = self.clone();
        if let Some(spec) = &mut driver.container {
            spec.name = Some(name.into());
        }
        driver
    }

    /// The container this driver runs in, if any.
    pub fn container(&self) -> Option<&ContainerSpec> {
        self.container.as_ref()
    }

    /// The binary.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The exports passed to every command.
    pub fn exports(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    /// Sets (or replaces) one variable for later commands.
    pub fn set_env(&mut self, name: &str, value: impl Into<String>) {
        self.env.insert(name.to_owned(), value.into());
    }

    /// Runs `sequencer-watchdog <args>` and captures everything.
    pub async fn run(&self, args: &[&str]) -> Result<Run> {
        let mut env = BTreeMap::from([
            ("CARTESI_WATCHDOG_DEADLINE".to_owned(), "60s".to_owned()),
            ("RUST_LOG".to_owned(), "info".to_owned()),
        ]);
        env.extend(self.env.clone());
        let mut command = tokio::process::Command::new(&self.binary);
        let name = match &self.container {
            None => {
                command.args(args);
                None
            }
            Some(spec) => {
                let name = spec.name.clone().unwrap_or_else(container_name);
                // With more networks the container is made, joined to them, then started with
                // its output attached (`docker start -a` exits with the command's status).
                let verb = if spec.extra_networks.is_empty() {
                    "run"
                } else {
                    "create"
                };
                command.args([verb, "--rm", "--name", &name, "--network", &spec.network]);
                if let Some(label) = &spec.label {
                    command.args(["--label", label]);
                }
                command.args(["--volume", &format!("{}:{IMAGE_STATE_VOLUME}", spec.volume)]);
                for key in env.keys() {
                    command.args(["--env", key]);
                }
                command.arg(&spec.image).args(args);
                if !spec.extra_networks.is_empty() {
                    scrubbed_env(&mut command, &env);
                    prepare_container(&mut command, &spec.extra_networks, &name).await?;
                    command = tokio::process::Command::new(&self.binary);
                    command.args(["start", "--attach", &name]);
                }
                Some(name)
            }
        };
        scrubbed_env(&mut command, &env);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(output) => output?,
            Err(_) => {
                if let Some(name) = &name {
                    // The client is killed on drop; the container it started is not.
                    let _ = crate::container::docker(&["rm", "--force", name]).await;
                }
                bail!(
                    "`sequencer-watchdog {}` did not finish in {:?}",
                    args.join(" "),
                    self.timeout
                );
            }
        };
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let lines: Vec<&str> = stdout.lines().collect();
        let summary_line = lines.last().copied().unwrap_or_default().to_owned();
        let summary: Value = serde_json::from_str(&summary_line).with_context(|| {
            format!(
                "summary line of `sequencer-watchdog {}`: {summary_line:?}",
                args.join(" ")
            )
        })?;
        let events = stderr
            .lines()
            .filter(|line| line.starts_with(EVENT_PREFIX))
            .map(str::to_owned)
            .collect();
        Ok(Run {
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            exit_code: output.status.code(),
            summary,
            summary_line,
            events,
            stderr,
        })
    }
}

/// Clears `command`'s environment but for what the Docker client and the watchdog need, then
/// sets `env`.
fn scrubbed_env(command: &mut tokio::process::Command, env: &BTreeMap<String, String>) {
    command
        .env_clear()
        .envs(
            ["PATH", "HOME", "LANG", "DOCKER_HOST", "DOCKER_CONFIG"]
                .iter()
                .filter_map(|k| Some((*k, std::env::var(k).ok()?))),
        )
        .envs(env);
}

/// Runs `create` (the `docker create …` in `command`, with the command's environment, which
/// the container's `--env NAME`s read) and joins the container to `networks`.
async fn prepare_container(
    command: &mut tokio::process::Command,
    networks: &[String],
    name: &str,
) -> Result<()> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .context("`docker create` did not finish in 30 s")??;
    if !output.status.success() {
        bail!(
            "`docker create` of the watchdog's container failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    for network in networks {
        if let Err(e) = crate::container::docker(&["network", "connect", network, name]).await {
            let _ = crate::container::docker(&["rm", "--force", name]).await;
            return Err(e.context("joining the watchdog's container to a network"));
        }
    }
    Ok(())
}

/// A container name no other run uses.
fn container_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "devnet-watchdog-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
