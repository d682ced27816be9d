//! What the L1 history controls exchange on every backend: where an input landed, the
//! replacement transactions of a reorg or rewrite, and the hashes a reorg changed.

use alloy::primitives::{Address, B256, Bytes, U256};
use serde::{Deserialize, Serialize};

/// Where an input landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Landed {
    /// The per-application input index.
    pub index: u64,
    /// The including block.
    pub block: u64,
    /// The transaction that added it (for anvil deposits: the portal call).
    pub tx: B256,
}

/// What a replacement transaction of a reorg does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplacementInput {
    /// An ERC-20 portal deposit (on anvil: mint, approve and deposit, all in that block).
    Deposit {
        /// The depositor (an anvil default account on anvil).
        depositor: Address,
        /// Token units.
        amount: U256,
    },
    /// `InputBox.addInput(app, payload)` from `sender`.
    Direct {
        /// The transaction sender (= `msg.sender`).
        sender: Address,
        /// The input payload.
        payload: Bytes,
    },
}

/// A transaction mined into the new chain of a reorg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    /// Block offset from the first rewritten block (`0..depth`).
    pub offset: u64,
    /// What it does.
    pub input: ReplacementInput,
}

/// A finished reorg: the rewritten heights and their hashes before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reorged {
    /// The first rewritten block.
    pub from_block: u64,
    /// Hashes of the rewritten heights before the reorg.
    pub old: Vec<B256>,
    /// Hashes of the same heights after it.
    pub new: Vec<B256>,
}
