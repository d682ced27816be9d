//! Optional persistence of the finalized replica (`--state-dir`), so that a restart resumes the
//! same replica (fault effects included) without re-reading L1 from the start.
//!
//! One JSON file, `replica.json`, replaced atomically. It is used only when it belongs to the
//! same deployment and the block it was read up to still has the recorded hash; otherwise the
//! replica is rebuilt from L1, which yields the same honest state.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256, Bytes};
use anyhow::{Context as _, Result};
use canonical::{EngineState, WalletConfig};
use serde::{Deserialize, Serialize};

use super::replica::{Checkpoint, Replica};

const FILE: &str = "replica.json";
const VERSION: u32 = 1;

/// What the file must match to be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Deployment {
    pub(crate) chain_id: u64,
    pub(crate) app: Address,
    pub(crate) input_box: Address,
    pub(crate) wallet: WalletConfig,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedCheckpoint {
    inclusion_block: u64,
    executed_input_count: u64,
    bytes: Bytes,
}

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    version: u32,
    deployment: Deployment,
    scanned_block: u64,
    scanned_hash: B256,
    next_index: u64,
    expected: u64,
    honest: Bytes,
    served: Option<Bytes>,
    history: Vec<SavedCheckpoint>,
}

/// A replica read back from disk, with the block it claims to be read up to.
#[derive(Debug)]
pub(crate) struct Restored {
    pub(crate) replica: Replica,
    pub(crate) scanned_block: u64,
    pub(crate) scanned_hash: B256,
}

/// The state directory.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    dir: PathBuf,
}

impl Store {
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// Writes the replica read up to block `scanned` (hash `hash`).
    pub(crate) fn save(
        &self,
        deployment: Deployment,
        replica: &Replica,
        scanned: u64,
        hash: B256,
    ) -> Result<()> {
        let saved = Saved {
            version: VERSION,
            deployment,
            scanned_block: scanned,
            scanned_hash: hash,
            next_index: replica.next_index,
            expected: replica.expected,
            honest: replica.honest.state().encode().into(),
            served: replica.served.as_ref().map(|e| e.state().encode().into()),
            history: replica
                .history
                .iter()
                .map(|c| SavedCheckpoint {
                    inclusion_block: c.inclusion_block,
                    executed_input_count: c.executed_input_count,
                    bytes: c.bytes.clone(),
                })
                .collect(),
        };
        let text = serde_json::to_vec(&saved).context("encoding the replica")?;
        let tmp = self.dir.join(format!("{FILE}.tmp"));
        let mut file =
            fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
        fs::rename(&tmp, self.dir.join(FILE)).context("replacing the replica file")?;
        Ok(())
    }

    /// Reads the replica back if the file exists and belongs to `deployment`.
    pub(crate) fn load(&self, deployment: Deployment) -> Result<Option<Restored>> {
        let path = self.dir.join(FILE);
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let saved: Saved = serde_json::from_slice(&text)
            .with_context(|| format!("decoding {}", path.display()))?;
        if saved.version != VERSION || saved.deployment != deployment {
            tracing::warn!(target: "devnet::sequencer", path = %path.display(), "replica file of another deployment ignored");
            return Ok(None);
        }
        let decode = |bytes: &Bytes| EngineState::decode(bytes).context("decoding an engine state");
        let honest = decode(&saved.honest)?;
        let served = saved.served.as_ref().map(decode).transpose()?;
        let history = saved
            .history
            .into_iter()
            .map(|c| Checkpoint {
                inclusion_block: c.inclusion_block,
                executed_input_count: c.executed_input_count,
                bytes: c.bytes,
            })
            .collect();
        let replica = Replica::restore(
            deployment.wallet,
            honest,
            served,
            (saved.expected, saved.next_index, Some(saved.scanned_block)),
            history,
        );
        Ok(Some(Restored {
            replica,
            scanned_block: saved.scanned_block,
            scanned_hash: saved.scanned_hash,
        }))
    }
}
