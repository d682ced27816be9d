//! Upstream mode: run the real Cartesi sequencer binary instead of the built-in one.
//!
//! **Untested here**: the upstream binary is not available in this environment, so this mode is
//! exercised by nothing but its argument handling. It runs `PATH setup`, then `PATH run` in its
//! own process group, configured only through the environment:
//!
//! | Variable | Value |
//! |---|---|
//! | `CARTESI_SEQUENCER_BLOCKCHAIN_HTTP_ENDPOINT` | the L1 endpoint |
//! | `CARTESI_SEQUENCER_BLOCKCHAIN_ID` | the chain id |
//! | `CARTESI_SEQUENCER_APP_ADDRESS` | the application |
//! | `CARTESI_SEQUENCER_BATCH_SUBMITTER_ADDRESS` | the wallet's sequencer address (anvil account 9) |
//! | `CARTESI_SEQUENCER_CHECKPOINT_BLOCK` | `0` |
//! | `CARTESI_SEQUENCER_FEE_ORACLE_FIXED_LOG_GAS_PRICE` | `0` (frame fee 1356) |
//! | `CARTESI_SEQUENCER_AUTH_PRIVATE_KEY_FILE` | a 0600 file with anvil key 9 in the data dir |
//! | `CARTESI_SEQUENCER_HTTP_ADDR` | the listen address (a free loopback port when `:0`) |
//! | `CARTESI_SEQUENCER_DATA_DIR` | `--state-dir`, else a temporary directory |
//! | `CARTESI_SEQUENCER_MAX_BATCH_OPEN_SECONDS` | `5` |
//!
//! Any other `CARTESI_SEQUENCER_*` variable of the caller's environment is passed through, and a
//! caller's value wins over these defaults. No sequencer fault modes exist in this mode.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use devnet_pins::{ANVIL_KEYS, roles};
use rustix::process::{Pid, Signal, kill_process_group};

use super::config::SequencerConfig;

const PREFIX: &str = "CARTESI_SEQUENCER_";

/// The upstream sequencer running as a child process group.
#[derive(Debug)]
pub struct UpstreamSequencer {
    child: Child,
    listen: SocketAddr,
    _data: Option<tempfile::TempDir>,
}

/// The environment for the upstream binary: defaults from `config`, then the caller's
/// `CARTESI_SEQUENCER_*` variables on top.
pub fn upstream_env(
    config: &SequencerConfig,
    listen: SocketAddr,
    data_dir: &Path,
    key_file: &Path,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut set = |name: &str, value: String| {
        env.insert(format!("{PREFIX}{name}"), value);
    };
    set("BLOCKCHAIN_HTTP_ENDPOINT", config.rpc_url.clone());
    set("BLOCKCHAIN_ID", config.chain_id.to_string());
    set("APP_ADDRESS", config.app.to_checksum(None));
    set(
        "BATCH_SUBMITTER_ADDRESS",
        config.wallet.sequencer_address.to_checksum(None),
    );
    set("CHECKPOINT_BLOCK", "0".to_owned());
    set("FEE_ORACLE_FIXED_LOG_GAS_PRICE", "0".to_owned());
    set("AUTH_PRIVATE_KEY_FILE", key_file.display().to_string());
    set("HTTP_ADDR", listen.to_string());
    set("DATA_DIR", data_dir.display().to_string());
    set("MAX_BATCH_OPEN_SECONDS", "5".to_owned());
    for (name, value) in std::env::vars() {
        if name.starts_with(PREFIX) && name != "CARTESI_SEQUENCER_BIN" {
            env.insert(name, value);
        }
    }
    env
}

impl UpstreamSequencer {
    /// Runs `bin setup`, then spawns `bin run`.
    pub fn spawn(config: &SequencerConfig, bin: &Path) -> Result<Self> {
        config.validate()?;
        let listen = free_port(config.listen)?;
        let (data_dir, temp) = match &config.state_dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let temp = tempfile::tempdir().context("temporary data dir")?;
                (temp.path().to_owned(), Some(temp))
            }
        };
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        let key_file = write_key(&data_dir)?;
        let env = upstream_env(config, listen, &data_dir, &key_file);
        let command = |arg: &str| {
            let mut command = Command::new(bin);
            command
                .arg(arg)
                .env_clear()
                .envs(
                    std::env::vars()
                        .filter(|(n, _)| matches!(n.as_str(), "PATH" | "HOME" | "LANG")),
                )
                .envs(&env)
                .stdin(Stdio::null())
                .stdout(Stdio::inherit())
                .stderr(Stdio::inherit())
                .process_group(0);
            command
        };
        let status = command("setup")
            .status()
            .with_context(|| format!("running {} setup", bin.display()))?;
        ensure!(status.success(), "{} setup failed: {status}", bin.display());
        let child = command("run")
            .spawn()
            .with_context(|| format!("spawning {} run", bin.display()))?;
        Ok(Self {
            child,
            listen,
            _data: temp,
        })
    }

    /// The address given to the upstream binary.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// The start-up line: `{"listen", "url", "control": null, "mode": "upstream"}`.
    pub fn announcement(&self) -> serde_json::Value {
        serde_json::json!({
            "listen": self.listen.to_string(),
            "url": format!("http://{}", self.listen),
            "control": null,
            "mode": "upstream",
        })
    }

    /// Waits for the child to exit, or for SIGINT/SIGTERM, then stops its group (SIGTERM,
    /// 3 s, SIGKILL).
    pub async fn wait(mut self) -> Result<ExitStatus> {
        loop {
            if let Some(status) = self.child.try_wait().context("waiting for the upstream")? {
                return Ok(status);
            }
            tokio::select! {
                signal = super::cli::shutdown_signal() => {
                    signal?;
                    return self.stop().await;
                }
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }

    async fn stop(&mut self) -> Result<ExitStatus> {
        let pid = i32::try_from(self.child.id())
            .ok()
            .and_then(Pid::from_raw)
            .context("the upstream pid")?;
        let _ = kill_process_group(pid, Signal::TERM);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = kill_process_group(pid, Signal::KILL);
        Ok(self.child.wait()?)
    }
}

/// `addr`, with a free loopback port picked when the port is 0.
fn free_port(addr: SocketAddr) -> Result<SocketAddr> {
    if addr.port() != 0 {
        return Ok(addr);
    }
    let probe = std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
    let picked = probe.local_addr()?;
    drop(probe);
    if picked.port() == 0 {
        bail!("no free port on {addr}");
    }
    Ok(picked)
}

/// Writes anvil key 9 (the devnet submitter, a public test key) to `dir/submitter.key`.
fn write_key(dir: &Path) -> Result<PathBuf> {
    use std::io::Write as _;
    let path = dir.join("submitter.key");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{}", ANVIL_KEYS[roles::SUBMITTER])?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use alloy::primitives::Address;

    use super::*;

    #[test]
    fn the_environment_names_the_deployment() {
        let config = SequencerConfig::devnet("http://127.0.0.1:8545", Address::repeat_byte(1));
        let listen: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let env = upstream_env(&config, listen, Path::new("/d"), Path::new("/d/k"));
        assert_eq!(env["CARTESI_SEQUENCER_HTTP_ADDR"], "127.0.0.1:3000");
        assert_eq!(env["CARTESI_SEQUENCER_BLOCKCHAIN_ID"], "31337");
        assert_eq!(
            env["CARTESI_SEQUENCER_BATCH_SUBMITTER_ADDRESS"],
            "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"
        );
        assert_eq!(env["CARTESI_SEQUENCER_FEE_ORACLE_FIXED_LOG_GAS_PRICE"], "0");
        assert!(free_port("127.0.0.1:0".parse().unwrap()).unwrap().port() > 0);
    }
}
