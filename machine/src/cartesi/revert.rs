//! Reverting without a store per input: revert points are a root hash and a cycle count, and a
//! revert reloads the base, re-runs the journal and checks where it arrived (see `journal`).
//!
//! What a revert checks before it calls the state restored:
//! - the reloaded base has the root hash recorded when it was stored;
//! - every journal input is accepted again, with its recorded outputs root and `mcycle`;
//! - on 0.21, the root hash before every re-run input equals the one recorded when it first ran
//!   (the library also requires it as the revert root hash), and the final root hash equals the
//!   pre-input root of the undone input, which the host checks again;
//! - on 0.19, which takes no revert root hash, no root is computed per input (it would cost a
//!   hash-tree update per input, which the library's own loop does not pay): the base root and
//!   the per-input record above stand for it, and the final `mcycle` must equal the undone
//!   input's starting `mcycle`.
//!
//! Any difference is [`Error::RevertMismatch`] (root hashes) or [`Error::ReplayMismatch`]; the
//! host then poisons the instance.

use std::time::Instant;

use cartesi_machine_sys::{CMIO_YIELD_REASON_ADVANCE_STATE, Hash};

use super::core::{CartesiCore, load_handle, read_mcycle};
use super::handle::Handle;
use super::journal::CartesiRevert;
use super::run::run_request;
use crate::{Error, Result, RunControl, Stop};

impl CartesiCore {
    /// Captures the pre-input state: no store, no load, and on 0.21 the root hash.
    ///
    /// The base is refreshed (stored) first when there is none, when it is gone or when the
    /// journal reached its bound. Whether it is gone is checked before the first input after
    /// each new base: a caller may move or remove the directory a machine was loaded from or
    /// stored into before it feeds inputs, never while it does.
    pub(super) fn revert_point_here(&mut self) -> Result<CartesiRevert> {
        let base_usable = match &self.base {
            Some(base) => !self.journal.is_empty() || base.exists(),
            None => false,
        };
        if !base_usable {
            self.refresh_base("revert")?;
        } else if self.journal.reached(&self.bound) {
            // The journal is still a valid way back: a failed refresh only makes it longer.
            if let Err(err) = self.refresh_base("revert") {
                tracing::warn!(target: "machine::cartesi", %err, "cannot refresh the revert base");
            }
        }
        let taken = Instant::now();
        let root = if self.is_v19() {
            None
        } else {
            Some(self.live_root()?)
        };
        Ok(CartesiRevert {
            root,
            mcycle: self.mcycle,
            taken,
        })
    }

    /// Restores the state of `point`: reload the base, re-run the journal, check, then make the
    /// result the new base. Returns the root hash the restored state must have.
    pub(super) fn restore_here(&mut self, point: CartesiRevert) -> Result<Hash> {
        self.pending = None;
        self.root = None;
        self.handle = None; // cm_delete the live instance first
        let handle = self.replay()?;
        let arrived = read_mcycle(&handle)?;
        if arrived != point.mcycle {
            return Err(Error::ReplayMismatch(format!(
                "the replay ended at mcycle {arrived}, the input started at {}",
                point.mcycle
            )));
        }
        self.handle = Some(handle);
        self.mcycle = arrived;
        let root = match point.root {
            Some(root) => root,
            None => self.live_root()?,
        };
        if !self.journal.is_empty()
            && let Err(err) = self.refresh_base("revert")
        {
            // The old base and the journal still lead here.
            tracing::warn!(target: "machine::cartesi", %err, "cannot refresh the revert base");
        }
        Ok(root)
    }

    /// Loads the base and re-runs the journal on it.
    fn replay(&mut self) -> Result<Handle> {
        let base = self.base.as_ref().ok_or(Error::Poisoned)?;
        let h = load_handle(self.lib, base.path(), &self.runtime)?;
        self.counted.loads += 1;
        let got = h.root_hash()?;
        if got != base.root {
            return Err(Error::RevertMismatch {
                expected: base.root,
                got,
            });
        }
        // Every journal input ran to its end within its budget before; the replay must not be
        // cut short, and drops the outputs it already delivered.
        let ctl = RunControl {
            max_collected_bytes: 0,
            ..RunControl::default()
        };
        let mut mcycle = base.mcycle;
        for (position, entry) in self.journal.entries().iter().enumerate() {
            if let Some(expected) = entry.pre_root {
                let got = h.root_hash()?;
                if got != expected {
                    return Err(Error::RevertMismatch { expected, got });
                }
            }
            h.send(
                CMIO_YIELD_REASON_ADVANCE_STATE,
                &entry.input,
                entry.pre_root.as_ref(),
            )?;
            let run = run_request(&h, &mut self.rx, mcycle, &ctl)?;
            mcycle = mcycle.saturating_add(run.mcycles);
            let accepted = Stop::Accepted {
                outputs_root: entry.outputs_root,
            };
            if run.stop != accepted || mcycle != entry.mcycle_after {
                return Err(Error::ReplayMismatch(format!(
                    "journal input {position} ended {:?} at mcycle {mcycle}; it was accepted at mcycle {}",
                    run.stop, entry.mcycle_after
                )));
            }
            self.counted.replayed += 1;
        }
        Ok(h)
    }
}
