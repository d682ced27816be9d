//! The safe machine trait every backend implements, and the state queries built on it.

use std::path::Path;

use cartesi_machine_sys::LibraryInfo;

use crate::{
    AdvanceReport, Error, Hash, InspectReport, MachineStats, Outcome, Result, RunControl,
    StateQueryError, Status,
};

/// Which backend a machine runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendInfo {
    /// The host-native canonical engine; `format_version` is its checkpoint format.
    Native {
        /// Version of the native checkpoint directory format.
        format_version: u32,
    },
    /// A Cartesi Machine through libcartesi.
    Cartesi(LibraryInfo),
    /// The pure-Rust test fake (`ScriptedMachine`, feature `test-utils`).
    Scripted,
}

/// One loaded rollup machine.
///
/// Contract common to all backends:
/// - [`advance`](Machine::advance) processes exactly one input. After `Rejected` the state (and
///   root hash) equals the state before the input. After a fixed point every later `advance`
///   returns the same outcome with `ran = false`, runs nothing and changes nothing.
/// - [`inspect`](Machine::inspect) requires [`Status::Ready`], runs on a throw-away copy and never
///   changes the live state or root hash.
/// - Root hashes are comparable only within one backend (and emulator version).
///
/// Machines are not `Send`: one thread owns each (see [`MachineWorker`](crate::MachineWorker)).
pub trait Machine {
    /// Where the machine stands.
    fn status(&self) -> &Status;
    /// The root hash (Cartesi) or state digest (native) of the live state.
    fn root_hash(&mut self) -> Result<Hash>;
    /// Feeds one input (full `EvmAdvance` calldata) and runs it to its end.
    fn advance(&mut self, input: &[u8], ctl: &RunControl) -> Result<AdvanceReport>;
    /// Runs one inspect query on a throw-away copy of the live state.
    fn inspect(&mut self, query: &[u8], ctl: &RunControl) -> Result<InspectReport>;
    /// Durably publishes the live state into the new directory `dest` (temp directory, fsync,
    /// no-replace rename, fsync of the parent) and returns the root hash.
    fn store(&mut self, dest: &Path) -> Result<Hash>;
    /// Which backend this is.
    fn info(&self) -> BackendInfo;
    /// Reads the memory range carrying `label` (Cartesi 0.21 only), at most `max_len` bytes.
    fn read_range(&mut self, label: &str, max_len: u64) -> Result<Vec<u8>> {
        let _ = (label, max_len);
        Err(Error::Unsupported {
            what: "labeled memory ranges",
        })
    }
    /// What this instance did since it was loaded.
    fn stats(&self) -> MachineStats {
        MachineStats::default()
    }
}

/// Something that loads machines from stored directories: the watchdog's injectable backend.
pub trait MachineBackend: Send + Sync {
    /// Loads the machine stored in `dir`, never modifying it.
    fn load(&self, dir: &Path) -> Result<Box<dyn Machine>>;
}

/// Runs `query` and returns its single report (algorithm Q).
///
/// The query must end `Accepted` with exactly one report; otherwise
/// [`Error::StateQuery`].
pub fn query_state(m: &mut dyn Machine, query: &[u8], ctl: &RunControl) -> Result<Vec<u8>> {
    let report = m.inspect(query, ctl)?;
    if !matches!(report.outcome, Outcome::Accepted { .. }) {
        return Err(StateQueryError::NotAccepted(report.outcome).into());
    }
    let count = report.reports.len();
    match <[Vec<u8>; 1]>::try_from(report.reports) {
        Ok([only]) => Ok(only),
        Err(_) if count == 0 => Err(StateQueryError::NoReport.into()),
        Err(_) => Err(StateQueryError::MultipleReports(count).into()),
    }
}

/// Where the application state is read from (watchdog tick step 12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateSource {
    /// An inspect query answered by exactly one report.
    Inspect(Vec<u8>),
    /// A labeled memory range (Cartesi 0.21), at most `max_len` bytes.
    Range {
        /// The range label.
        label: String,
        /// The longest range accepted.
        max_len: u64,
    },
}

/// Extracts the application state from `m` without changing it.
pub fn extract_state(
    m: &mut dyn Machine,
    source: &StateSource,
    ctl: &RunControl,
) -> Result<Vec<u8>> {
    match source {
        StateSource::Inspect(query) => query_state(m, query, ctl),
        StateSource::Range { label, max_len } => {
            if m.status() != &Status::Ready {
                return Err(Error::NotAccepting {
                    status: m.status().clone(),
                });
            }
            m.read_range(label, *max_len)
        }
    }
}
