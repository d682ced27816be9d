//! The state directory of `devnet up`: `devnet.json` (written atomically: temporary file, fsync,
//! rename, directory fsync) and `supervisor.lock`, an advisory lock the supervisor holds for its
//! whole life — the only truth about whether it is alive.
//!
//! Layout: `devnet.json`, `supervisor.lock`, `events.jsonl` (lifecycle events), `logs/`
//! (`anvil.log`, `sequencer.log`, `supervisor.log` when detached), `sequencer-data/` (the
//! sequencer's replica), `watchdog/` (`CARTESI_WATCHDOG_STATE_DIR`), `anvil/` (anvil's cache
//! path and, after `down --keep`, `state.json`), `kept.json` (the kept chain), `snapshots/`;
//! while a supervisor runs, `control.sock` (its control API) and, when detached,
//! `supervisor.pid`.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::Address;
use anyhow::{Context as _, Result, bail};
use devnet_pins::{self as pins, ANVIL_ADDRESSES, roles};
use serde::{Deserialize, Serialize};

use crate::contracts::Deployment;

/// The state file's name.
pub const STATE_FILE: &str = "devnet.json";
/// The supervisor lock's name.
pub const LOCK_FILE: &str = "supervisor.lock";
/// The format version written into [`StateFile::format`].
pub const STATE_FORMAT: u32 = 1;

/// The supervisor's overall state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Bringing the stack up.
    Starting,
    /// Everything runs; the endpoints answer.
    Ready,
    /// The chain halted (the L1 head or the sequencer's checkpoint stands still; `ready` again
    /// once they move), or a component exhausted its restarts and the supervisor is stopping.
    Degraded,
    /// Bring-up failed.
    Failed,
    /// Tearing down.
    Stopping,
    /// Torn down.
    Stopped,
}

/// One supervised component's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentState {
    /// Not started yet.
    Starting,
    /// Running.
    Running,
    /// Exited; a restart is scheduled.
    Backoff,
    /// Exited too often; not restarted any more.
    Failed,
    /// Stopped by the supervisor.
    Stopped,
}

/// A process identified by pid and start time (so a recycled pid is never mistaken for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// The pid.
    pub pid: u32,
    /// Start time in clock ticks since boot (`/proc/<pid>/stat` field 22).
    pub start_time: Option<u64>,
}

/// One supervised component (anvil or the sequencer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// Its state.
    pub state: ComponentState,
    /// The running process (also its process group leader), if any.
    pub process: Option<ProcessRecord>,
    /// Its own endpoint (behind the front).
    pub url: Option<String>,
    /// Its control endpoint (the sequencer's control API).
    pub control_url: Option<String>,
    /// Successful restarts so far.
    pub restarts: u32,
    /// `ok`, or why the last health check failed.
    pub health: Option<String>,
    /// How the last process ended.
    pub last_exit: Option<String>,
    /// Its log file.
    pub log: PathBuf,
}

impl Component {
    /// A component that has not started yet.
    pub fn starting(log: PathBuf) -> Self {
        Self {
            state: ComponentState::Starting,
            process: None,
            url: None,
            control_url: None,
            restarts: 0,
            health: None,
            last_exit: None,
            log,
        }
    }
}

/// The supervised components.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Components {
    /// The L1.
    pub anvil: Component,
    /// The devnet sequencer.
    pub sequencer: Component,
}

/// The stable endpoints (supervisor-owned fronts).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    /// The L1 JSON-RPC endpoint.
    pub l1_rpc: String,
    /// The sequencer's public API.
    pub sequencer: String,
}

/// The deployed addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addresses {
    /// `InputBox`.
    #[serde(with = "checksummed")]
    pub input_box: Address,
    /// `EtherPortal`.
    #[serde(with = "checksummed")]
    pub ether_portal: Address,
    /// `ERC20Portal`.
    #[serde(with = "checksummed")]
    pub erc20_portal: Address,
    /// `ApplicationFactory`.
    #[serde(with = "checksummed")]
    pub application_factory: Address,
    /// The ERC-20 test token.
    #[serde(with = "checksummed")]
    pub token: Address,
    /// The wallet application.
    #[serde(with = "checksummed")]
    pub application: Address,
    /// The block that created the application.
    pub application_block: u64,
    /// The batch submitter (anvil account 9, the wallet's `sequencer_address`).
    #[serde(with = "checksummed")]
    pub submitter: Address,
}

impl From<&Deployment> for Addresses {
    fn from(d: &Deployment) -> Self {
        Self {
            input_box: d.input_box,
            ether_portal: d.ether_portal,
            erc20_portal: d.erc20_portal,
            application_factory: d.application_factory,
            token: d.token,
            application: d.application,
            application_block: d.application_block,
            submitter: ANVIL_ADDRESSES[roles::SUBMITTER],
        }
    }
}

/// A role of an anvil default account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRole {
    /// The account index (anvil's default mnemonic).
    pub index: usize,
    /// What the devnet uses it for.
    pub role: String,
    /// Its address.
    #[serde(with = "checksummed")]
    pub address: Address,
}

/// The account roles of the devnet.
pub fn account_roles() -> Vec<AccountRole> {
    let role = |index: usize, role: &str| AccountRole {
        index,
        role: role.to_owned(),
        address: ANVIL_ADDRESSES[index],
    };
    let mut roles = vec![
        role(roles::DEPLOYER, "deployer"),
        role(roles::ALICE, "alice"),
        role(roles::BOB, "bob"),
    ];
    roles.extend((3..=7).map(|i| role(i, "load")));
    roles.push(role(roles::DIRECT_INPUTS, "direct-inputs"));
    roles.push(role(roles::SUBMITTER, "submitter"));
    roles
}

/// Versions of what runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versions {
    /// This crate.
    pub devnet: String,
    /// The pinned anvil.
    pub anvil: String,
    /// The Rollups contracts.
    pub rollups: String,
}

impl Default for Versions {
    fn default() -> Self {
        Self {
            devnet: env!("CARGO_PKG_VERSION").to_owned(),
            anvil: pins::ANVIL.version.to_owned(),
            rollups: pins::ROLLUPS_VERSION.to_owned(),
        }
    }
}

/// `devnet.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateFile {
    /// [`STATE_FORMAT`].
    pub format: u32,
    /// The run id children carry in `DEVNET_RUN_ID`.
    pub run_id: String,
    /// The supervisor's state.
    pub state: RunState,
    /// Bumped whenever the L1 is re-provisioned (its history is then new: re-run
    /// `sequencer-watchdog init`).
    pub generation: u64,
    /// The state directory (absolute).
    pub state_dir: PathBuf,
    /// The supervisor process.
    pub supervisor: ProcessRecord,
    /// The L1 chain id.
    pub chain_id: u64,
    /// The mining mode (`auto`, `manual`, `interval:N`).
    pub mining: String,
    /// The stable endpoints.
    pub endpoints: Endpoints,
    /// The deployed addresses (once deployed).
    pub addresses: Option<Addresses>,
    /// Roles of the anvil default accounts.
    pub accounts: Vec<AccountRole>,
    /// Versions.
    pub versions: Versions,
    /// The supervised components.
    pub components: Components,
    /// Why the supervisor is degraded or failed.
    pub reason: Option<String>,
    /// When the supervisor started (ms since the Unix epoch).
    pub started_at_ms: u64,
    /// Milliseconds from start to ready.
    pub ready_after_ms: Option<u64>,
    /// When this file was written (ms since the Unix epoch).
    pub updated_at_ms: u64,
}

impl StateFile {
    /// Its path in `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// Reads `dir/devnet.json`; `None` when there is none.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        let path = Self::path(dir);
        let Some(state) = read_json::<Self>(&path)? else {
            return Ok(None);
        };
        if state.format != STATE_FORMAT {
            bail!(
                "{} has format {}, this devnet reads {STATE_FORMAT}",
                path.display(),
                state.format
            );
        }
        Ok(Some(state))
    }

    /// Writes `dir/devnet.json` atomically, stamping `updated_at_ms`.
    pub fn write(&mut self, dir: &Path) -> Result<()> {
        self.updated_at_ms = now_ms();
        let text = serde_json::to_string_pretty(self).context("encoding the state file")?;
        write_atomic(&Self::path(dir), text.as_bytes())
    }
}

/// Addresses as EIP-55 strings.
mod checksummed {
    use alloy::primitives::Address;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(address: &Address, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&address.to_checksum(None))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Reads and parses the JSON file `path`; `None` when there is none. Errors name the path.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .with_context(|| format!("parsing {}", path.display()))
}

/// Writes `path` atomically: a temporary file in the same directory, fsync, rename, directory
/// fsync. A reader sees the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .with_context(|| format!("{} has no parent", path.display()))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} has no file name", path.display()))?;
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(file);
    fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}

/// Creates `dir` (mode 0700 for every directory created) if it does not exist.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// The supervisor's lock on a state directory; released on drop.
#[derive(Debug)]
pub struct SupervisorLock {
    _file: File,
}

impl SupervisorLock {
    /// Takes the lock on `dir`, retrying for `wait` (a concurrent `status` holds it shared for
    /// an instant). Fails when another supervisor holds it.
    pub fn acquire(dir: &Path, wait: Duration) -> Result<Self> {
        let path = dir.join(LOCK_FILE);
        let file = open_lock(&path)?;
        let deadline = std::time::Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(TryLockError::WouldBlock) => {
                    bail!("another devnet supervisor holds {}", path.display())
                }
                Err(TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("locking {}", path.display()));
                }
            }
        }
    }
}

/// Whether a supervisor holds the lock on `dir` (probed with a shared lock taken and released
/// at once).
pub fn supervisor_alive(dir: &Path) -> Result<bool> {
    let path = dir.join(LOCK_FILE);
    if !path.exists() {
        return Ok(false);
    }
    let file = open_lock(&path)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("probing {}", path.display()))
        }
    }
}

fn open_lock(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> StateFile {
        StateFile {
            format: STATE_FORMAT,
            run_id: "r".to_owned(),
            state: RunState::Ready,
            generation: 0,
            state_dir: dir.to_owned(),
            supervisor: ProcessRecord {
                pid: 1,
                start_time: Some(2),
            },
            chain_id: pins::CHAIN_ID,
            mining: "auto".to_owned(),
            endpoints: Endpoints::default(),
            addresses: None,
            accounts: account_roles(),
            versions: Versions::default(),
            components: Components {
                anvil: Component::starting(dir.join("logs/anvil.log")),
                sequencer: Component::starting(dir.join("logs/sequencer.log")),
            },
            reason: None,
            started_at_ms: 0,
            ready_after_ms: None,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn the_state_file_round_trips_atomically() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(StateFile::read(dir.path()).unwrap(), None);
        let mut state = sample(dir.path());
        state.write(dir.path()).unwrap();
        let back = StateFile::read(dir.path()).unwrap().unwrap();
        assert_eq!(back, state);
        assert!(back.updated_at_ms > 0);
        let text = fs::read_to_string(StateFile::path(dir.path())).unwrap();
        assert!(text.contains("\"state\": \"ready\""), "{text}");
        assert!(
            text.contains("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"),
            "EIP-55 addresses"
        );
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        assert_eq!(account_roles().len(), 10);
    }

    #[test]
    fn the_lock_is_exclusive_and_probed_without_taking_it() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!supervisor_alive(dir.path()).unwrap());
        let lock = SupervisorLock::acquire(dir.path(), Duration::ZERO).unwrap();
        assert!(supervisor_alive(dir.path()).unwrap());
        assert!(SupervisorLock::acquire(dir.path(), Duration::from_millis(50)).is_err());
        drop(lock);
        assert!(!supervisor_alive(dir.path()).unwrap());
        let _again = SupervisorLock::acquire(dir.path(), Duration::ZERO).unwrap();
    }
}
