//! The revert base and the journal of inputs accepted since it.
//!
//! Inputs are almost always accepted and the machine is deterministic, so the backend does not
//! store the machine before every input. It keeps one stored *revert base* and, in memory, the
//! inputs accepted since that base. An accepted input costs no store and no load. To undo a
//! rejected (or interrupted) input, the backend reloads the base, re-runs the journal and checks
//! it arrived at the pre-input state; then it stores a new base there, so no reject pattern ever
//! replays the same inputs twice. The base is also refreshed once the journal passes a
//! [`JournalBound`], so a late reject never replays an unbounded journal.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cartesi_machine_sys::Hash;

use crate::publish::remove_dir;

/// The pre-input state, as far as a revert needs it (a revert point; see `revert`).
#[derive(Debug)]
pub struct CartesiRevert {
    /// The root hash before the input (0.21 only: the library requires it).
    pub(super) root: Option<Hash>,
    /// `MCYCLE` before the input.
    pub(super) mcycle: u64,
    /// When the input's work began (its root hash included).
    pub(super) taken: Instant,
}

/// When the revert base is refreshed (a full store of the live state at an input boundary).
///
/// The base is refreshed before the next input once the inputs accepted since it reach any of
/// the limits; a reject (or an interrupted advance) refreshes it after its replay. A bound of 0
/// inputs stores a base after every accepted input (a store per input).
///
/// A late reject re-runs the whole journal, so the limits bound what it costs: the inputs'
/// cycles, and the time they took to run (on 0.21 each input also costs a root hash, whatever
/// its cycles). Each refresh costs one store, so they also bound how often that is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalBound {
    /// Accepted inputs since the base.
    pub inputs: u64,
    /// Machine cycles those inputs consumed (what a replay costs the emulator).
    pub mcycles: u64,
    /// Time those inputs took to run, root hashes included (about what re-running them takes).
    pub time: Duration,
    /// Bytes of those inputs (what the journal holds in memory).
    pub bytes: u64,
}

impl JournalBound {
    /// The defaults: 100,000 inputs, 2^34 mcycles (a minute or so of emulation), 30 seconds,
    /// 256 MiB.
    pub const DEFAULT: Self = Self {
        inputs: 100_000,
        mcycles: 1 << 34,
        time: Duration::from_secs(30),
        bytes: 256 << 20,
    };
}

impl Default for JournalBound {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A stored directory holding the revert base.
#[derive(Debug)]
pub(super) struct Base {
    path: PathBuf,
    /// `<path>/config.json`, checked before the first input after the base changes.
    config: PathBuf,
    /// A backend scratch directory, removed when superseded.
    owned: bool,
    /// The root hash of the stored state.
    pub(super) root: Hash,
    /// Its `mcycle`.
    pub(super) mcycle: u64,
}

impl Base {
    pub(super) fn new(path: PathBuf, owned: bool, root: Hash, mcycle: u64) -> Self {
        Self {
            config: path.join("config.json"),
            path,
            owned,
            root,
            mcycle,
        }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the directory is still there.
    pub(super) fn exists(&self) -> bool {
        self.config.exists()
    }

    /// Removes the directory if the backend owns it.
    pub(super) fn discard(self) {
        if self.owned
            && let Err(err) = remove_dir(&self.path)
        {
            tracing::warn!(target: "machine::cartesi", %err, "cannot remove scratch directory");
        }
    }
}

/// One accepted input and what it did, to re-run and check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// The full `EvmAdvance` calldata.
    pub(super) input: Vec<u8>,
    /// The root hash before it (0.21, where the library requires it as the revert root hash).
    pub(super) pre_root: Option<Hash>,
    /// `mcycle` after it.
    pub(super) mcycle_after: u64,
    /// The outputs root its accept carried.
    pub(super) outputs_root: Option<Hash>,
}

/// What an accepted input cost to run.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Cost {
    pub(super) mcycles: u64,
    pub(super) time: Duration,
}

/// The inputs accepted since the base, in order.
#[derive(Debug, Default)]
pub(super) struct Journal {
    entries: Vec<Entry>,
    cost: Cost,
    bytes: u64,
}

impl Journal {
    /// Appends an accepted input and what it cost.
    pub(super) fn push(&mut self, entry: Entry, cost: Cost) {
        self.cost.mcycles = self.cost.mcycles.saturating_add(cost.mcycles);
        self.cost.time = self.cost.time.saturating_add(cost.time);
        self.bytes = self.bytes.saturating_add(entry.input.len() as u64);
        self.entries.push(entry);
    }

    /// Forgets every entry (a new base holds their effect).
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.cost = Cost::default();
        self.bytes = 0;
    }

    pub(super) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the journal holds inputs and reached `bound`, so the base must be refreshed
    /// before the next input.
    pub(super) fn reached(&self, bound: &JournalBound) -> bool {
        !self.is_empty()
            && (self.entries.len() as u64 >= bound.inputs
                || self.cost.mcycles >= bound.mcycles
                || self.cost.time >= bound.time
                || self.bytes >= bound.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(len: usize) -> Entry {
        Entry {
            input: vec![0; len],
            pre_root: None,
            mcycle_after: 0,
            outputs_root: None,
        }
    }

    fn cost(mcycles: u64, millis: u64) -> Cost {
        Cost {
            mcycles,
            time: Duration::from_millis(millis),
        }
    }

    #[test]
    fn each_limit_is_reached_on_its_own() {
        let bound = JournalBound {
            inputs: 3,
            mcycles: 1000,
            time: Duration::from_secs(1),
            bytes: 100,
        };
        let mut journal = Journal::default();
        assert!(!journal.reached(&bound));
        journal.push(entry(10), cost(10, 1));
        journal.push(entry(10), cost(10, 1));
        assert!(!journal.reached(&bound));
        journal.push(entry(10), cost(10, 1));
        assert!(journal.reached(&bound), "inputs");
        journal.clear();
        assert!(journal.is_empty() && !journal.reached(&bound));
        journal.push(entry(1), cost(1000, 1));
        assert!(journal.reached(&bound), "mcycles");
        journal.clear();
        journal.push(entry(1), cost(1, 600));
        assert!(!journal.reached(&bound));
        journal.push(entry(1), cost(1, 400));
        assert!(journal.reached(&bound), "time");
        journal.clear();
        journal.push(entry(100), cost(1, 1));
        assert!(journal.reached(&bound), "bytes");
    }

    #[test]
    fn a_zero_bound_refreshes_after_every_accepted_input() {
        let bound = JournalBound {
            inputs: 0,
            ..JournalBound::DEFAULT
        };
        let mut journal = Journal::default();
        assert!(
            !journal.reached(&bound),
            "an empty journal never needs a new base"
        );
        journal.push(entry(1), Cost::default());
        assert!(journal.reached(&bound));
    }
}
