//! Sequencer configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use alloy::primitives::Address;
use anyhow::{Result, ensure};
use canonical::{MAX_EXPONENT, WalletConfig};

use super::faults::Fault;

/// The devnet frame fee exponent: `log_gas_price = 0` gives 1356 (38 276 token units).
pub const DEVNET_FEE_EXPONENT: u16 = 1356;

/// `FRAME_CLOCK_INTERVAL_SAFE_BLOCKS`: the reference frame-rotation step.
pub const FRAME_CLOCK_INTERVAL_SAFE_BLOCKS: u64 = 5;

/// Which JSON and header shape the finalized routes use (`protocol.md` §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseShape {
    /// `executed_input_count`, `X-Executed-Input-Count`, the digest route, era headers.
    #[default]
    Newest,
    /// `l2_tx_index`, `X-L2-Tx-Index`, no digest route (404).
    Legacy,
}

/// Everything the devnet sequencer needs.
#[derive(Debug, Clone)]
pub struct SequencerConfig {
    /// L1 JSON-RPC endpoint.
    pub rpc_url: String,
    /// The application contract (EIP-712 verifying contract).
    pub app: Address,
    /// The InputBox; `None` discovers it from the application.
    pub input_box: Option<Address>,
    /// The L1 chain id (EIP-712 domain, input checks).
    pub chain_id: u64,
    /// The wallet configuration; its `sequencer_address` submits the batches.
    pub wallet: WalletConfig,
    /// Public API listener (loopback only, unless [`private_listen`](Self::private_listen)).
    pub listen: SocketAddr,
    /// Control listener (loopback only, unless [`private_listen`](Self::private_listen)).
    pub control_listen: SocketAddr,
    /// Also allow listeners on a private IPv4 address (10/8, 172.16/12, 192.168/16): the
    /// sequencer's own address on a private container network. Off by default; never the
    /// unspecified address or a public one.
    pub private_listen: bool,
    /// Frame fee exponent.
    pub fee_exponent: u16,
    /// Frame rotation step in safe blocks.
    pub frame_interval: u64,
    /// Seal a batch when it holds this many ops.
    pub batch_max_ops: usize,
    /// Seal a batch this long after its first content.
    pub batch_interval: Duration,
    /// L1 poll period.
    pub poll_interval: Duration,
    /// Re-send a batch transaction the node forgot after this many head blocks.
    pub resubmit_after_blocks: u64,
    /// Response shape of the finalized routes.
    pub shape: ResponseShape,
    /// Faults armed at start.
    pub faults: Vec<Fault>,
    /// Where the finalized replica is persisted (optional; without it the replica is rebuilt
    /// from L1 on every start).
    pub state_dir: Option<PathBuf>,
    /// First block to scan for inputs.
    pub from_block: u64,
    /// How long the start waits for the L1 (pending submitter transactions, first reads).
    pub boot_timeout: Duration,
}

impl SequencerConfig {
    /// Devnet defaults for `app` on the L1 at `rpc_url`: chain 31337, the devnet wallet,
    /// fee 1356, ephemeral loopback ports.
    pub fn devnet(rpc_url: impl Into<String>, app: Address) -> Self {
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let wallet = WalletConfig::devnet();
        Self {
            rpc_url: rpc_url.into(),
            app,
            input_box: None,
            chain_id: wallet.chain_id,
            wallet,
            listen: loopback,
            control_listen: loopback,
            private_listen: false,
            fee_exponent: DEVNET_FEE_EXPONENT,
            frame_interval: FRAME_CLOCK_INTERVAL_SAFE_BLOCKS,
            batch_max_ops: 100,
            batch_interval: Duration::from_secs(2),
            poll_interval: Duration::from_millis(200),
            resubmit_after_blocks: 3,
            shape: ResponseShape::Newest,
            faults: Vec::new(),
            state_dir: None,
            from_block: 0,
            boot_timeout: Duration::from_secs(30),
        }
    }

    /// Checks the values a running sequencer relies on.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.fee_exponent <= MAX_EXPONENT,
            "fee exponent {} is above the maximum {MAX_EXPONENT}",
            self.fee_exponent
        );
        let allowed = |addr: SocketAddr| match addr.ip() {
            ip if ip.is_loopback() => true,
            std::net::IpAddr::V4(ip) => self.private_listen && ip.is_private(),
            std::net::IpAddr::V6(_) => false,
        };
        ensure!(
            allowed(self.listen) && allowed(self.control_listen),
            "{}",
            if self.private_listen {
                "the sequencer binds loopback or private IPv4 addresses only"
            } else {
                "the sequencer binds loopback addresses only (a private container address needs --allow-private-listen)"
            }
        );
        ensure!(
            self.frame_interval > 0,
            "the frame interval must be positive"
        );
        ensure!(
            self.batch_max_ops > 0,
            "the batch op limit must be positive"
        );
        ensure!(
            !self.poll_interval.is_zero(),
            "the poll interval must be positive"
        );
        Ok(())
    }
}
