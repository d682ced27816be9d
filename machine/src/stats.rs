//! What a machine instance did since it was loaded: counts and time, for operators and tests.

use std::ops::AddAssign;
use std::time::Duration;

/// Work done by one machine instance since it was loaded.
///
/// Stores and loads are the expensive steps of a Cartesi Machine (a full write or read of the
/// machine's memory), so they are counted separately from the inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MachineStats {
    /// Inputs fed that ran (`advance` calls with `ran = true`).
    pub inputs: u64,
    /// Of those, accepted.
    pub accepted: u64,
    /// Of those, rejected (and reverted).
    pub rejected: u64,
    /// Full stores of the machine: revert bases, inspect bases and durable publishes.
    pub stores: u64,
    /// Loads of stored machines: the first one, reloads to revert, inspect copies.
    pub loads: u64,
    /// Accepted inputs re-run from the revert base to undo a later input.
    pub replayed: u64,
    /// Time spent inside `advance`, `inspect` and `store`.
    pub busy: Duration,
}

impl AddAssign for MachineStats {
    fn add_assign(&mut self, other: Self) {
        self.inputs += other.inputs;
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.stores += other.stores;
        self.loads += other.loads;
        self.replayed += other.replayed;
        self.busy += other.busy;
    }
}
