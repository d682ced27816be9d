//! The libcartesi core: load (algorithm L), inspect copies, publish (P), templates (T) and
//! labeled ranges (E). Reverting lives in `revert`.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use cartesi_machine_sys::{
    CMIO_BUFFER_LEN, CMIO_YIELD_REASON_ADVANCE_STATE, CMIO_YIELD_REASON_INSPECT_STATE, Generation,
    Hash, Library,
};
use serde_json::Value;

use super::handle::{self, Handle};
use super::journal::{Base, CartesiRevert, Cost, Entry, Journal, JournalBound};
use super::run::{Classified, classify, run_request};
use super::{LoadOptions, invalid_json, runtime_json};
use crate::publish::{StoreSteps, c_path, next_seq, parent_of, publish, sync_dir, sync_flat_dir};
use crate::{
    BackendInfo, Error, MachineCore, MachineStats, Result, Run, RunControl, SnapshotReason, Status,
    Stop,
};

/// The libcartesi backend core. Not `Send`: its handle stays on the thread that loaded it.
#[derive(Debug)]
pub struct CartesiCore {
    pub(super) lib: &'static Library,
    /// `None` only after a failed reload; the host has then poisoned the instance.
    pub(super) handle: Option<Handle>,
    /// The stored state the journal starts from; `None` until one is needed (templates).
    pub(super) base: Option<Base>,
    /// The inputs accepted since `base`.
    pub(super) journal: Journal,
    /// The input of the advance in progress, once accepted, until the host keeps it.
    pub(super) pending: Option<(Entry, Cost)>,
    pub(super) bound: JournalBound,
    work_dir: PathBuf,
    pub(super) runtime: CString,
    pub(super) rx: Vec<u8>,
    /// `MCYCLE` of the live machine while it waits for input (kept, not read, between inputs:
    /// the machine does not run between them).
    pub(super) mcycle: u64,
    /// The root hash of the live state, once computed, until the machine runs again.
    pub(super) root: Option<Hash>,
    /// Stores, loads and replayed inputs so far.
    pub(super) counted: MachineStats,
}

impl Drop for CartesiCore {
    fn drop(&mut self) {
        if let Some(base) = self.base.take() {
            base.discard();
        }
    }
}

fn generation(lib: &Library) -> Generation {
    lib.api().generation()
}

fn bad_config(dir: &Path, detail: String) -> Error {
    Error::snapshot(
        dir,
        SnapshotReason::Unparsable {
            file: "config.json".into(),
            detail,
        },
    )
}

/// Checks `<dir>/config.json` names the archive version of the loaded library (step 2).
fn check_archive_version(lib: &Library, dir: &Path) -> Result<()> {
    let path = dir.join("config.json");
    let text = std::fs::read(&path)
        .map_err(|_| Error::snapshot(dir, SnapshotReason::Missing(path.display().to_string())))?;
    let value: Value = serde_json::from_slice(&text).map_err(|e| bad_config(dir, e.to_string()))?;
    let version = value
        .get("archive_version")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad_config(dir, "no numeric archive_version".into()))?;
    let expected = generation(lib).archive_version();
    if version != expected {
        return Err(Error::SnapshotVersion {
            dir: dir.to_path_buf(),
            archive_version: version,
            api: generation(lib).as_str(),
            expected,
        });
    }
    Ok(())
}

fn has_shared(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            map.get("shared").and_then(Value::as_bool) == Some(true) || map.values().any(has_shared)
        }
        Value::Array(items) => items.iter().any(has_shared),
        _ => false,
    }
}

/// Applies the 0.19 runtime configuration on the thread that owns `handle` (pitfall P9). Its
/// console flag is thread-local and every handle stays on the thread that created it, so once
/// per handle, before its first run, is enough; 0.21 keeps the configuration per machine.
fn silence_console(handle: &Handle, runtime: &CString) -> Result<()> {
    if generation(handle.lib()) == Generation::V19 {
        handle.set_runtime_config(runtime)?;
    }
    Ok(())
}

/// `MCYCLE` of a machine.
pub(super) fn read_mcycle(h: &Handle) -> Result<u64> {
    h.read_reg(h.lib().api().regs().mcycle)
}

/// Loads a handle and checks `MIMPID` (steps 3–4).
pub(super) fn load_handle(lib: &'static Library, dir: &Path, runtime: &CString) -> Result<Handle> {
    let handle = Handle::load(lib, &c_path(dir)?, runtime)?;
    silence_console(&handle, runtime)?;
    let mimpid = handle.read_reg(lib.api().regs().mimpid)?;
    if mimpid != generation(lib).mimpid() {
        return Err(Error::Protocol(format!(
            "mimpid {mimpid} does not match libcartesi {}",
            generation(lib)
        )));
    }
    Ok(handle)
}

impl CartesiCore {
    /// Algorithm L: loads `dir` without ever writing to it.
    pub(crate) fn load(
        lib: &'static Library,
        opts: &LoadOptions,
        dir: &Path,
    ) -> Result<(Self, Status)> {
        c_path(dir)?; // a NUL byte fails before any C call
        check_archive_version(lib, dir)?;
        let runtime = runtime_json(generation(lib), opts.console);
        let handle = load_handle(lib, dir, &runtime)?;
        if generation(lib) == Generation::V19 {
            let config = handle.initial_config()?;
            let value: Value =
                serde_json::from_str(&config).map_err(|e| bad_config(dir, e.to_string()))?;
            if has_shared(&value) {
                return Err(Error::snapshot(dir, SnapshotReason::SharedBackingStore));
            }
        }
        let mut rx = vec![0u8; CMIO_BUFFER_LEN];
        let status = match classify(&handle, &mut rx)? {
            Classified::Ready => Status::Ready,
            Classified::Stuck(outcome) => Status::Stuck(outcome),
            Classified::AtRejected | Classified::MidInput | Classified::Running => {
                return Err(Error::snapshot(dir, SnapshotReason::NotAtInputBoundary));
            }
        };
        let mcycle = read_mcycle(&handle)?;
        let root = handle.root_hash()?;
        let mut core = Self::new(lib, opts, handle, runtime);
        core.rx = rx;
        core.base = Some(Base::new(dir.to_path_buf(), false, root, mcycle));
        core.mcycle = mcycle;
        core.root = Some(root);
        core.counted.loads = 1;
        Ok((core, status))
    }

    fn new(lib: &'static Library, opts: &LoadOptions, handle: Handle, runtime: CString) -> Self {
        Self {
            lib,
            handle: Some(handle),
            base: None,
            journal: Journal::default(),
            pending: None,
            bound: opts.journal,
            work_dir: opts.work_dir.clone(),
            runtime,
            rx: vec![0u8; CMIO_BUFFER_LEN],
            mcycle: 0,
            root: None,
            counted: MachineStats::default(),
        }
    }

    /// Algorithm T.
    pub(crate) fn create_template(
        lib: &'static Library,
        opts: &LoadOptions,
        config_json: &str,
        dest: &Path,
        ctl: &RunControl,
    ) -> Result<Hash> {
        if dest.symlink_metadata().is_ok() {
            return Err(Error::AlreadyExists(dest.to_path_buf()));
        }
        let config = CString::new(config_json).map_err(|_| invalid_json("the machine config"))?;
        let runtime = runtime_json(generation(lib), opts.console);
        let handle = Handle::create(lib, &config, &runtime)?;
        let mut core = Self::new(lib, opts, handle, runtime);
        let h = core.handle.as_ref().ok_or(Error::Poisoned)?;
        silence_console(h, &core.runtime)?;
        let m0 = read_mcycle(h)?;
        let run = run_request(h, &mut core.rx, m0, ctl)?;
        core.mcycle = m0.saturating_add(run.mcycles);
        match run.stop {
            Stop::Accepted { .. } => {}
            other => {
                return Err(Error::snapshot(
                    dest,
                    SnapshotReason::NotATemplate(format!("{other:?}")),
                ));
            }
        }
        core.store(dest)?;
        core.handle()?.root_hash()
    }

    pub(super) fn handle(&self) -> Result<&Handle> {
        self.handle.as_ref().ok_or(Error::Poisoned)
    }

    /// The stub serial of the live handle.
    pub(crate) fn debug_serial(&self) -> Option<u64> {
        self.handle.as_ref()?.stub_serial()
    }

    /// Closes the live handle with `cm_destroy`, reporting errors, then deletes it.
    pub fn close(mut self) -> Result<()> {
        match self.handle.take() {
            Some(handle) => handle.close(),
            None => Ok(()),
        }
    }

    pub(super) fn is_v19(&self) -> bool {
        generation(self.lib) == Generation::V19
    }

    /// A scratch path `work_dir/cm-<pid>-<seq>-<purpose>`.
    fn scratch(&self, purpose: &str) -> PathBuf {
        self.work_dir.join(format!(
            "cm-{}-{}-{purpose}",
            std::process::id(),
            next_seq()
        ))
    }

    /// The root hash of the live state, computed at most once between runs.
    pub(super) fn live_root(&mut self) -> Result<Hash> {
        if let Some(root) = self.root {
            return Ok(root);
        }
        let root = self.handle()?.root_hash()?;
        self.root = Some(root);
        Ok(root)
    }

    /// Makes the live state, which waits for input, the new revert base: a store into a fresh
    /// scratch directory (no fsync: it is never published). The journal starts over.
    pub(super) fn refresh_base(&mut self, purpose: &str) -> Result<()> {
        let path = self.scratch(purpose);
        let stored = c_path(&path)
            .and_then(|c| self.handle()?.store(&c))
            .and_then(|()| self.live_root());
        let root = match stored {
            Ok(root) => root,
            Err(err) => {
                if path.symlink_metadata().is_ok() {
                    let _ = crate::publish::remove_dir(&path);
                }
                return Err(err);
            }
        };
        self.counted.stores += 1;
        self.replace_base(Base::new(path, true, root, self.mcycle));
        Ok(())
    }

    /// Makes `base`, which holds the live state, the revert base; the journal starts over.
    fn replace_base(&mut self, base: Base) {
        if let Some(previous) = self.base.replace(base) {
            previous.discard();
        }
        self.journal.clear();
    }

    /// A stored directory holding exactly the live state, storing one if the journal is not
    /// empty or the base is gone.
    fn current_base(&mut self, purpose: &str) -> Result<&Base> {
        let usable = self.journal.is_empty() && self.base.as_ref().is_some_and(Base::exists);
        if !usable {
            self.refresh_base(purpose)?;
        }
        self.base.as_ref().ok_or(Error::Poisoned)
    }
}

impl MachineCore for CartesiCore {
    type Revert = CartesiRevert;

    fn info(&self) -> BackendInfo {
        BackendInfo::Cartesi(self.lib.info().clone())
    }

    fn root_hash(&mut self) -> Result<Hash> {
        self.live_root()
    }

    fn revert_point(&mut self) -> Result<CartesiRevert> {
        self.revert_point_here()
    }

    fn advance(&mut self, input: &[u8], point: &CartesiRevert, ctl: &RunControl) -> Result<Run> {
        self.pending = None;
        let h = self.handle.as_ref().ok_or(Error::Poisoned)?;
        h.send(CMIO_YIELD_REASON_ADVANCE_STATE, input, point.root.as_ref())?;
        self.root = None;
        let run = run_request(h, &mut self.rx, point.mcycle, ctl)?;
        self.mcycle = point.mcycle.saturating_add(run.mcycles);
        match &run.stop {
            Stop::Accepted { outputs_root } => {
                let entry = Entry {
                    input: input.to_vec(),
                    pre_root: point.root,
                    mcycle_after: point.mcycle.saturating_add(run.mcycles),
                    outputs_root: *outputs_root,
                };
                let cost = Cost {
                    mcycles: run.mcycles,
                    time: point.taken.elapsed(),
                };
                self.pending = Some((entry, cost));
            }
            Stop::Rejected => {
                if let (Some(expected), Some(recorded)) = (point.root, h.revert_root_hash()?)
                    && recorded != expected
                {
                    return Err(Error::RevertMismatch {
                        expected,
                        got: recorded,
                    });
                }
            }
            Stop::FixedPoint { .. } | Stop::Interrupted => {}
        }
        Ok(run)
    }

    fn restore(&mut self, point: CartesiRevert) -> Result<Hash> {
        self.restore_here(point)
    }

    fn release(&mut self, _: CartesiRevert) {
        if let Some((entry, cost)) = self.pending.take() {
            self.journal.push(entry, cost);
        }
    }

    fn inspect(&mut self, query: &[u8], ctl: &RunControl) -> Result<Run> {
        let base = self.current_base("base")?.path().to_path_buf();
        let copy = load_handle(self.lib, &base, &self.runtime)?;
        self.counted.loads += 1;
        let m0 = read_mcycle(&copy)?;
        copy.send(CMIO_YIELD_REASON_INSPECT_STATE, query, None)?;
        run_request(&copy, &mut self.rx, m0, ctl)
        // `copy` is deleted here, on success and on error alike.
    }

    fn store(&mut self, dest: &Path) -> Result<()> {
        let mut steps = Publish {
            lib: self.lib,
            handle: self.handle()?,
        };
        publish(dest, &mut steps)?;
        self.counted.stores += 1;
        let root = self.live_root()?;
        self.replace_base(Base::new(dest.to_path_buf(), false, root, self.mcycle));
        Ok(())
    }

    fn stats(&self) -> MachineStats {
        self.counted
    }

    fn read_range(&mut self, label: &str, max_len: u64) -> Result<Vec<u8>> {
        if self.is_v19() {
            return Err(Error::Unsupported {
                what: "labeled memory ranges on libcartesi 0.19",
            });
        }
        let h = self.handle()?;
        let config: Value = serde_json::from_str(&h.initial_config()?)
            .map_err(|e| Error::Protocol(format!("initial config is not JSON: {e}")))?;
        let matches: Vec<&Value> = ["flash_drive", "nvram"]
            .iter()
            .filter_map(|key| config.get(key).and_then(Value::as_array))
            .flatten()
            .filter(|entry| entry.get("label").and_then(Value::as_str) == Some(label))
            .collect();
        let range_error = |matches: usize, length: Option<u64>| Error::StateRange {
            label: label.to_owned(),
            matches,
            length,
        };
        let [entry] = matches.as_slice() else {
            return Err(range_error(matches.len(), None));
        };
        let field = |name: &str| {
            entry
                .get(name)
                .and_then(Value::as_u64)
                .ok_or_else(|| Error::Protocol(format!("range {label:?} has no numeric {name}")))
        };
        let (start, length) = (field("start")?, field("length")?);
        if length > max_len {
            return Err(range_error(1, Some(length)));
        }
        h.read_memory(start, length)
    }
}

/// Algorithm P's backend steps.
struct Publish<'a> {
    lib: &'static Library,
    handle: &'a Handle,
}

impl StoreSteps for Publish<'_> {
    fn write(&mut self, tmp: &Path) -> Result<()> {
        self.handle.store(&c_path(tmp)?)
    }

    fn sync(&mut self, tmp: &Path) -> Result<()> {
        match generation(self.lib) {
            Generation::V21 => handle::sync_stored(self.lib, &c_path(tmp)?),
            Generation::V19 => sync_flat_dir(tmp),
        }
    }

    fn rename(&mut self, tmp: &Path, dest: &Path) -> Result<()> {
        match generation(self.lib) {
            Generation::V21 => handle::rename_stored(self.lib, &c_path(tmp)?, &c_path(dest)?),
            Generation::V19 => {
                crate::publish::rename_no_replace(tmp, dest)?;
                sync_dir(&parent_of(dest))
            }
        }
    }
}
