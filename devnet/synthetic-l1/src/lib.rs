//! The synthetic L1: an in-process JSON-RPC server on `127.0.0.1:0` that serves exactly what
//! the devnet sequencer and `sequencer-watchdog` read, for the `in-process` backend of the
//! devnet scenarios.
//!
//! It has no EVM. Its chain is a list of blocks with seed-derived hashes, parent hashes and
//! timestamps (one 12 s slot per block; `safe` = latest − 1, `finalized` = latest − 2, as anvil
//! with one slot per epoch), and every transaction adds one InputBox input for the pinned
//! application ([`pins::addresses`](devnet_pins::addresses)), so scenario code works on both
//! backends unchanged.
//!
//! | Method | Served |
//! |---|---|
//! | `eth_chainId`, `net_version`, `eth_blockNumber` | 31337, the head |
//! | `eth_getBlockByNumber`, `eth_getBlockByHash` | numbers and `latest`/`safe`/`finalized`/`earliest`/`pending`; `null` past the head |
//! | `eth_getLogs` | `InputAdded` of the InputBox; `address`, topic filters (any position, arrays), block ranges, tags, `blockHash`; a range past the head is anvil's −32602 `BlockOutOfRangeError` |
//! | `eth_call` | `InputBox.getNumberOfInputs(app)` at a tag, number or EIP-1898 block; the application's `getInputBox()` and `getDataAvailability()`; anything else reverts (code 3) |
//! | `eth_getCode` | a stand-in for the InputBox, the application, the portal and the token |
//! | `eth_sendTransaction` | `InputBox.addInput(app, payload)` from any sender (no signatures, no gas) |
//! | `eth_getTransactionCount` | per sender, `pending` included |
//! | `eth_getTransactionByHash`, `eth_getTransactionReceipt` | pending and mined transactions |
//! | `eth_gasPrice`, `eth_estimateGas`, `eth_accounts`, `eth_syncing` | constants |
//!
//! Batches are answered element by element. Anything else is a JSON-RPC error, never a panic:
//! −32601 for an unknown method (including `anvil_nodeInfo` and every `anvil_*` control: the
//! synthetic L1 is controlled from Rust only, so an `attach` deployment pointed at it reports
//! no `Mining`/`Reorg`), −32602 for bad parameters, −32700/−32600 for bad envelopes.
//!
//! Controls: [`mine`](SyntheticL1::mine), automine, portal deposits built with the `canonical`
//! crate exactly as the ERC-20 portal encodes them (`msg.sender` = the pinned ERC20Portal),
//! direct inputs, [`snapshot`](SyntheticL1::snapshot)/[`revert`](SyntheticL1::revert), and
//! [`reorg`](SyntheticL1::reorg), which rewrites the newest blocks with new hashes, below
//! `safe` included, and [`rewrite`](SyntheticL1::rewrite), which does so replaying every
//! transaction but the ones it swaps or drops. Reorgs and rewrites speak the L1 history
//! vocabulary every devnet L1 backend shares ([`Landed`], [`Replacement`], [`Reorged`]);
//! `devnet-scenarios` adapts this server to its `L1Node` control.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod chain;
mod history;
mod rpc;
mod shapes;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use alloy::primitives::{Address, B256, Bytes, U256};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use canonical::WalletConfig;
use devnet_pins::addresses;
use tokio::task::JoinHandle;

use chain::Chain;
pub use chain::LandedInput;
pub use history::{Landed, Reorged, Replacement, ReplacementInput};

/// A failed synthetic-L1 control.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyntheticError {
    /// Binding the loopback listener failed.
    #[error("binding the synthetic L1 listener: {0}")]
    Bind(#[source] std::io::Error),
    /// A reorg deeper than the chain (genesis is never replaced).
    #[error("a reorg of depth {depth} needs 1 ≤ depth ≤ {latest} (the head)")]
    DepthOutOfRange {
        /// Requested depth.
        depth: u64,
        /// The head.
        latest: u64,
    },
    /// A replacement placed past the reorged blocks.
    #[error("replacement offset {offset} is outside the {depth} reorged blocks")]
    OffsetOutOfRange {
        /// Requested offset.
        offset: u64,
        /// Reorg depth.
        depth: u64,
    },
    /// No such snapshot (or it was used already).
    #[error("no snapshot {0}")]
    UnknownSnapshot(u64),
}

/// Options of a [`SyntheticL1`].
#[derive(Debug, Clone)]
pub struct SyntheticL1Builder {
    seed: u64,
    automine: bool,
    blocks: u64,
    wallet: WalletConfig,
}

impl Default for SyntheticL1Builder {
    fn default() -> Self {
        Self {
            seed: 0,
            automine: false,
            blocks: 0,
            wallet: WalletConfig::devnet(),
        }
    }
}

impl SyntheticL1Builder {
    /// The seed every hash and timestamp derives from (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Mines a block per transaction (default off: blocks only on [`SyntheticL1::mine`]).
    pub fn automine(mut self, on: bool) -> Self {
        self.automine = on;
        self
    }

    /// Empty blocks mined after genesis before serving (default 0).
    pub fn blocks(mut self, blocks: u64) -> Self {
        self.blocks = blocks;
        self
    }

    /// Binds `127.0.0.1:0` and starts serving.
    pub async fn start(self) -> Result<SyntheticL1, SyntheticError> {
        let mut chain = Chain::new(
            self.seed,
            self.wallet,
            addresses::APPLICATION,
            addresses::INPUT_BOX,
        );
        chain.mine(self.blocks);
        chain.automine = self.automine;
        let chain = Arc::new(Mutex::new(chain));
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(SyntheticError::Bind)?;
        let addr = listener.local_addr().map_err(SyntheticError::Bind)?;
        let router = Router::new()
            .route("/", post(serve_rpc))
            .with_state(chain.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(target: "devnet::synthetic", error = %e, "server failed");
            }
        });
        tracing::info!(target: "devnet::synthetic", %addr, seed = self.seed, "synthetic L1 listening");
        Ok(SyntheticL1 { addr, chain, task })
    }
}

type Shared = Arc<Mutex<Chain>>;

async fn serve_rpc(State(chain): State<Shared>, body: axum::body::Bytes) -> impl IntoResponse {
    let answer = rpc::answer_body(&mut lock(&chain), &body);
    (
        [(header::CONTENT_TYPE, "application/json")],
        answer.to_string(),
    )
}

fn lock(chain: &Shared) -> MutexGuard<'_, Chain> {
    chain.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running synthetic L1. Dropping it stops the server.
#[derive(Debug)]
pub struct SyntheticL1 {
    addr: SocketAddr,
    chain: Shared,
    task: JoinHandle<()>,
}

impl Drop for SyntheticL1 {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SyntheticL1 {
    /// Options.
    pub fn builder() -> SyntheticL1Builder {
        SyntheticL1Builder::default()
    }

    /// Starts one with the default options (seed 0, manual mining, genesis only).
    pub async fn start() -> Result<Self, SyntheticError> {
        Self::builder().start().await
    }

    fn chain(&self) -> MutexGuard<'_, Chain> {
        lock(&self.chain)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The head block number.
    pub fn latest(&self) -> u64 {
        self.chain().latest()
    }

    /// The hash of block `number`, if mined.
    pub fn block_hash(&self, number: u64) -> Option<B256> {
        let chain = self.chain();
        chain
            .blocks
            .get(usize::try_from(number).ok()?)
            .map(|b| b.hash)
    }

    /// Mines `blocks` blocks (the first takes every pending transaction).
    pub fn mine(&self, blocks: u64) {
        self.chain().mine(blocks);
    }

    /// Turns mining on every transaction on or off.
    pub fn set_automine(&self, on: bool) {
        let mut chain = self.chain();
        chain.automine = on;
        if on {
            let pending = !chain.pending.is_empty();
            chain.mine(u64::from(pending));
        }
    }

    /// Queues an ERC-20 portal deposit of `amount` by `depositor` (lands in the next block;
    /// at once under automine). Returns the transaction hash.
    pub fn queue_deposit(&self, depositor: Address, amount: U256) -> B256 {
        let mut chain = self.chain();
        let (from, portal, payload) = chain.deposit_tx(depositor, amount);
        chain.submit(from, portal, payload)
    }

    /// Queues a direct input from `sender`. Returns the transaction hash.
    pub fn queue_direct(&self, sender: Address, payload: impl Into<Bytes>) -> B256 {
        self.chain().submit(sender, sender, payload.into())
    }

    /// A portal deposit, mined (one block is mined unless automine already did).
    pub fn deposit(&self, depositor: Address, amount: U256) -> Landed {
        let mut chain = self.chain();
        let (from, portal, payload) = chain.deposit_tx(depositor, amount);
        chain.submit_and_mine(from, portal, payload)
    }

    /// A direct input from `sender`, mined.
    pub fn direct(&self, sender: Address, payload: impl Into<Bytes>) -> Landed {
        self.chain().submit_and_mine(sender, sender, payload.into())
    }

    /// Takes a snapshot of the chain and the pool.
    pub fn snapshot(&self) -> u64 {
        self.chain().snapshot()
    }

    /// Returns to a snapshot, forgetting it and every later one.
    pub fn revert(&self, id: u64) -> Result<(), SyntheticError> {
        self.chain().revert(id)
    }

    /// Rewrites the newest `depth` blocks (new hashes; their transactions are gone) with
    /// `replacements` placed by offset from the first rewritten block.
    pub fn reorg(
        &self,
        depth: u64,
        replacements: &[Replacement],
    ) -> Result<Reorged, SyntheticError> {
        self.chain().reorg(depth, replacements)
    }

    /// Rewrites blocks `from..=head` keeping the height: every transaction is replayed in its
    /// block except those in `replace` (swapped for the given input, or dropped for `None`), and
    /// `extra` adds inputs at block offsets from `from`. Every rewritten block gets a new hash.
    pub fn rewrite(
        &self,
        from: u64,
        replace: &[(B256, Option<ReplacementInput>)],
        extra: &[Replacement],
    ) -> Result<Reorged, SyntheticError> {
        self.chain().rewrite(from, replace, extra)
    }

    /// Forgets every unmined transaction, as a node restart would; returns how many.
    pub fn drop_pending(&self) -> usize {
        self.chain().drop_pending()
    }

    /// `eth_sendTransaction` calls accepted so far.
    pub fn sends(&self) -> u64 {
        self.chain().sends
    }

    /// Every input of blocks `..= block`, in index order.
    pub fn inputs_up_to(&self, block: u64) -> Vec<LandedInput> {
        self.chain().inputs_up_to(block)
    }

    /// Every mined input, in index order.
    pub fn inputs(&self) -> Vec<LandedInput> {
        let chain = self.chain();
        chain.inputs_up_to(chain.latest())
    }
}
