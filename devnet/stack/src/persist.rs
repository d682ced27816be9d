//! A devnet's chain kept across `devnet down --keep` and the next `devnet up`, and the files
//! anvil writes.
//!
//! Layout in the state directory:
//!
//! - `anvil/cache/`: anvil's `--cache-path`. anvil started by this crate keeps its historical
//!   states in memory only (`--prune-history`), so nothing should land here; it is removed on
//!   every start and `down` all the same.
//! - `anvil/state.json`: the chain as `anvil_dumpState` (with its in-memory historical states)
//!   returned it, decompressed; what `--load-state` reads back. Written only when the chain is
//!   kept.
//! - `kept.json` ([`Kept`]): what the dump holds and which pins made it. A kept chain from other
//!   pins is refused ([`DevnetError::KeptStateMismatch`]).
//! - `keep.request`: asks a running supervisor to keep the chain when it stops (written by
//!   `devnet down --keep` before it signals the supervisor).
//!
//! The functions here take the state directory and a [`LocalStack`] or a provider, so the
//! supervisor, the CLI and a control API can all call them.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use alloy::primitives::B256;
use alloy::providers::ext::AnvilApi as _;
use alloy::providers::{DynProvider, Provider as _};
use anyhow::{Context as _, Result, anyhow};
use serde::{Deserialize, Serialize};

use crate::error::DevnetError;
use crate::local::{LocalStack, wipe};
use crate::state_file::{Addresses, Versions, create_private_dir, now_ms, read_json, write_atomic};

/// anvil's directory in a state directory.
pub const ANVIL_DIR: &str = "anvil";
/// anvil's `--cache-path`, below [`ANVIL_DIR`].
pub const ANVIL_CACHE: &str = "cache";
/// The kept chain, below [`ANVIL_DIR`].
pub const CHAIN_STATE: &str = "state.json";
/// What the kept chain holds ([`Kept`]).
pub const KEPT_FILE: &str = "kept.json";
/// Asks a running supervisor to keep the chain when it stops.
pub const KEEP_REQUEST: &str = "keep.request";
/// Saved snapshots of the whole stack (kept by `down`, with or without `--keep`).
pub const SNAPSHOTS_DIR: &str = "snapshots";
/// The format of [`Kept`].
pub const KEPT_FORMAT: u32 = 1;

/// anvil's cache directory in `dir`.
pub fn anvil_cache_dir(dir: &Path) -> PathBuf {
    dir.join(ANVIL_DIR).join(ANVIL_CACHE)
}

/// The kept chain's dump in `dir`.
pub fn chain_state_path(dir: &Path) -> PathBuf {
    dir.join(ANVIL_DIR).join(CHAIN_STATE)
}

/// `kept.json`: a chain kept by `devnet down --keep`, resumed by the next `devnet up`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// [`KEPT_FORMAT`].
    pub format: u32,
    /// The versions that made the chain.
    pub versions: Versions,
    /// The chain id.
    pub chain_id: u64,
    /// The deployed addresses.
    pub addresses: Addresses,
    /// The head when the chain was dumped.
    pub block_number: u64,
    /// Its hash (the resumed chain must have the same block there).
    pub block_hash: B256,
    /// The run that kept it.
    pub run_id: String,
    /// The dump's size in bytes.
    pub chain_bytes: u64,
    /// When it was kept (ms since the Unix epoch).
    pub kept_at_ms: u64,
}

impl Kept {
    /// Reads `dir/kept.json`; `None` when no chain is kept there.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        Self::read_file(&dir.join(KEPT_FILE))
    }

    /// Reads a file of this layout (`kept.json`, a snapshot's manifest); `None` when absent.
    pub fn read_file(path: &Path) -> Result<Option<Self>> {
        let Some(kept) = read_json::<Self>(path)? else {
            return Ok(None);
        };
        if kept.format != KEPT_FORMAT {
            return Err(anyhow!(
                "{} has format {}, this devnet reads {KEPT_FORMAT}",
                path.display(),
                kept.format
            ));
        }
        Ok(Some(kept))
    }

    /// Writes `dir/kept.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).context("encoding kept.json")?;
        write_atomic(&dir.join(KEPT_FILE), text.as_bytes())
    }

    /// The pins that made the chain, as a reader would compare them.
    pub fn pins(&self) -> String {
        describe_pins(
            &self.versions.anvil,
            &self.versions.rollups,
            self.chain_id,
            &self.addresses,
        )
    }

    /// Refuses a chain made by other pins (anvil, the Rollups release, the addresses) or on
    /// another chain id than `chain_id` (`None`: its own): the error names both.
    pub fn check_pins(&self, dir: &Path, chain_id: Option<u64>) -> Result<(), DevnetError> {
        let pinned = pinned_description(chain_id.unwrap_or(self.chain_id));
        let kept = self.pins();
        if kept == pinned {
            Ok(())
        } else {
            Err(DevnetError::KeptStateMismatch {
                dir: dir.to_owned(),
                kept,
                pinned,
            })
        }
    }
}

fn describe_pins(anvil: &str, rollups: &str, chain_id: u64, a: &Addresses) -> String {
    format!(
        "anvil {anvil}, Rollups {rollups}, chain {chain_id}, InputBox {}, application {}, token {}",
        a.input_box.to_checksum(None),
        a.application.to_checksum(None),
        a.token.to_checksum(None)
    )
}

/// This build's pins on chain `chain_id`, described like [`Kept::pins`].
fn pinned_description(chain_id: u64) -> String {
    let versions = Versions::default();
    let addresses = Addresses::from(&crate::Deployment::pinned(0));
    describe_pins(&versions.anvil, &versions.rollups, chain_id, &addresses)
}

/// Dumps anvil's chain (blocks, transactions, accounts and its in-memory historical states) to
/// `path`, atomically; returns the dump's size.
pub async fn dump_state(provider: &DynProvider, path: &Path) -> Result<u64> {
    let compressed = provider
        .anvil_dump_state_with_history()
        .await
        .context("anvil_dumpState")?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(compressed.as_ref())
        .read_to_end(&mut json)
        .context("decompressing anvil's state dump")?;
    if let Some(parent) = path.parent() {
        create_private_dir(parent)?;
    }
    write_atomic(path, &json)?;
    Ok(u64::try_from(json.len()).unwrap_or(u64::MAX))
}

/// Keeps the chain of a running stack in `dir`: stops the sequencer (so nothing lands after
/// the dump), mines one block so its last submission is on chain, dumps anvil to
/// `anvil/state.json` and writes `kept.json`. anvil keeps running; the caller stops it.
pub async fn keep(stack: &mut LocalStack, dir: &Path) -> Result<Kept> {
    stack.stop_sequencer().await?;
    let devnet = stack.devnet();
    devnet
        .mine(1)
        .await
        .context("mining the last submissions")?;
    let provider = devnet.anvil().provider();
    let head = provider
        .get_block(alloy::eips::BlockId::latest())
        .await
        .context("eth_getBlockByNumber latest")?
        .ok_or_else(|| anyhow!("anvil has no latest block"))?;
    let chain_bytes = dump_state(provider, &chain_state_path(dir)).await?;
    let kept = Kept {
        format: KEPT_FORMAT,
        versions: Versions::default(),
        chain_id: devnet.anvil().chain_id(),
        addresses: Addresses::from(devnet.deployment()),
        block_number: head.header.number,
        block_hash: head.header.hash,
        run_id: stack.run_id().to_owned(),
        chain_bytes,
        kept_at_ms: now_ms(),
    };
    kept.write(dir)?;
    tracing::info!(target: "devnet::persist", block = kept.block_number, bytes = chain_bytes, "chain kept");
    Ok(kept)
}

/// The kept chain of `dir` that the next `up` resumes on chain `chain_id` (`None`: any):
/// `None` when there is none; an error when it is incomplete, was made by other pins or runs
/// another chain id.
pub fn resumable(dir: &Path, chain_id: Option<u64>) -> Result<Option<(Kept, PathBuf)>> {
    let Some(kept) = Kept::read(dir)? else {
        return Ok(None);
    };
    kept.check_pins(dir, chain_id)?;
    let state = chain_state_path(dir);
    if !state.is_file() {
        return Err(anyhow!(
            "{} names a kept chain but {} is missing; discard it with `devnet down`",
            dir.join(KEPT_FILE).display(),
            state.display()
        ));
    }
    Ok(Some((kept, state)))
}

/// Checks that a resumed chain is the kept one: the kept head is still there, with its hash.
pub async fn verify_resumed(provider: &DynProvider, kept: &Kept) -> Result<()> {
    let block = provider
        .get_block(kept.block_number.into())
        .await
        .with_context(|| format!("eth_getBlockByNumber {}", kept.block_number))?
        .ok_or_else(|| anyhow!("the resumed chain has no block {}", kept.block_number))?;
    if block.header.hash != kept.block_hash {
        return Err(anyhow!(
            "the resumed chain has block {} with hash {}, the kept one had {}",
            kept.block_number,
            block.header.hash,
            kept.block_hash
        ));
    }
    Ok(())
}

/// A front on the port of `previous` (an endpoint of the run that kept the chain), so clients
/// configured with it reach the resumed devnet; an ephemeral port when that one is taken.
pub async fn reopen_front(previous: Option<&str>) -> Result<crate::Front> {
    let addr = previous
        .and_then(|url| url.strip_prefix("http://"))
        .and_then(|addr| {
            addr.trim_end_matches('/')
                .parse::<std::net::SocketAddr>()
                .ok()
        });
    if let Some(addr) = addr
        && let Ok(front) = crate::Front::bind(addr).await
    {
        return Ok(front);
    }
    crate::Front::start().await
}

/// Asks the supervisor of `dir` to keep the chain when it stops.
pub fn request_keep(dir: &Path) -> Result<()> {
    write_atomic(&dir.join(KEEP_REQUEST), b"keep\n")
}

/// Whether keeping was requested; removes the request.
pub fn take_keep_request(dir: &Path) -> bool {
    std::fs::remove_file(dir.join(KEEP_REQUEST)).is_ok()
}

/// Removes the kept chain of `dir` (after it was resumed, or on `down` without `--keep`).
pub fn discard_kept(dir: &Path) -> Result<()> {
    for path in [dir.join(KEPT_FILE), chain_state_path(dir)] {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
    }
    Ok(())
}

/// Removes what anvil may have persisted in `dir` (its cache path).
pub fn remove_anvil_cache(dir: &Path) -> Result<()> {
    wipe(&anvil_cache_dir(dir))
}

/// Removes all of anvil's files in `dir`, a kept chain included.
pub fn remove_anvil_files(dir: &Path) -> Result<()> {
    discard_kept(dir)?;
    let _ = std::fs::remove_file(dir.join(KEEP_REQUEST));
    wipe(&dir.join(ANVIL_DIR))
}

#[cfg(test)]
mod tests {
    use alloy::primitives::Address;
    use devnet_pins as pins;

    use super::*;

    fn kept() -> Kept {
        Kept {
            format: KEPT_FORMAT,
            versions: Versions::default(),
            chain_id: pins::CHAIN_ID,
            addresses: Addresses::from(&crate::Deployment::pinned(12)),
            block_number: 40,
            block_hash: B256::repeat_byte(7),
            run_id: "r".to_owned(),
            chain_bytes: 1,
            kept_at_ms: 1,
        }
    }

    #[test]
    fn kept_state_round_trips_and_matches_these_pins() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Kept::read(dir.path()).unwrap(), None);
        let kept = kept();
        kept.write(dir.path()).unwrap();
        assert_eq!(Kept::read(dir.path()).unwrap(), Some(kept.clone()));
        kept.check_pins(dir.path(), Some(pins::CHAIN_ID)).unwrap();
        // On another chain id it is refused, naming both.
        let err = kept
            .check_pins(dir.path(), Some(1337))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("chain 31337") && err.contains("chain 1337"),
            "{err}"
        );
        // Without the dump it is not resumable, and says why.
        let err = resumable(dir.path(), None).unwrap_err().to_string();
        assert!(err.contains("state.json"), "{err}");
        std::fs::create_dir_all(dir.path().join(ANVIL_DIR)).unwrap();
        std::fs::write(chain_state_path(dir.path()), b"{}").unwrap();
        assert!(
            resumable(dir.path(), Some(pins::CHAIN_ID))
                .unwrap()
                .is_some()
        );
        discard_kept(dir.path()).unwrap();
        assert!(resumable(dir.path(), None).unwrap().is_none());
        assert!(!chain_state_path(dir.path()).exists());
    }

    #[test]
    fn a_chain_of_other_pins_is_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let mut other = kept();
        other.versions.anvil = "1.4.4".to_owned();
        other.addresses.application = Address::repeat_byte(1);
        other.write(dir.path()).unwrap();
        let err = resumable(dir.path(), None).unwrap_err();
        assert_eq!(crate::classify(&err), crate::Class::Environment);
        let text = err.to_string();
        assert!(text.contains("anvil 1.4.4"), "{text}");
        assert!(
            text.contains(&format!("anvil {}", pins::ANVIL.version)),
            "{text}"
        );
        assert!(
            text.contains(&pins::addresses::APPLICATION.to_checksum(None)),
            "{text}"
        );
    }

    #[test]
    fn the_keep_request_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!take_keep_request(dir.path()));
        request_keep(dir.path()).unwrap();
        assert!(take_keep_request(dir.path()));
        assert!(!take_keep_request(dir.path()));
    }
}
