//! The libcartesi core: load (algorithm L), revert points, inspect copies, publish (P),
//! templates (T) and labeled ranges (E).

use std::ffi::CString;
use std::path::{Path, PathBuf};

use cartesi_machine_sys::{
    CMIO_BUFFER_LEN, CMIO_YIELD_REASON_ADVANCE_STATE, CMIO_YIELD_REASON_INSPECT_STATE, Generation,
    Hash, Library,
};
use serde_json::Value;

use super::handle::{self, Handle};
use super::run::{Classified, classify, run_request};
use super::{LoadOptions, invalid_json, runtime_json};
use crate::publish::{
    StoreSteps, c_path, next_seq, parent_of, publish, remove_dir, sync_dir, sync_flat_dir,
};
use crate::{
    BackendInfo, Error, MachineCore, Result, Run, RunControl, SnapshotReason, Status, Stop,
};

/// A stored directory whose state equals the live state.
#[derive(Debug)]
struct CleanDir {
    path: PathBuf,
    /// A backend scratch directory, removed when superseded.
    owned: bool,
}

impl CleanDir {
    fn discard(self) {
        if self.owned
            && let Err(err) = remove_dir(&self.path)
        {
            tracing::warn!(target: "machine::cartesi", %err, "cannot remove scratch directory");
        }
    }

    fn exists(&self) -> bool {
        self.path.join("config.json").exists()
    }
}

/// The pre-input state: where to reload it from and its root hash.
#[derive(Debug)]
pub struct CartesiRevert {
    root: Hash,
    src: CleanDir,
}

/// The libcartesi backend core. Not `Send`: its handle stays on the thread that loaded it.
#[derive(Debug)]
pub struct CartesiCore {
    lib: &'static Library,
    /// `None` only after a failed reload; the host has then poisoned the instance.
    handle: Option<Handle>,
    clean: Option<CleanDir>,
    work_dir: PathBuf,
    runtime: CString,
    rx: Vec<u8>,
}

impl Drop for CartesiCore {
    fn drop(&mut self) {
        if let Some(clean) = self.clean.take() {
            clean.discard();
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

/// Loads a handle and checks `MIMPID` (steps 3–4).
fn load_handle(lib: &'static Library, dir: &Path, runtime: &CString) -> Result<Handle> {
    let handle = Handle::load(lib, &c_path(dir)?, runtime)?;
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
        let core = Self {
            lib,
            handle: Some(handle),
            clean: Some(CleanDir {
                path: dir.to_path_buf(),
                owned: false,
            }),
            work_dir: opts.work_dir.clone(),
            runtime,
            rx,
        };
        Ok((core, status))
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
        let mut core = Self {
            lib,
            handle: Some(handle),
            clean: None,
            work_dir: opts.work_dir.clone(),
            runtime,
            rx: vec![0u8; CMIO_BUFFER_LEN],
        };
        let h = core.handle.as_ref().ok_or(Error::Poisoned)?;
        h.set_runtime_config(&core.runtime)?;
        let m0 = h.read_reg(lib.api().regs().mcycle)?;
        let run = run_request(h, &mut core.rx, m0, ctl)?;
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

    fn handle(&self) -> Result<&Handle> {
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

    fn is_v19(&self) -> bool {
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

    /// Stores the live state into a fresh scratch directory (no fsync: it is never published).
    fn store_scratch(&self, purpose: &str) -> Result<CleanDir> {
        let path = self.scratch(purpose);
        if let Err(err) = self.handle()?.store(&c_path(&path)?) {
            if path.symlink_metadata().is_ok() {
                let _ = remove_dir(&path);
            }
            return Err(err);
        }
        Ok(CleanDir { path, owned: true })
    }

    /// A clean directory for the live state, storing one if needed.
    fn take_clean(&mut self, purpose: &str) -> Result<CleanDir> {
        match self.clean.take() {
            Some(clean) if clean.exists() => Ok(clean),
            stale => {
                if let Some(stale) = stale {
                    stale.discard();
                }
                self.store_scratch(purpose)
            }
        }
    }

    fn prepare_run(&self, h: &Handle) -> Result<u64> {
        if self.is_v19() {
            h.set_runtime_config(&self.runtime)?;
        }
        h.read_reg(self.lib.api().regs().mcycle)
    }
}

impl MachineCore for CartesiCore {
    type Revert = CartesiRevert;

    fn info(&self) -> BackendInfo {
        BackendInfo::Cartesi(self.lib.info().clone())
    }

    fn root_hash(&mut self) -> Result<Hash> {
        self.handle()?.root_hash()
    }

    fn revert_point(&mut self) -> Result<CartesiRevert> {
        let root = self.handle()?.root_hash()?;
        let src = self.take_clean("revert")?;
        Ok(CartesiRevert { root, src })
    }

    fn advance(&mut self, input: &[u8], point: &CartesiRevert, ctl: &RunControl) -> Result<Run> {
        let h = self.handle.as_ref().ok_or(Error::Poisoned)?;
        let m0 = self.prepare_run(h)?;
        let revert = (!self.is_v19()).then_some(&point.root);
        h.send(CMIO_YIELD_REASON_ADVANCE_STATE, input, revert)?;
        let run = run_request(h, &mut self.rx, m0, ctl)?;
        if run.stop == Stop::Rejected
            && let Some(recorded) = h.revert_root_hash()?
            && recorded != point.root
        {
            return Err(Error::RevertMismatch {
                expected: point.root,
                got: recorded,
            });
        }
        Ok(run)
    }

    fn restore(&mut self, point: CartesiRevert) -> Result<Hash> {
        self.handle = None; // cm_delete the live instance first
        match load_handle(self.lib, &point.src.path, &self.runtime) {
            Ok(handle) => {
                self.handle = Some(handle);
                self.clean = Some(point.src);
                Ok(point.root)
            }
            Err(err) => {
                point.src.discard();
                Err(err)
            }
        }
    }

    fn release(&mut self, point: CartesiRevert) {
        point.src.discard();
    }

    fn inspect(&mut self, query: &[u8], ctl: &RunControl) -> Result<Run> {
        let clean = self.take_clean("base")?;
        let copy = load_handle(self.lib, &clean.path, &self.runtime);
        self.clean = Some(clean);
        let copy = copy?;
        let m0 = self.prepare_run(&copy)?;
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
        if let Some(previous) = self.clean.replace(CleanDir {
            path: dest.to_path_buf(),
            owned: false,
        }) {
            previous.discard();
        }
        Ok(())
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
