//! Settings of the state commands (spec §3): flag > environment > `config.json` > default,
//! resolved once. [`Settings`] holds what flags and environment said; the `config.json` layer
//! and the defaults are applied by the command that opens the state directory.

use std::fmt;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use alloy_primitives::Address;
use l1::HeadTag;
use sequencer_client::RedactedUrl;

use crate::cli::{DeadlineArgs, L1Args, ScanArgs, WatchArgs};
use crate::env::{self, Env};
use crate::settings::{
    Deadline, parse_address, parse_deadline, parse_recovery_threads, parse_u64, parse_url, pick,
};
use crate::{Error, Result};

/// Default request budget per provider.
pub const DEFAULT_MAX_RPC_REQUESTS: u64 = 5000;
/// Default cap on a downloaded sequencer state.
pub const DEFAULT_MAX_STATE_BYTES: u64 = 1 << 30;
/// Default cycle budget per input (2^48).
pub const DEFAULT_MAX_CYCLES_PER_INPUT: u64 = 1 << 48;

/// Which machine computes the canonical state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The compiled-in canonical engine.
    Native,
    /// The Cartesi Machine through libcartesi.
    Cartesi,
}

impl Backend {
    /// `native` or `cartesi`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Native => "native",
            Backend::Cartesi => "cartesi",
        }
    }

    /// Parses `native` or `cartesi`.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        match text {
            "native" => Ok(Backend::Native),
            "cartesi" => Ok(Backend::Cartesi),
            other => Err(format!("expected native or cartesi, got {other:?}")),
        }
    }
}

/// How the target block B is pinned (spec §5 step 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinMode {
    /// The digest route, falling back to a download when the route is absent.
    Auto,
    /// The digest route only.
    Digest,
    /// Always download the state.
    Download,
}

impl PinMode {
    fn parse(text: &str) -> std::result::Result<Self, String> {
        match text {
            "auto" => Ok(PinMode::Auto),
            "digest" => Ok(PinMode::Digest),
            "download" => Ok(PinMode::Download),
            other => Err(format!("expected auto, digest or download, got {other:?}")),
        }
    }
}

/// Parses a state source: `inspect` or `range:<[a-z][a-z0-9-]*>`.
pub fn parse_state_source(text: &str) -> std::result::Result<String, String> {
    if text == "inspect" {
        return Ok(text.to_owned());
    }
    let valid = text.strip_prefix("range:").is_some_and(|label| {
        let mut chars = label.chars();
        chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    });
    if valid {
        Ok(text.to_owned())
    } else {
        Err(format!("expected inspect or range:<label>, got {text:?}"))
    }
}

fn parse_head_tag(text: &str) -> std::result::Result<HeadTag, String> {
    match text {
        "safe" => Ok(HeadTag::Safe),
        "finalized" => Ok(HeadTag::Finalized),
        other => Err(format!("expected safe or finalized, got {other:?}")),
    }
}

/// What the flags and the environment say. `None` means "from `config.json`, else default".
#[derive(Clone)]
pub struct Settings {
    /// The state directory (absolute).
    pub state_dir: Option<PathBuf>,
    /// L1 endpoint (never persisted).
    pub rpc_url: Option<RedactedUrl>,
    /// Confirmation L1 endpoint (never persisted).
    pub confirm_rpc_url: Option<RedactedUrl>,
    /// Sequencer base URL (persisted at init; a tick-time override otherwise).
    pub sequencer_url: Option<RedactedUrl>,
    /// Identity: chain id.
    pub chain_id: Option<u64>,
    /// Identity: application.
    pub app_address: Option<Address>,
    /// Identity: InputBox.
    pub input_box_address: Option<Address>,
    /// Identity: backend.
    pub machine_backend: Option<Backend>,
    /// Identity: state source.
    pub state_source: Option<String>,
    /// libcartesi path (never persisted).
    pub libcartesi_path: Option<PathBuf>,
    /// Range-error codes.
    pub range_codes: Option<Vec<i64>>,
    /// The L1 tag trusted as final.
    pub l1_head_tag: Option<HeadTag>,
    /// Metrics file (default `<state>/status.prom`).
    pub metrics_file: Option<PathBuf>,
    /// Pin mode.
    pub state_pin: PinMode,
    /// Download cap.
    pub max_state_bytes: u64,
    /// Per-command deadline.
    pub deadline: Deadline,
    /// Request budget per provider.
    pub max_rpc_requests: u64,
    /// `tick`: the finality lag (blocks) past which the sequencer counts as stalled.
    pub max_finality_lag_blocks: u64,
    /// Whether a progress bar may be drawn (TTY only).
    pub progress: bool,
    /// Cap on the threads recovering signatures in the native engine (`None`: every core).
    pub recovery_threads: Option<NonZeroUsize>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // URLs print redacted through their own Debug.
        f.debug_struct("Settings")
            .field("state_dir", &self.state_dir)
            .field("rpc_url", &self.rpc_url)
            .field("confirm_rpc_url", &self.confirm_rpc_url)
            .field("sequencer_url", &self.sequencer_url)
            .field("chain_id", &self.chain_id)
            .field("app_address", &self.app_address)
            .field("input_box_address", &self.input_box_address)
            .field("machine_backend", &self.machine_backend)
            .field("state_source", &self.state_source)
            .field("l1_head_tag", &self.l1_head_tag)
            .field("recovery_threads", &self.recovery_threads)
            .finish_non_exhaustive()
    }
}

impl Default for Settings {
    /// Nothing from flags or environment: every value from `config.json` or its default.
    fn default() -> Self {
        Self {
            state_dir: None,
            rpc_url: None,
            confirm_rpc_url: None,
            sequencer_url: None,
            chain_id: None,
            app_address: None,
            input_box_address: None,
            machine_backend: None,
            state_source: None,
            libcartesi_path: None,
            range_codes: None,
            l1_head_tag: None,
            metrics_file: None,
            state_pin: PinMode::Auto,
            max_state_bytes: DEFAULT_MAX_STATE_BYTES,
            deadline: Deadline::DEFAULT,
            max_rpc_requests: DEFAULT_MAX_RPC_REQUESTS,
            max_finality_lag_blocks: crate::liveness::DEFAULT_MAX_FINALITY_LAG_BLOCKS,
            progress: false,
            recovery_threads: None,
        }
    }
}

impl Settings {
    /// Resolves flags over the environment for the state commands.
    pub fn resolve(args: &WatchArgs, env: &Env) -> Result<Self> {
        let common = Self::resolve_l1(args.state_dir.clone(), &args.l1, &args.deadline, env)?;
        Ok(Self {
            confirm_rpc_url: pick(
                args.confirm_rpc_url.clone(),
                env,
                env::CONFIRM_HTTP_ENDPOINT,
                parse_url,
            )?,
            sequencer_url: pick(
                args.sequencer_url.clone(),
                env,
                env::SEQUENCER_URL,
                parse_url,
            )?,
            machine_backend: match args.machine_backend.as_deref() {
                Some(text) => {
                    Some(Backend::parse(text).map_err(|e| Error::config(env::MACHINE_BACKEND, e))?)
                }
                None => pick(None, env, env::MACHINE_BACKEND, Backend::parse)?,
            },
            state_source: match args.state_source.as_deref() {
                Some(text) => Some(
                    parse_state_source(text).map_err(|e| Error::config(env::STATE_SOURCE, e))?,
                ),
                None => pick(None, env, env::STATE_SOURCE, parse_state_source)?,
            },
            libcartesi_path: pick(
                args.libcartesi_path.clone(),
                env,
                env::LIBCARTESI_PATH,
                |s| Ok(PathBuf::from(s)),
            )?,
            l1_head_tag: match args.l1_head_tag.as_deref() {
                Some(text) => {
                    Some(parse_head_tag(text).map_err(|e| Error::config(env::L1_HEAD_TAG, e))?)
                }
                None => pick(None, env, env::L1_HEAD_TAG, parse_head_tag)?,
            },
            metrics_file: pick(args.metrics_file.clone(), env, env::METRICS_FILE, |s| {
                Ok(PathBuf::from(s))
            })?,
            state_pin: match args.state_pin.as_deref() {
                Some(text) => PinMode::parse(text).map_err(|e| Error::config("--state-pin", e))?,
                None => PinMode::Auto,
            },
            max_state_bytes: args.max_state_bytes.unwrap_or(DEFAULT_MAX_STATE_BYTES),
            progress: !args.no_progress,
            recovery_threads: pick(
                args.recovery_threads,
                env,
                env::RECOVERY_THREADS,
                parse_recovery_threads,
            )?,
            ..common
        })
    }

    /// Resolves flags over the environment for `l1 scan`: the same state directory, L1,
    /// identity and limit settings as [`Settings::resolve`], by the same rules; everything
    /// else keeps its default.
    pub fn resolve_scan(args: &ScanArgs, env: &Env) -> Result<Self> {
        Self::resolve_l1(args.state_dir.clone(), &args.l1, &args.deadline, env)
    }

    /// The settings every command reading L1 shares: the state directory, [`L1Args`] and the
    /// deadline, with the environment checks that go with them.
    fn resolve_l1(
        state_dir: Option<PathBuf>,
        l1: &L1Args,
        deadline: &DeadlineArgs,
        env: &Env,
    ) -> Result<Self> {
        let range_codes = pick(
            l1.long_block_range_error_codes.clone(),
            env,
            env::LONG_BLOCK_RANGE_ERROR_CODES,
            |s| Ok(s.to_owned()),
        )?
        .map(|list| {
            l1::RangePlan::parse_codes(&list)
                .map_err(|e| Error::config(env::LONG_BLOCK_RANGE_ERROR_CODES, e.to_string()))
        })
        .transpose()?;
        if let Some(topic) = env.get(env::INPUT_ADDED_TOPIC) {
            let standard = format!("{:#x}", l1::INPUT_ADDED_TOPIC);
            if !topic.trim().eq_ignore_ascii_case(&standard) {
                return Err(Error::config(
                    env::INPUT_ADDED_TOPIC,
                    format!("must be the standard InputAdded topic {standard}"),
                ));
            }
        }
        let state_dir = Self::resolve_state_dir(state_dir, env)?;
        Ok(Self {
            state_dir,
            rpc_url: pick(
                l1.rpc_url.clone(),
                env,
                env::BLOCKCHAIN_HTTP_ENDPOINT,
                parse_url,
            )?,
            chain_id: pick(l1.chain_id, env, env::BLOCKCHAIN_ID, parse_u64)?,
            app_address: pick(l1.app_address, env, env::APP_ADDRESS, parse_address)?,
            input_box_address: pick(
                l1.input_box_address,
                env,
                env::CONTRACTS_INPUT_BOX_ADDRESS,
                parse_address,
            )?,
            range_codes,
            deadline: pick(deadline.deadline, env, env::DEADLINE, parse_deadline)?
                .unwrap_or(Deadline::DEFAULT),
            max_rpc_requests: pick(l1.max_rpc_requests, env, env::MAX_RPC_REQUESTS, parse_u64)?
                .unwrap_or(DEFAULT_MAX_RPC_REQUESTS),
            ..Self::default()
        })
    }

    /// The state directory: the flag, else the environment; it must be absolute.
    pub(crate) fn resolve_state_dir(flag: Option<PathBuf>, env: &Env) -> Result<Option<PathBuf>> {
        let state_dir = pick(flag, env, env::STATE_DIR, |s| Ok(PathBuf::from(s)))?;
        if let Some(dir) = &state_dir
            && !dir.is_absolute()
        {
            return Err(Error::config(
                env::STATE_DIR,
                "the state directory must be absolute",
            ));
        }
        Ok(state_dir)
    }

    /// The state directory, required by the state commands.
    pub fn require_state_dir(&self) -> Result<PathBuf> {
        self.state_dir
            .clone()
            .ok_or_else(|| Error::Usage(format!("--state-dir (or {}) is required", env::STATE_DIR)))
    }

    /// The L1 endpoint, required for L1 work.
    pub fn require_rpc_url(&self) -> Result<RedactedUrl> {
        self.rpc_url.clone().ok_or_else(|| {
            Error::Usage(format!(
                "--rpc-url (or {}) is required",
                env::BLOCKCHAIN_HTTP_ENDPOINT
            ))
        })
    }
}

/// Lowercase `0x` hex of an address, as `config.json` stores it.
pub fn address_lower(address: Address) -> String {
    format!("{address:#x}")
}

/// Codes as `config.json` stores them (strings).
pub fn codes_to_strings(codes: &[i64]) -> Vec<String> {
    codes.iter().map(i64::to_string).collect()
}
