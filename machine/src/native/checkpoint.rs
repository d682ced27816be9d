//! The native checkpoint directory: `native.bin` (the serialised [`EngineState`]) and
//! `native.json` (format, version, length and SHA-256 of `native.bin`, and a recorded halt).

use std::path::Path;

use canonical::EngineState;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::publish::create_private_dir;
use crate::{Error, Hash, Result, SnapshotReason};

/// File holding the serialised engine state.
pub const NATIVE_STATE_FILE: &str = "native.bin";
/// File holding the manifest of [`NATIVE_STATE_FILE`].
pub const NATIVE_MANIFEST_FILE: &str = "native.json";
/// The `format` field of the manifest.
const FORMAT: &str = "canonical-engine";
/// Version of the native checkpoint directory format.
pub const NATIVE_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    version: u32,
    length: u64,
    sha256: String,
    /// The exit code of a recorded halt (the engine hit a fatal condition).
    halted: Option<u32>,
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

fn hex(hash: &Hash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// A checkpoint read back from disk.
pub(crate) struct Loaded {
    pub(crate) state: EngineState,
    pub(crate) digest: Hash,
    pub(crate) halted: Option<u32>,
}

/// Writes a checkpoint into the new directory `dir` (no fsync; the publisher does that).
pub(crate) fn write(dir: &Path, encoded: &[u8], halted: Option<u32>) -> Result<()> {
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        version: NATIVE_FORMAT_VERSION,
        length: encoded.len() as u64,
        sha256: hex(&sha256(encoded)),
        halted,
    };
    let json = serde_json::to_vec(&manifest).map_err(|e| Error::Protocol(e.to_string()))?;
    create_private_dir(dir)?;
    let state = dir.join(NATIVE_STATE_FILE);
    std::fs::write(&state, encoded).map_err(|e| Error::io(&state, e))?;
    let path = dir.join(NATIVE_MANIFEST_FILE);
    std::fs::write(&path, json).map_err(|e| Error::io(&path, e))
}

/// Reads and verifies a checkpoint; never writes to `dir`.
pub(crate) fn read(dir: &Path) -> Result<Loaded> {
    let corrupt = |detail: String| Error::snapshot(dir, SnapshotReason::Corrupt(detail));
    let read_file = |name: &str| {
        std::fs::read(dir.join(name))
            .map_err(|e| Error::snapshot(dir, SnapshotReason::Missing(format!("{name} ({e})"))))
    };
    let manifest: Manifest =
        serde_json::from_slice(&read_file(NATIVE_MANIFEST_FILE)?).map_err(|e| {
            Error::snapshot(
                dir,
                SnapshotReason::Unparsable {
                    file: NATIVE_MANIFEST_FILE.into(),
                    detail: e.to_string(),
                },
            )
        })?;
    if manifest.format != FORMAT || manifest.version != NATIVE_FORMAT_VERSION {
        return Err(corrupt(format!(
            "unsupported native checkpoint {} version {}",
            manifest.format, manifest.version
        )));
    }
    let bytes = read_file(NATIVE_STATE_FILE)?;
    let digest = sha256(&bytes);
    if bytes.len() as u64 != manifest.length || hex(&digest) != manifest.sha256 {
        return Err(corrupt(format!(
            "{NATIVE_STATE_FILE} does not match its manifest"
        )));
    }
    let state = EngineState::decode(&bytes).map_err(|e| corrupt(e.to_string()))?;
    Ok(Loaded {
        state,
        digest,
        halted: manifest.halted,
    })
}
