//! The checkpoint a tick or a replay starts from, and the one it writes: loading a stored
//! machine and checking it against its manifest (spec §5 step 9), and the manifest of a new
//! checkpoint. Shared by `init`, `tick`, `replay` and `status`.

use std::path::PathBuf;
use std::sync::Arc;

use alloy_primitives::B256;
use machine::{MachineBackend, MachineWorker, Status};

use crate::feed::{self, Anchor};
use crate::options::Backend;
use crate::state::StateError;
use crate::state::files::{HeadFile, ManifestFile};
use crate::{Class, Error, Result};

/// The canonical state bytes kept next to each checkpoint's machine.
pub(crate) const STATE_FILE: &str = "state.bin";

/// The head's manifest must describe the head.
pub(crate) fn check_manifest(head: &HeadFile, manifest: &ManifestFile) -> Result<()> {
    if manifest.block != head.block
        || manifest.input_count != head.input_count
        || manifest.state_sha256 != head.state_sha256
    {
        return Err(StateError::CheckpointCorrupt(format!(
            "manifest of {} does not match head.json",
            head.checkpoint
        ))
        .into());
    }
    Ok(())
}

/// Step 9: loads the stored machine `machine_dir` of a checkpoint described by `manifest`,
/// which must be waiting for input and hash to what the manifest says. `what` names the
/// checkpoint in the error (`head`, `source`); `corrupt` maps a machine that does not load or
/// does not match (a missing or unsupported libcartesi is passed through as it is).
pub(crate) async fn load(
    backend: Arc<dyn MachineBackend>,
    machine_dir: PathBuf,
    manifest: &ManifestFile,
    what: &str,
    corrupt: impl Fn(Error) -> Error,
) -> Result<MachineWorker> {
    let (worker, status) =
        MachineWorker::spawn(backend, machine_dir)
            .await
            .map_err(|e| match e {
                machine::Error::Library(_) => feed::machine_error(e),
                other => corrupt(Error::fail(
                    Class::Operator,
                    "checkpoint_corrupt",
                    other.to_string(),
                )),
            })?;
    if status != Status::Ready {
        return Err(Error::fail(
            Class::Operator,
            "checkpoint_corrupt",
            format!("the {what} machine is not waiting for input"),
        ));
    }
    verify_loaded(&worker, manifest).await.map_err(corrupt)?;
    Ok(worker)
}

/// The libcartesi version the worker's machine runs on; `None` for the native backend.
pub(crate) async fn worker_version(worker: &MachineWorker) -> Option<String> {
    match worker.info().await.ok()? {
        machine::BackendInfo::Cartesi(info) => Some(info.version_string()),
        _ => None,
    }
}

/// The manifest of a new checkpoint.
pub(crate) fn new_manifest(
    backend: Backend,
    anchor: &Anchor,
    sha: &B256,
    root: &machine::Hash,
    libcartesi_version: Option<String>,
    origin: &str,
    created_at: String,
) -> ManifestFile {
    let root_hex = hex::encode(root);
    ManifestFile {
        version: 1,
        block: anchor.block,
        input_count: anchor.input_count,
        block_hash: format!("{:#x}", anchor.hash),
        state_sha256: hex::encode(sha),
        machine_backend: backend.as_str().to_owned(),
        machine_root_hash: (backend == Backend::Cartesi).then(|| format!("0x{root_hex}")),
        libcartesi_version,
        native_sha256: (backend == Backend::Native).then_some(root_hex),
        origin: origin.to_owned(),
        created_at,
        template_hash: None,
    }
}

/// The loaded machine must be the one the manifest describes.
async fn verify_loaded(worker: &MachineWorker, manifest: &ManifestFile) -> Result<()> {
    let root = worker.root_hash().await.map_err(feed::machine_error)?;
    let hex_root = hex::encode(root);
    let expected = match (&manifest.native_sha256, &manifest.machine_root_hash) {
        (Some(native), _) => native.trim_start_matches("0x").to_ascii_lowercase(),
        (None, Some(root)) => root.trim_start_matches("0x").to_ascii_lowercase(),
        (None, None) => return Ok(()),
    };
    if hex_root != expected {
        return Err(Error::fail(
            Class::Operator,
            "checkpoint_corrupt",
            format!("the stored machine hashes to {hex_root}, its manifest says {expected}"),
        ));
    }
    Ok(())
}
