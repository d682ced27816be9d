//! Environment variables (spec `watchdog.md` §3), as documented constants, and [`Env`], the
//! snapshot of the environment the binary hands to the library (which never reads
//! `std::env` itself).
//!
//! Precedence is flag > environment > `config.json` > default. The names are compatible with
//! the Lua watchdog; `CARTESI_WATCHDOG_RETRY_*` and `CARTESI_WATCHDOG_LUA_*` are ignored with a
//! warning.

use std::{collections::BTreeMap, ffi::OsString};

/// Prefix of every variable of the watchdog.
pub const PREFIX: &str = "CARTESI_WATCHDOG_";

/// `--state-dir`: the state directory (absolute). Optional for snapshot, scan and replay.
pub const STATE_DIR: &str = "CARTESI_WATCHDOG_STATE_DIR";
/// `--sequencer-url`: the sequencer base URL (no userinfo). Required at init.
pub const SEQUENCER_URL: &str = "CARTESI_WATCHDOG_SEQUENCER_URL";
/// `--rpc-url`: the L1 JSON-RPC endpoint. Never persisted, always redacted.
pub const BLOCKCHAIN_HTTP_ENDPOINT: &str = "CARTESI_WATCHDOG_BLOCKCHAIN_HTTP_ENDPOINT";
/// `--confirm-rpc-url`: a second L1 endpoint that must confirm inputs before a latch.
pub const CONFIRM_HTTP_ENDPOINT: &str = "CARTESI_WATCHDOG_CONFIRM_HTTP_ENDPOINT";
/// `--chain-id`: the L1 chain id (identity; must equal `eth_chainId`).
pub const BLOCKCHAIN_ID: &str = "CARTESI_WATCHDOG_BLOCKCHAIN_ID";
/// `--app-address`: the application contract (identity).
pub const APP_ADDRESS: &str = "CARTESI_WATCHDOG_APP_ADDRESS";
/// `--input-box-address`: the InputBox (identity; default `app.getInputBox()`).
pub const CONTRACTS_INPUT_BOX_ADDRESS: &str = "CARTESI_WATCHDOG_CONTRACTS_INPUT_BOX_ADDRESS";
/// `--machine-backend`: `native` or `cartesi` (identity).
pub const MACHINE_BACKEND: &str = "CARTESI_WATCHDOG_MACHINE_BACKEND";
/// `--state-source`: `inspect` or `range:<label>` (identity).
pub const STATE_SOURCE: &str = "CARTESI_WATCHDOG_STATE_SOURCE";
/// `--libcartesi-path`: where to load libcartesi from. Never persisted.
pub const LIBCARTESI_PATH: &str = "CARTESI_WATCHDOG_LIBCARTESI_PATH";
/// `--snapshot-dir`: the bootstrap machine or `native.bin` directory (init only).
pub const CM_SNAPSHOT_DIR: &str = "CARTESI_WATCHDOG_CM_SNAPSHOT_DIR";
/// `--snapshot-safe-block`: the bootstrap block B0 (init only).
pub const CM_SNAPSHOT_SAFE_BLOCK: &str = "CARTESI_WATCHDOG_CM_SNAPSHOT_SAFE_BLOCK";
/// `--cm-image-hash`: expected root hash of the cartesi bootstrap.
pub const CM_IMAGE_HASH: &str = "CARTESI_WATCHDOG_CM_IMAGE_HASH";
/// `--long-block-range-error-codes`: JSON-RPC codes that mean "range too large".
pub const LONG_BLOCK_RANGE_ERROR_CODES: &str = "CARTESI_WATCHDOG_LONG_BLOCK_RANGE_ERROR_CODES";
/// `--l1-head-tag`: `safe` or `finalized`.
pub const L1_HEAD_TAG: &str = "CARTESI_WATCHDOG_L1_HEAD_TAG";
/// `--metrics-file`: where `status.prom` is written. Never persisted.
pub const METRICS_FILE: &str = "CARTESI_WATCHDOG_METRICS_FILE";
/// `--deadline`: per-command deadline (`30m` by default, `0` = none).
pub const DEADLINE: &str = "CARTESI_WATCHDOG_DEADLINE";
/// `--max-rpc-requests`: request budget per provider (default 5000).
pub const MAX_RPC_REQUESTS: &str = "CARTESI_WATCHDOG_MAX_RPC_REQUESTS";
/// `--recovery-threads`: threads recovering user-op signatures while the native engine replays
/// (1..=1024; default: the machine's cores).
pub const RECOVERY_THREADS: &str = "CARTESI_WATCHDOG_RECOVERY_THREADS";
/// `--max-finality-lag-blocks` (tick): finality lag past which the sequencer is stalled
/// (default 1500 = the 1200-block backstop window + 300).
pub const MAX_FINALITY_LAG_BLOCKS: &str = "CARTESI_WATCHDOG_MAX_FINALITY_LAG_BLOCKS";
/// `--log-format`: `text` or `json`.
pub const LOG_FORMAT: &str = "CARTESI_WATCHDOG_LOG_FORMAT";
/// Set to `1` to print the release-info line and exit 0, like `--version`.
pub const PRINT_RELEASE_INFO: &str = "CARTESI_WATCHDOG_PRINT_RELEASE_INFO";
/// Lua compatibility: if set, it must equal the standard `InputAdded` topic0.
pub const INPUT_ADDED_TOPIC: &str = "CARTESI_WATCHDOG_INPUT_ADDED_TOPIC";
/// Prefix of the Lua watchdog's retry settings: ignored with a warning.
pub const RETRY_PREFIX: &str = "CARTESI_WATCHDOG_RETRY_";
/// Prefix of the Lua watchdog's interpreter settings: ignored with a warning.
pub const LUA_PREFIX: &str = "CARTESI_WATCHDOG_LUA_";
/// The log filter (unprefixed, `tracing` syntax; default `info`).
pub const RUST_LOG: &str = "RUST_LOG";

/// Every variable read by name, in the order of the spec's settings table.
pub const ALL: &[&str] = &[
    STATE_DIR,
    SEQUENCER_URL,
    BLOCKCHAIN_HTTP_ENDPOINT,
    CONFIRM_HTTP_ENDPOINT,
    BLOCKCHAIN_ID,
    APP_ADDRESS,
    CONTRACTS_INPUT_BOX_ADDRESS,
    MACHINE_BACKEND,
    STATE_SOURCE,
    LIBCARTESI_PATH,
    CM_SNAPSHOT_DIR,
    CM_SNAPSHOT_SAFE_BLOCK,
    CM_IMAGE_HASH,
    LONG_BLOCK_RANGE_ERROR_CODES,
    L1_HEAD_TAG,
    METRICS_FILE,
    DEADLINE,
    MAX_RPC_REQUESTS,
    RECOVERY_THREADS,
    MAX_FINALITY_LAG_BLOCKS,
    LOG_FORMAT,
    PRINT_RELEASE_INFO,
    INPUT_ADDED_TOPIC,
    RUST_LOG,
];

/// A snapshot of the process environment, passed explicitly to the library.
///
/// Values that are not UTF-8 are kept lossily converted (and then fail validation where it
/// matters). Empty values count as unset, as in the Lua watchdog's shell wrapper.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// An empty environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds an environment from `(name, value)` pairs, e.g. `std::env::vars_os()`.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<OsString>,
        V: Into<OsString>,
    {
        let vars = pairs
            .into_iter()
            .map(|(k, v)| {
                let (k, v): (OsString, OsString) = (k.into(), v.into());
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        Self { vars }
    }

    /// Sets a variable (builder style, for tests and embedders).
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    /// The value of `name`, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Whether `name` is set to a true value (`1`, `true`, `yes`, case-insensitive).
    pub fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
    }

    /// Names of set variables the watchdog ignores (`RETRY_*`, `LUA_*`), for a warning.
    pub fn ignored(&self) -> Vec<&str> {
        self.vars
            .keys()
            .map(String::as_str)
            .filter(|k| k.starts_with(RETRY_PREFIX) || k.starts_with(LUA_PREFIX))
            .collect()
    }

    /// Names of set `CARTESI_WATCHDOG_*` variables that the watchdog does not know.
    pub fn unknown(&self) -> Vec<&str> {
        self.vars
            .keys()
            .map(String::as_str)
            .filter(|k| k.starts_with(PREFIX) && !ALL.contains(k))
            .filter(|k| !k.starts_with(RETRY_PREFIX) && !k.starts_with(LUA_PREFIX))
            .collect()
    }
}

impl std::fmt::Debug for Env {
    /// Names only: values may be secrets (RPC URLs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prefixed_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for name in ALL {
            assert!(seen.insert(*name));
            assert!(name.starts_with(PREFIX) || *name == RUST_LOG, "{name}");
        }
    }

    #[test]
    fn empty_is_unset_and_debug_hides_values() {
        let env = Env::new()
            .with(STATE_DIR, "")
            .with(BLOCKCHAIN_HTTP_ENDPOINT, "https://h/KEY")
            .with("CARTESI_WATCHDOG_RETRY_COUNT", "3")
            .with("CARTESI_WATCHDOG_TYPO", "1")
            .with(PRINT_RELEASE_INFO, "1");
        assert_eq!(env.get(STATE_DIR), None);
        assert!(env.flag(PRINT_RELEASE_INFO));
        assert!(!env.flag(STATE_DIR));
        assert_eq!(env.ignored(), vec!["CARTESI_WATCHDOG_RETRY_COUNT"]);
        assert_eq!(env.unknown(), vec!["CARTESI_WATCHDOG_TYPO"]);
        assert!(!format!("{env:?}").contains("KEY"));
    }
}
