//! The scheduler's fridge: direct inputs waiting for a frame to drain them or for the backstop
//! (`protocol.md` §5.1).

use alloy_primitives::{Address, Bytes};
use serde::{Deserialize, Serialize};

/// A direct input waiting in the fridge.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DirectInput {
    /// The caller of `addInput`.
    pub sender: Address,
    /// The input payload.
    pub payload: Bytes,
    /// The L1 block that included it.
    pub block: u64,
}
