//! The command line (clap derive). Environment fallbacks are resolved by the library from the
//! [`Env`](crate::Env) it is handed, not by clap, so the help shows them as `[env: …]` text.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use alloy_primitives::Address;
use clap::{Args, Parser, Subcommand, ValueEnum};
use sequencer_client::RedactedUrl;

use crate::settings::{Deadline, parse_address, parse_deadline, parse_recovery_threads, parse_url};

const EXIT_CODES: &str = "\
Exit codes:
  0  decided: agreed, idle, or the tool command succeeded
  1  could not decide (class transient, operator or internal); usage errors included
  2  divergence found or latched

Every command prints exactly one JSON summary line on stdout; logs go to stderr.";

/// Checks that a Cartesi rollups sequencer publishes the canonical application state.
#[derive(Debug, Parser)]
#[command(
    name = "sequencer-watchdog",
    disable_version_flag = true,
    after_help = EXIT_CODES,
    max_term_width = 100
)]
pub struct Cli {
    /// Print the release-info JSON line and exit 0 [env: CARTESI_WATCHDOG_PRINT_RELEASE_INFO=1]
    #[arg(short = 'V', long)]
    pub version: bool,

    /// Log format on stderr [env: CARTESI_WATCHDOG_LOG_FORMAT] [default: text]
    #[arg(long, value_enum, global = true, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// The command to run.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify the bootstrap and create the state directory.
    Init(InitArgs),
    /// Run one compare cycle: exit 0 agreed or idle, 1 undecided, 2 divergence.
    Tick(TickArgs),
    /// Print the state directory's status as JSON (no lock, writes nothing).
    Status(StatusArgs),
    /// Archive the latched incident after the operator has handled it.
    Clear(ClearArgs),
    /// Re-derive the canonical state between two blocks into a new directory.
    Replay(ReplayArgs),
    /// L1 tools.
    #[command(subcommand)]
    L1(L1Command),
    /// WalletSnapshot tools.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

/// `l1 …`
#[derive(Debug, Subcommand)]
pub enum L1Command {
    /// Print, as JSON lines, the inputs a tick would see in [--from, --to]
    Scan(ScanArgs),
}

/// `snapshot …`
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Decode a WalletSnapshot (SSZ, current or legacy layout) to JSON
    Decode {
        /// The snapshot file, or - for stdin
        #[arg(value_name = "FILE|-")]
        file: PathBuf,
    },
    /// Compare two WalletSnapshots field by field and account by account
    Diff {
        /// The first snapshot file (- for stdin)
        #[arg(value_name = "A")]
        a: PathBuf,
        /// The second snapshot file (- for stdin)
        #[arg(value_name = "B")]
        b: PathBuf,
    },
}

/// Where and what to read on L1; shared by every command that reads L1.
#[derive(Debug, Clone, Args)]
pub struct L1Args {
    /// L1 JSON-RPC endpoint, never printed [env: CARTESI_WATCHDOG_BLOCKCHAIN_HTTP_ENDPOINT]
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub rpc_url: Option<RedactedUrl>,

    /// L1 chain id; must equal eth_chainId [env: CARTESI_WATCHDOG_BLOCKCHAIN_ID]
    #[arg(long, value_name = "ID")]
    pub chain_id: Option<u64>,

    /// Application contract [env: CARTESI_WATCHDOG_APP_ADDRESS]
    #[arg(long, value_name = "ADDRESS", value_parser = parse_address)]
    pub app_address: Option<Address>,

    /// InputBox; default app.getInputBox() [env: CARTESI_WATCHDOG_CONTRACTS_INPUT_BOX_ADDRESS]
    #[arg(long, value_name = "ADDRESS", value_parser = parse_address)]
    pub input_box_address: Option<Address>,

    /// JSON-RPC codes meaning "range too large", comma or space separated; empty disables
    /// [env: CARTESI_WATCHDOG_LONG_BLOCK_RANGE_ERROR_CODES]
    /// [default: -32005,-32012,-32600,-32602,-32616]
    #[arg(long, value_name = "LIST", allow_hyphen_values = true)]
    pub long_block_range_error_codes: Option<String>,

    /// Request budget per provider [env: CARTESI_WATCHDOG_MAX_RPC_REQUESTS] [default: 5000]
    #[arg(long, value_name = "N")]
    pub max_rpc_requests: Option<u64>,
}

/// The command deadline.
#[derive(Debug, Clone, Args)]
pub struct DeadlineArgs {
    /// Deadline for the whole command, e.g. 30m, 90s, 0 = none [env: CARTESI_WATCHDOG_DEADLINE]
    /// [default: 30m]
    #[arg(long, value_name = "DURATION", value_parser = parse_deadline)]
    pub deadline: Option<Deadline>,
}

/// `l1 scan`
#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Read the identity and the learned span (read-only) from this initialized state
    /// directory [env: CARTESI_WATCHDOG_STATE_DIR]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Where and what to read.
    #[command(flatten)]
    pub l1: L1Args,

    /// First block (inclusive)
    #[arg(long, value_name = "BLOCK")]
    pub from: u64,

    /// Last block (inclusive)
    #[arg(long, value_name = "BLOCK")]
    pub to: u64,

    /// The deadline.
    #[command(flatten)]
    pub deadline: DeadlineArgs,
}

impl Command {
    /// The command name used in the summary line (`l1 scan`, `snapshot decode`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Init(_) => "init",
            Command::Tick(_) => "tick",
            Command::Status(_) => "status",
            Command::Clear(_) => "clear",
            Command::Replay(_) => "replay",
            Command::L1(L1Command::Scan(_)) => "l1 scan",
            Command::Snapshot(SnapshotCommand::Decode { .. }) => "snapshot decode",
            Command::Snapshot(SnapshotCommand::Diff { .. }) => "snapshot diff",
        }
    }
}

/// Settings shared by the commands that use the state directory, L1 and the sequencer.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// The state directory (absolute) [env: CARTESI_WATCHDOG_STATE_DIR]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    #[command(flatten)]
    pub l1: L1Args,

    /// The sequencer base URL [env: CARTESI_WATCHDOG_SEQUENCER_URL]
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub sequencer_url: Option<RedactedUrl>,

    /// A second L1 endpoint that must confirm the inputs before a latch
    /// [env: CARTESI_WATCHDOG_CONFIRM_HTTP_ENDPOINT]
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub confirm_rpc_url: Option<RedactedUrl>,

    /// Machine backend: native or cartesi [env: CARTESI_WATCHDOG_MACHINE_BACKEND]
    #[arg(long, value_name = "BACKEND")]
    pub machine_backend: Option<String>,

    /// Where the state is read from: inspect or range:<label>
    /// [env: CARTESI_WATCHDOG_STATE_SOURCE]
    #[arg(long, value_name = "SOURCE")]
    pub state_source: Option<String>,

    /// libcartesi to load (default: the loader's search path)
    /// [env: CARTESI_WATCHDOG_LIBCARTESI_PATH]
    #[arg(long, value_name = "PATH")]
    pub libcartesi_path: Option<PathBuf>,

    /// The L1 block tag the watchdog trusts: safe or finalized [env: CARTESI_WATCHDOG_L1_HEAD_TAG]
    #[arg(long, value_name = "TAG")]
    pub l1_head_tag: Option<String>,

    /// Where to write the metrics textfile (default <state>/status.prom)
    /// [env: CARTESI_WATCHDOG_METRICS_FILE]
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,

    /// How B is pinned: auto, digest or download
    #[arg(long, value_name = "MODE")]
    pub state_pin: Option<String>,

    /// Largest sequencer state accepted for download, in bytes (default 1 GiB)
    #[arg(long, value_name = "BYTES")]
    pub max_state_bytes: Option<u64>,

    /// Never draw a progress bar
    #[arg(long)]
    pub no_progress: bool,

    /// Threads recovering user-op signatures while the native backend replays, 1 to 1024; 1
    /// recovers on the machine thread only [env: CARTESI_WATCHDOG_RECOVERY_THREADS]
    /// [default: the machine's cores]
    #[arg(long, value_name = "N", value_parser = parse_recovery_threads)]
    pub recovery_threads: Option<NonZeroUsize>,

    #[command(flatten)]
    pub deadline: DeadlineArgs,
}

/// `init`: create the state directory from a trusted bootstrap.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub watch: WatchArgs,

    /// The bootstrap: a stored machine directory, or genesis:devnet|sepolia (native)
    /// [env: CARTESI_WATCHDOG_CM_SNAPSHOT_DIR]
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<String>,

    /// The L1 block B0 of the bootstrap [env: CARTESI_WATCHDOG_CM_SNAPSHOT_SAFE_BLOCK]
    #[arg(long, value_name = "BLOCK")]
    pub snapshot_safe_block: Option<u64>,

    /// Expected root hash of a cartesi bootstrap [env: CARTESI_WATCHDOG_CM_IMAGE_HASH]
    #[arg(long, value_name = "HASH")]
    pub cm_image_hash: Option<String>,

    /// Cycle budget per input (cartesi)
    #[arg(long, value_name = "CYCLES")]
    pub max_cycles_per_input: Option<u64>,
}

/// `tick`: one compare cycle.
#[derive(Debug, Clone, Args)]
pub struct TickArgs {
    #[command(flatten)]
    pub watch: WatchArgs,

    /// Exit 1 (class liveness, reason sequencer_stalled) when the oldest input the sequencer
    /// has not finalized is more than N blocks below the L1 head tag (1-100000)
    /// [env: CARTESI_WATCHDOG_MAX_FINALITY_LAG_BLOCKS] [default: 1500]
    #[arg(long, value_name = "N", value_parser = parse_max_finality_lag)]
    pub max_finality_lag_blocks: Option<u64>,
}

fn parse_max_finality_lag(text: &str) -> Result<u64, String> {
    crate::settings::parse_u64(text).and_then(crate::liveness::check_max_finality_lag)
}

/// `status`: read-only report.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The state directory (absolute) [env: CARTESI_WATCHDOG_STATE_DIR]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// `clear`: archive the latched incident.
#[derive(Debug, Clone, Args)]
pub struct ClearArgs {
    /// The state directory (absolute) [env: CARTESI_WATCHDOG_STATE_DIR]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// The incident's sequencer inclusion block, as a confirmation
    #[arg(long, value_name = "BLOCK")]
    pub block: u64,

    /// Why the incident is cleared (1-1024 characters)
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

/// `replay`: re-derive canonical state without touching the state directory.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub watch: WatchArgs,

    /// First block of the replay: the source checkpoint's block
    #[arg(long, value_name = "BLOCK")]
    pub from_block: u64,

    /// Last block to replay (at most the L1 head tag)
    #[arg(long, value_name = "BLOCK")]
    pub to_block: u64,

    /// A new directory outside the state directory for the result
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Replay from this checkpoint (a directory with manifest.json and machine/) instead of
    /// the head
    #[arg(long, value_name = "DIR")]
    pub from_checkpoint: Option<PathBuf>,
}
