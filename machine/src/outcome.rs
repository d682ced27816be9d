//! What one advance or inspect produced, and how a run is bounded.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use cartesi_machine_sys::{DEFAULT_SLICE, MAX_MCYCLES_PER_INPUT};

/// A 32-byte root hash or state digest. Comparable only within one backend (and emulator version).
pub type Hash = [u8; 32];

/// How an input or query ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Accepted. `outputs_root` is `Some` iff the accept carried exactly 32 bytes.
    Accepted {
        /// The outputs Merkle root the guest reported (passed through, not verified).
        outputs_root: Option<Hash>,
    },
    /// Rejected; the state is already back to the pre-input state.
    Rejected,
    /// The guest raised an exception (a fixed point).
    Exception(Vec<u8>),
    /// The guest halted with this exit code (a fixed point).
    Halted(u32),
    /// The per-input cycle budget ran out (a fixed point).
    CycleBudgetExhausted,
    /// A manual yield the host does not serve, such as generic I/O (a fixed point).
    UnsupportedYield {
        /// The yield command.
        cmd: u8,
        /// The yield reason.
        reason: u16,
        /// The yield data.
        data: Vec<u8>,
    },
}

impl Outcome {
    /// Everything except `Accepted` and `Rejected`: the machine will never take input again.
    pub fn is_fixed_point(&self) -> bool {
        !matches!(self, Outcome::Accepted { .. } | Outcome::Rejected)
    }

    /// A stable snake_case name: `accepted`, `rejected`, `exception`, `halted`,
    /// `cycle_budget_exhausted` or `unsupported_yield`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Accepted { .. } => "accepted",
            Outcome::Rejected => "rejected",
            Outcome::Exception(_) => "exception",
            Outcome::Halted(_) => "halted",
            Outcome::CycleBudgetExhausted => "cycle_budget_exhausted",
            Outcome::UnsupportedYield { .. } => "unsupported_yield",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Exception(data) => {
                write!(
                    f,
                    "exception: {}",
                    String::from_utf8_lossy(&data[..data.len().min(256)])
                )
            }
            Outcome::Halted(code) => write!(f, "halted with exit code {code}"),
            Outcome::UnsupportedYield { cmd, reason, .. } => {
                write!(f, "unsupported yield (command {cmd}, reason {reason})")
            }
            other => f.write_str(other.kind()),
        }
    }
}

/// Where a loaded machine stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Waiting for input.
    Ready,
    /// At a permanent fixed point.
    Stuck(Outcome),
}

/// Result of one advance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvanceReport {
    /// How the input ended.
    pub outcome: Outcome,
    /// Outputs emitted during this input; meaningful only if the outcome is `Accepted`.
    pub outputs: Vec<Vec<u8>>,
    /// Reports emitted during this input, whatever the outcome (informational).
    pub reports: Vec<Vec<u8>>,
    /// Cycles this input consumed (backend-specific units).
    pub mcycles: u64,
    /// `false` when the machine was already at a fixed point and nothing ran.
    pub ran: bool,
    /// `true` if `max_collected_bytes` cut outputs or reports.
    pub truncated: bool,
}

/// Result of one inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectReport {
    /// How the query ended (on the throw-away copy).
    pub outcome: Outcome,
    /// The reports it emitted.
    pub reports: Vec<Vec<u8>>,
    /// Cycles it consumed.
    pub mcycles: u64,
    /// `true` if `max_collected_bytes` cut reports.
    pub truncated: bool,
}

/// Bounds for one advance or inspect.
#[derive(Debug, Clone)]
pub struct RunControl {
    /// Per-input cycle budget; values above [`MAX_MCYCLES_PER_INPUT`] are clamped to it.
    pub cycle_budget: u64,
    /// Cycles per `cm_run` call; `u64::MAX` means one call per stop.
    pub slice: u64,
    /// Checked after every `cm_run` return.
    pub deadline: Option<Instant>,
    /// Checked after every `cm_run` return.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Cap on the bytes of outputs plus reports collected per call.
    pub max_collected_bytes: usize,
}

impl Default for RunControl {
    fn default() -> Self {
        Self {
            cycle_budget: MAX_MCYCLES_PER_INPUT,
            slice: DEFAULT_SLICE,
            deadline: None,
            cancel: None,
            max_collected_bytes: 64 << 20,
        }
    }
}

impl RunControl {
    /// The budget actually applied: `cycle_budget` clamped to [`MAX_MCYCLES_PER_INPUT`].
    pub fn effective_budget(&self) -> u64 {
        self.cycle_budget.min(MAX_MCYCLES_PER_INPUT)
    }

    /// Whether the deadline passed or cancellation was requested.
    pub fn interrupted(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
            || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// Collects outputs and reports under the byte cap.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub(crate) outputs: Vec<Vec<u8>>,
    pub(crate) reports: Vec<Vec<u8>>,
    pub(crate) bytes: usize,
    pub(crate) truncated: bool,
    pub(crate) cap: usize,
}

impl Collector {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            ..Self::default()
        }
    }

    fn admit(&mut self, len: usize) -> bool {
        match self.bytes.checked_add(len) {
            Some(total) if total <= self.cap => {
                self.bytes = total;
                true
            }
            _ => {
                self.truncated = true;
                false
            }
        }
    }

    pub(crate) fn output(&mut self, data: &[u8]) {
        if self.admit(data.len()) {
            self.outputs.push(data.to_vec());
        }
    }

    pub(crate) fn report(&mut self, data: &[u8]) {
        if self.admit(data.len()) {
            self.reports.push(data.to_vec());
        }
    }
}
