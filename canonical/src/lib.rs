//! The canonical Cartesi wallet rollup, byte-exact with the reference sequencer.
//!
//! This crate is the host-native "canonical machine": it computes, from L1 inputs alone, what
//! the wallet application's Cartesi Machine guest computes. It provides
//!
//! - the SSZ formats: [`WalletSnapshot`] (and its legacy layout), [`Batch`], [`Frame`],
//!   [`WireUserOp`], the [`Method`] union;
//! - the L1 envelopes: [`EvmAdvance`] calldata and the ERC-20 portal's [`Erc20Deposit`];
//! - EIP-712 user operations: [`UserOp`], [`signing_hash`], and sender recovery on libsecp256k1,
//!   [`recover_sender`];
//! - log-space fees: [`fee_to_linear`], [`MAX_EXPONENT`];
//! - the [`Wallet`] application and the scheduler fold, [`Engine`], whose complete state
//!   ([`EngineState`]) serialises byte-identically for checkpoints.
//!
//! Everything is deterministic: ordered maps, no floats, no clocks. Decoders of untrusted bytes
//! return [`DecodeError`] and never panic.
//!
//! ```
//! use canonical::{Engine, WalletConfig, WalletSnapshot};
//!
//! let engine = Engine::new(WalletConfig::devnet());
//! let reports = engine.inspect(b"state");
//! let snapshot = WalletSnapshot::decode(&reports[0]).unwrap();
//! assert_eq!(snapshot, WalletSnapshot::genesis(&WalletConfig::devnet()));
//! ```
//!
//! Specification: `protocol.md` §§1–5 of the project's specs.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod advance;
mod batch;
mod config;
mod eip712;
mod engine;
mod error;
mod fee;
mod fridge;
mod inputs;
mod method;
mod output;
mod senders;
mod serde_u256;
mod signature;
mod snapshot;
mod state;
mod wallet;

pub use advance::{EVM_ADVANCE_SELECTOR, Erc20Deposit, EvmAdvance};
pub use batch::{Batch, Frame, WireUserOp};
pub use config::{ERC20_PORTAL_ADDRESS, MAX_WAIT_BLOCKS, WalletConfig};
pub use eip712::{
    DOMAIN_NAME, DOMAIN_TYPEHASH, DOMAIN_VERSION, USER_OP_TYPEHASH, UserOp, domain_separator,
    sign_user_op, signing_hash, signing_hash_with_domain,
};
pub use engine::{
    AdvanceResult, BatchRejection, Engine, InputOutcome, REJECTED_BATCH_REPORT, STATE_QUERY,
    UNSUPPORTED_INSPECT_REPORT, accepts_batch, aged,
};
pub use error::{DecodeError, DecodeResult};
pub use fee::{MAX_EXPONENT, fee_from_linear_ceil, fee_to_linear, try_fee_to_linear};
pub use fridge::DirectInput;
pub use inputs::InputBuilder;
pub use method::Method;
pub use output::{
    DEPOSIT_NOTICE_SELECTOR, ERC20_TRANSFER_SELECTOR, NOTICE_ENVELOPE_SELECTOR, Output,
    TRANSFER_NOTICE_SELECTOR, VOUCHER_ENVELOPE_SELECTOR,
};
pub use senders::{
    PARALLEL_MIN_OPS, WorkerPanic, recovery_threads, recovery_workers, set_recovery_threads,
};
pub use signature::{SIGNATURE_LEN, address_of, recover_sender, sign_hash};
pub use snapshot::{SnapshotBalance, SnapshotLayout, SnapshotNonce, WalletSnapshot};
pub use state::EngineState;
pub use wallet::{Fatal, Rejection, Wallet};
