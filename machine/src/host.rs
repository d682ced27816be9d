//! The reference host semantics, written once and generic over the backend.
//!
//! A backend supplies a [`MachineCore`]: primitive operations (take a revert point, feed one
//! request and run it to a stop, restore, store). [`Host`] wraps it and enforces the protocol:
//!
//! - a rejected input is reverted to the exact pre-input state, and the restored root hash must
//!   equal the pre-input root hash (else the instance is poisoned);
//! - exception, halt, unsupported yields and budget exhaustion are permanent fixed points: the
//!   machine is never fed again and every later advance returns the same outcome with
//!   `ran = false`;
//! - inspect and range reads only happen while the machine waits for input;
//! - an interrupted advance restores the pre-input state and reports `Interrupted`;
//! - any failure that leaves the live state unknown poisons the instance.

use std::path::Path;
use std::time::Instant;

use cartesi_machine_sys::CMIO_BUFFER_LEN;

use crate::{
    AdvanceReport, BackendInfo, Error, Hash, InspectReport, Machine, MachineStats, Outcome, Result,
    RunControl, Status,
};

/// Where a run stopped, as a backend core reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The request was accepted.
    Accepted {
        /// The 32-byte outputs root, if the accept carried exactly 32 bytes.
        outputs_root: Option<Hash>,
    },
    /// The request was rejected; the live state is *not yet* reverted.
    Rejected,
    /// A fixed point. `recorded` says whether the machine state itself shows it (so a stored
    /// copy reloads at the same fixed point).
    FixedPoint {
        /// The outcome.
        outcome: Outcome,
        /// Whether it is visible in the stored state.
        recorded: bool,
    },
    /// The deadline passed or cancellation was requested mid-run.
    Interrupted,
}

/// One run of a request to its stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Where it stopped.
    pub stop: Stop,
    /// Outputs emitted.
    pub outputs: Vec<Vec<u8>>,
    /// Reports emitted.
    pub reports: Vec<Vec<u8>>,
    /// Cycles consumed.
    pub mcycles: u64,
    /// Whether the byte cap cut outputs or reports.
    pub truncated: bool,
}

/// The primitive operations of a backend, from which [`Host`] builds the [`Machine`] contract.
pub trait MachineCore {
    /// What it takes to restore the pre-input state exactly.
    type Revert;

    /// Which backend this is.
    fn info(&self) -> BackendInfo;
    /// Root hash of the live state.
    fn root_hash(&mut self) -> Result<Hash>;
    /// Captures the live state before an input is fed.
    fn revert_point(&mut self) -> Result<Self::Revert>;
    /// Feeds one advance and runs it to a stop. The machine is waiting for input.
    fn advance(&mut self, input: &[u8], point: &Self::Revert, ctl: &RunControl) -> Result<Run>;
    /// Restores the state captured by `point` and returns the root hash that state had; the
    /// host checks the restored live root against it.
    fn restore(&mut self, point: Self::Revert) -> Result<Hash>;
    /// Drops a revert point that is no longer needed (the input was kept).
    fn release(&mut self, point: Self::Revert);
    /// Runs one inspect query on a throw-away copy; the live state must not change.
    fn inspect(&mut self, query: &[u8], ctl: &RunControl) -> Result<Run>;
    /// Durably publishes the live state into the new directory `dest`.
    fn store(&mut self, dest: &Path) -> Result<()>;
    /// Reads a labeled memory range.
    fn read_range(&mut self, label: &str, max_len: u64) -> Result<Vec<u8>> {
        let _ = (label, max_len);
        Err(Error::Unsupported {
            what: "labeled memory ranges",
        })
    }
    /// The backend's own counters: stores, loads and replayed inputs (the host counts inputs,
    /// outcomes and time).
    fn stats(&self) -> MachineStats {
        MachineStats::default()
    }
}

/// A machine with the reference host semantics over a backend core.
#[derive(Debug)]
pub struct Host<C: MachineCore> {
    core: C,
    status: Status,
    recorded: bool,
    poisoned: bool,
    stats: MachineStats,
}

impl<C: MachineCore> Host<C> {
    /// Wraps a core that was just loaded in `status`. A loaded fixed point is one the stored
    /// state records.
    pub fn new(core: C, status: Status) -> Self {
        Self {
            core,
            status,
            recorded: true,
            poisoned: false,
            stats: MachineStats::default(),
        }
    }

    /// The backend core.
    pub fn core(&self) -> &C {
        &self.core
    }

    /// Unwraps the backend core.
    pub fn into_core(self) -> C {
        self.core
    }

    /// Whether an earlier failure left the instance unusable.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    fn usable(&self) -> Result<()> {
        if self.poisoned {
            Err(Error::Poisoned)
        } else {
            Ok(())
        }
    }

    /// Restores `point` and checks the restored root hash; poisons on any failure.
    fn revert(&mut self, point: C::Revert) -> Result<()> {
        let restored = self.core.restore(point).and_then(|expected| {
            let got = self.core.root_hash()?;
            if got == expected {
                Ok(())
            } else {
                Err(Error::RevertMismatch { expected, got })
            }
        });
        if restored.is_err() {
            self.poisoned = true;
        }
        restored
    }

    fn still(outcome: Outcome) -> AdvanceReport {
        AdvanceReport {
            outcome,
            outputs: Vec::new(),
            reports: Vec::new(),
            mcycles: 0,
            ran: false,
            truncated: false,
        }
    }
}

fn report(outcome: Outcome, run: Run) -> AdvanceReport {
    AdvanceReport {
        outcome,
        outputs: run.outputs,
        reports: run.reports,
        mcycles: run.mcycles,
        ran: true,
        truncated: run.truncated,
    }
}

impl<C: MachineCore> Machine for Host<C> {
    fn status(&self) -> &Status {
        &self.status
    }

    fn root_hash(&mut self) -> Result<Hash> {
        self.usable()?;
        self.core.root_hash()
    }

    fn advance(&mut self, input: &[u8], ctl: &RunControl) -> Result<AdvanceReport> {
        self.usable()?;
        if input.len() > CMIO_BUFFER_LEN {
            return Err(Error::InputTooLarge { len: input.len() });
        }
        if let Status::Stuck(outcome) = &self.status {
            return Ok(Self::still(outcome.clone()));
        }
        let started = Instant::now();
        let result = self.run_input(input, ctl);
        self.stats.busy += started.elapsed();
        if let Ok(report) = &result {
            self.stats.inputs += 1;
            match report.outcome {
                Outcome::Accepted { .. } => self.stats.accepted += 1,
                Outcome::Rejected => self.stats.rejected += 1,
                _ => {}
            }
        }
        result
    }

    fn inspect(&mut self, query: &[u8], ctl: &RunControl) -> Result<InspectReport> {
        let started = Instant::now();
        let result = self.inspect_copy(query, ctl);
        self.stats.busy += started.elapsed();
        result
    }

    fn store(&mut self, dest: &Path) -> Result<Hash> {
        let started = Instant::now();
        let result = self.publish(dest);
        self.stats.busy += started.elapsed();
        result
    }

    fn info(&self) -> BackendInfo {
        self.core.info()
    }

    fn stats(&self) -> MachineStats {
        let mut stats = self.stats;
        stats += self.core.stats();
        stats
    }

    fn read_range(&mut self, label: &str, max_len: u64) -> Result<Vec<u8>> {
        self.usable()?;
        if self.status != Status::Ready {
            return Err(Error::NotAccepting {
                status: self.status.clone(),
            });
        }
        self.core.read_range(label, max_len)
    }
}

impl<C: MachineCore> Host<C> {
    /// Feeds one input to a machine waiting for input (algorithm A over the core).
    fn run_input(&mut self, input: &[u8], ctl: &RunControl) -> Result<AdvanceReport> {
        let point = self.core.revert_point()?;
        let run = match self.core.advance(input, &point, ctl) {
            Ok(run) => run,
            Err(err) => {
                // The state may have changed: put it back, or give the instance up.
                let _ = self.revert(point);
                return Err(err);
            }
        };
        match run.stop.clone() {
            Stop::Accepted { outputs_root } => {
                self.core.release(point);
                Ok(report(Outcome::Accepted { outputs_root }, run))
            }
            Stop::Rejected => {
                self.revert(point)?;
                Ok(report(Outcome::Rejected, run))
            }
            Stop::FixedPoint { outcome, recorded } => {
                self.core.release(point);
                self.status = Status::Stuck(outcome.clone());
                self.recorded = recorded;
                tracing::warn!(target: "machine::host", %outcome, "machine reached a fixed point");
                Ok(report(outcome, run))
            }
            Stop::Interrupted => {
                self.revert(point)?;
                Err(Error::Interrupted)
            }
        }
    }

    /// Runs one query on a throw-away copy (algorithm I over the core).
    fn inspect_copy(&mut self, query: &[u8], ctl: &RunControl) -> Result<InspectReport> {
        self.usable()?;
        if query.len() > CMIO_BUFFER_LEN {
            return Err(Error::QueryTooLarge { len: query.len() });
        }
        if self.status != Status::Ready {
            return Err(Error::NotAccepting {
                status: self.status.clone(),
            });
        }
        let run = self.core.inspect(query, ctl)?;
        let outcome = match run.stop {
            Stop::Accepted { outputs_root } => Outcome::Accepted { outputs_root },
            Stop::Rejected => Outcome::Rejected,
            Stop::FixedPoint { outcome, .. } => outcome,
            Stop::Interrupted => return Err(Error::Interrupted),
        };
        Ok(InspectReport {
            outcome,
            reports: run.reports,
            mcycles: run.mcycles,
            truncated: run.truncated,
        })
    }

    /// Durably publishes the live state (algorithm P over the core).
    fn publish(&mut self, dest: &Path) -> Result<Hash> {
        self.usable()?;
        if let Status::Stuck(outcome) = &self.status
            && !self.recorded
        {
            return Err(Error::NotStorable {
                reason: format!("{outcome} is a host-side fixed point the state does not record"),
            });
        }
        if dest.symlink_metadata().is_ok() {
            return Err(Error::AlreadyExists(dest.to_path_buf()));
        }
        self.core.store(dest)?;
        self.core.root_hash()
    }
}
