//! Command-line flags of `devnet-sequencer` (each also read from a `DEVNET_SEQUENCER_*`
//! variable; flags win) and logging set-up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::{Result, anyhow};
use canonical::WalletConfig;
use clap::Parser;

use super::config::{
    DEVNET_FEE_EXPONENT, FRAME_CLOCK_INTERVAL_SAFE_BLOCKS, ResponseShape, SequencerConfig,
};
use super::faults::Fault;

/// The devnet sequencer: a minimal faithful Cartesi wallet-rollup sequencer.
///
/// Prints one JSON line `{"listen", "control", "url", "control_url"}` on stdout once both
/// listeners are bound; logs go to stderr.
#[derive(Debug, Clone, Parser)]
#[command(name = "devnet-sequencer", version)]
pub struct Args {
    /// L1 JSON-RPC endpoint.
    #[arg(long, alias = "l1", env = "DEVNET_SEQUENCER_RPC_URL")]
    pub rpc_url: String,
    /// Application contract address.
    #[arg(long, env = "DEVNET_SEQUENCER_APP")]
    pub app: Address,
    /// InputBox address (default: discovered from the application).
    #[arg(long, env = "DEVNET_SEQUENCER_INPUT_BOX")]
    pub input_box: Option<Address>,
    /// Public API listener (loopback only, unless --allow-private-listen).
    #[arg(long, default_value = "127.0.0.1:0", env = "DEVNET_SEQUENCER_LISTEN")]
    pub listen: SocketAddr,
    /// Control API listener (loopback only, unless --allow-private-listen).
    #[arg(
        long,
        default_value = "127.0.0.1:0",
        env = "DEVNET_SEQUENCER_CONTROL_LISTEN"
    )]
    pub control_listen: SocketAddr,
    /// Also allow a private IPv4 address (10/8, 172.16/12, 192.168/16) for both listeners: the
    /// container's own address on a private network with no route out. Never 0.0.0.0.
    #[arg(long, env = "DEVNET_SEQUENCER_ALLOW_PRIVATE_LISTEN")]
    pub allow_private_listen: bool,
    /// L1 chain id (default: the wallet configuration's).
    #[arg(long, env = "DEVNET_SEQUENCER_CHAIN_ID")]
    pub chain_id: Option<u64>,
    /// Wallet configuration: `devnet` or `sepolia`.
    #[arg(long, default_value = "devnet", env = "DEVNET_SEQUENCER_WALLET_CONFIG")]
    pub wallet_config: String,
    /// Frame fee exponent.
    #[arg(long, default_value_t = DEVNET_FEE_EXPONENT, env = "DEVNET_SEQUENCER_FEE_EXPONENT")]
    pub fee_exponent: u16,
    /// Open a new frame when the safe head is this many blocks past the open frame.
    #[arg(long, default_value_t = FRAME_CLOCK_INTERVAL_SAFE_BLOCKS, env = "DEVNET_SEQUENCER_FRAME_INTERVAL")]
    pub frame_interval: u64,
    /// Seal a batch when it holds this many ops.
    #[arg(long, default_value_t = 100, env = "DEVNET_SEQUENCER_BATCH_MAX_OPS")]
    pub batch_max_ops: usize,
    /// Seal a batch this many milliseconds after its first op or drained deposit.
    #[arg(
        long,
        default_value_t = 2000,
        env = "DEVNET_SEQUENCER_BATCH_INTERVAL_MS"
    )]
    pub batch_interval_ms: u64,
    /// L1 poll period in milliseconds.
    #[arg(long, default_value_t = 200, env = "DEVNET_SEQUENCER_POLL_MS")]
    pub poll_ms: u64,
    /// Re-send a forgotten batch transaction after this many head blocks.
    #[arg(long, default_value_t = 3, env = "DEVNET_SEQUENCER_RESUBMIT_AFTER")]
    pub resubmit_after: u64,
    /// Serve the legacy shape: `l2_tx_index`, `X-L2-Tx-Index`, no digest route.
    #[arg(
        long,
        alias = "legacy-l2-tx-index",
        env = "DEVNET_SEQUENCER_LEGACY_SHAPE"
    )]
    pub legacy_shape: bool,
    /// A fault to arm at start (repeatable), e.g. `tamper-state`, `drop-deposit:1`,
    /// `slow:500:finalized`.
    #[arg(
        long = "fault",
        value_name = "SPEC",
        env = "DEVNET_SEQUENCER_FAULTS",
        value_delimiter = ';'
    )]
    pub faults: Vec<Fault>,
    /// Persist the finalized replica here (default: rebuild from L1 on every start).
    #[arg(long, alias = "data-dir", env = "DEVNET_SEQUENCER_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// First L1 block to scan for inputs (no input of the application may precede it).
    #[arg(long, default_value_t = 0, env = "DEVNET_SEQUENCER_FROM_BLOCK")]
    pub from_block: u64,
    /// Seconds the start waits for pending submitter transactions.
    #[arg(long, default_value_t = 30, env = "DEVNET_SEQUENCER_BOOT_TIMEOUT_SECS")]
    pub boot_timeout_secs: u64,
    /// Run this upstream sequencer binary instead (untested here; see the module docs).
    #[arg(long = "sequencer", value_name = "PATH", env = "CARTESI_SEQUENCER_BIN")]
    pub upstream: Option<PathBuf>,
}

impl Args {
    /// The configuration of the built-in sequencer.
    pub fn config(&self) -> Result<SequencerConfig> {
        let wallet = WalletConfig::by_name(&self.wallet_config).ok_or_else(|| {
            anyhow!(
                "unknown wallet config {:?} (devnet, sepolia)",
                self.wallet_config
            )
        })?;
        let mut config = SequencerConfig::devnet(self.rpc_url.clone(), self.app);
        config.wallet = wallet;
        config.chain_id = self.chain_id.unwrap_or(wallet.chain_id);
        config.input_box = self.input_box;
        config.listen = self.listen;
        config.control_listen = self.control_listen;
        config.private_listen = self.allow_private_listen;
        config.fee_exponent = self.fee_exponent;
        config.frame_interval = self.frame_interval;
        config.batch_max_ops = self.batch_max_ops;
        config.batch_interval = Duration::from_millis(self.batch_interval_ms);
        config.poll_interval = Duration::from_millis(self.poll_ms);
        config.resubmit_after_blocks = self.resubmit_after;
        config.shape = if self.legacy_shape {
            ResponseShape::Legacy
        } else {
            ResponseShape::Newest
        };
        config.faults = self.faults.clone();
        config.state_dir = self.state_dir.clone();
        config.from_block = self.from_block;
        config.boot_timeout = Duration::from_secs(self.boot_timeout_secs);
        config.validate()?;
        Ok(config)
    }
}

/// Logs to stderr, filtered by `DEVNET_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DEVNET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn flags_build_a_config() {
        Args::command().debug_assert();
        let args = Args::try_parse_from([
            "devnet-sequencer",
            "--rpc-url",
            "http://127.0.0.1:8545",
            "--app",
            "0xee72fC427e6A8e8c1Be1B2921DBE9F8E4e20253c",
            "--legacy-shape",
            "--fault",
            "tamper-state",
            "--fault",
            "slow:10:user",
            "--fee-exponent",
            "0",
        ])
        .unwrap();
        let config = args.config().unwrap();
        assert_eq!(config.shape, ResponseShape::Legacy);
        assert_eq!(config.faults.len(), 2);
        assert_eq!(config.fee_exponent, 0);
        assert_eq!(config.chain_id, 31337);
        let bad = Args::try_parse_from([
            "devnet-sequencer",
            "--rpc-url",
            "x",
            "--app",
            "0xee72fC427e6A8e8c1Be1B2921DBE9F8E4e20253c",
            "--listen",
            "0.0.0.0:0",
        ])
        .unwrap();
        assert!(bad.config().is_err(), "non-loopback listeners are refused");
        let parse = |extra: &[&str]| {
            let mut argv = vec![
                "devnet-sequencer",
                "--rpc-url",
                "x",
                "--app",
                "0xee72fC427e6A8e8c1Be1B2921DBE9F8E4e20253c",
                "--control-listen",
                "127.0.0.1:0",
            ];
            argv.extend_from_slice(extra);
            Args::try_parse_from(argv).unwrap().config()
        };
        assert!(
            parse(&["--listen", "10.213.7.20:8000"]).is_err(),
            "a private address needs the explicit setting"
        );
        let allowed = parse(&["--listen", "10.213.7.20:8000", "--allow-private-listen"]).unwrap();
        assert!(allowed.private_listen);
        for refused in ["0.0.0.0:8000", "203.0.113.9:8000", "[::]:8000"] {
            assert!(
                parse(&["--listen", refused, "--allow-private-listen"]).is_err(),
                "{refused} is refused even with the setting"
            );
        }
    }
}
