//! Named snapshots of a devnet's whole stack in `<state>/snapshots/<NAME>/`: the L1 chain as
//! anvil dumps it (`chain.json`) and what it holds (`snapshot.json`, a [`Kept`]). The
//! sequencer's state is derived from L1 (its boot is a recovery from the chain), so restoring
//! the chain and clearing the sequencer's data restores both, consistent with each other.
//!
//! - [`save_running`]: dumps the running anvil. The snapshot holds what is on L1 then: ops the
//!   sequencer acknowledged but had not yet landed in a batch are not in it (as after a
//!   sequencer restart).
//! - [`save_kept`]: copies the chain `devnet down --keep` kept.
//! - [`restore`]: on a stopped devnet, installs the snapshot as the kept chain and clears the
//!   sequencer's data; the next `devnet up` resumes it.
//! - [`chain_of`]: the checked chain of a snapshot, which a running supervisor restores in
//!   place ([`LocalStack::restore_chain`](crate::LocalStack::restore_chain): anvil restarted on
//!   it, the sequencer's data cleared, the sequencer restarted).
//!
//! A snapshot is written aside (`.<NAME>.tmp-<pid>`) and renamed into place; one of other pins
//! is refused on restore like a kept chain.

use std::path::{Path, PathBuf};

use alloy::providers::{DynProvider, Provider as _, ProviderBuilder};
use anyhow::{Context as _, Result, anyhow, bail, ensure};
use serde::Serialize;

use crate::local::wipe;
use crate::persist::{
    self, CHAIN_STATE, KEPT_FILE, KEPT_FORMAT, Kept, SNAPSHOTS_DIR, chain_state_path,
};
use crate::state_file::{Addresses, StateFile, Versions, create_private_dir, now_ms};

/// The chain dump in a snapshot.
pub const SNAPSHOT_CHAIN: &str = "chain.json";
/// What a snapshot holds.
pub const SNAPSHOT_MANIFEST: &str = "snapshot.json";

/// The snapshots directory of a state directory.
pub fn snapshots_dir(dir: &Path) -> PathBuf {
    dir.join(SNAPSHOTS_DIR)
}

/// Checks a snapshot name: 1 to 64 of `A-Z a-z 0-9 . _ -`, not starting with `.`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    ensure!(
        ok,
        "bad snapshot name {name:?}: 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'"
    );
    Ok(())
}

/// A saved snapshot, as `snapshot list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    /// Its name.
    pub name: String,
    /// The L1 head it holds.
    pub block_number: u64,
    /// The run it was taken from.
    pub run_id: String,
    /// The chain dump's size.
    pub chain_bytes: u64,
    /// When it was saved (ms since the Unix epoch).
    pub saved_at_ms: u64,
}

impl SnapshotInfo {
    fn new(name: &str, kept: &Kept) -> Self {
        Self {
            name: name.to_owned(),
            block_number: kept.block_number,
            run_id: kept.run_id.clone(),
            chain_bytes: kept.chain_bytes,
            saved_at_ms: kept.kept_at_ms,
        }
    }
}

/// Every snapshot in `dir`, by name.
pub fn list(dir: &Path) -> Result<Vec<SnapshotInfo>> {
    let root = snapshots_dir(dir);
    let entries = match std::fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", root.display())),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", root.display()))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if check_name(&name).is_err() {
            continue;
        }
        if let Some(kept) = read_manifest(&entry.path())? {
            found.push(SnapshotInfo::new(&name, &kept));
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

fn read_manifest(snapshot: &Path) -> Result<Option<Kept>> {
    Kept::read_file(&snapshot.join(SNAPSHOT_MANIFEST))
}

/// Writes a snapshot aside and renames it into place; refuses an existing name unless
/// `replace`.
async fn install(
    dir: &Path,
    name: &str,
    replace: bool,
    fill: impl AsyncFnOnce(&Path) -> Result<Kept>,
) -> Result<SnapshotInfo> {
    {
        check_name(name)?;
        let root = snapshots_dir(dir);
        create_private_dir(&root)?;
        let target = root.join(name);
        if target.exists() && !replace {
            bail!(
                "snapshot {name:?} exists in {}; pick another name or pass --force",
                root.display()
            );
        }
        let aside = root.join(format!(".{name}.tmp-{}", std::process::id()));
        wipe(&aside)?;
        create_private_dir(&aside)?;
        let kept = match fill(&aside).await {
            Ok(kept) => kept,
            Err(e) => {
                let _ = wipe(&aside);
                return Err(e);
            }
        };
        let text = serde_json::to_string_pretty(&kept).context("encoding the manifest")?;
        crate::state_file::write_atomic(&aside.join(SNAPSHOT_MANIFEST), text.as_bytes())?;
        wipe(&target)?;
        std::fs::rename(&aside, &target)
            .with_context(|| format!("renaming {} to {}", aside.display(), target.display()))?;
        std::fs::File::open(&root)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", root.display()))?;
        Ok(SnapshotInfo::new(name, &kept))
    }
}

/// Saves the running devnet of `dir` (its `devnet.json`) as `name`: dumps anvil.
pub async fn save_running(
    dir: &Path,
    state: &StateFile,
    name: &str,
    replace: bool,
) -> Result<SnapshotInfo> {
    let anvil_url = state
        .components
        .anvil
        .url
        .clone()
        .ok_or_else(|| anyhow!("devnet.json names no anvil endpoint"))?;
    let provider = ProviderBuilder::new()
        .connect_http(anvil_url.parse().context("the anvil endpoint")?)
        .erased();
    let addresses = state
        .addresses
        .ok_or_else(|| anyhow!("the devnet has no deployment yet"))?;
    let run_id = state.run_id.clone();
    install(dir, name, replace, async move |aside: &Path| {
        dump_manifest(&provider, &aside.join(SNAPSHOT_CHAIN), addresses, run_id).await
    })
    .await
}

async fn dump_manifest(
    provider: &DynProvider,
    path: &Path,
    addresses: Addresses,
    run_id: String,
) -> Result<Kept> {
    let chain_bytes = persist::dump_state(provider, path).await?;
    let head = provider
        .get_block(alloy::eips::BlockId::latest())
        .await
        .context("eth_getBlockByNumber latest")?
        .ok_or_else(|| anyhow!("anvil has no latest block"))?;
    // The head read after the dump may be newer than the dump's (interval mining): take the
    // block the dump holds from the dump itself.
    let dumped = dumped_head(path)?.unwrap_or(head.header.number);
    let hash = provider
        .get_block(dumped.into())
        .await
        .with_context(|| format!("eth_getBlockByNumber {dumped}"))?
        .map(|b| b.header.hash)
        .ok_or_else(|| anyhow!("anvil has no block {dumped}"))?;
    Ok(Kept {
        format: KEPT_FORMAT,
        versions: Versions::default(),
        chain_id: provider.get_chain_id().await.context("eth_chainId")?,
        addresses,
        block_number: dumped,
        block_hash: hash,
        run_id,
        chain_bytes,
        kept_at_ms: now_ms(),
    })
}

/// The head block number a dump holds (`best_block_number`).
fn dumped_head(path: &Path) -> Result<Option<u64>> {
    #[derive(serde::Deserialize)]
    struct Head {
        best_block_number: Option<serde_json::Value>,
    }
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let head: Head =
        serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(head.best_block_number.and_then(|v| match v {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => u64::from_str_radix(s.trim_start_matches("0x"), 16).ok(),
        _ => None,
    }))
}

/// Saves the chain kept in `dir` (by `devnet down --keep`) as `name`.
pub async fn save_kept(dir: &Path, name: &str, replace: bool) -> Result<SnapshotInfo> {
    let (kept, state) = persist::resumable(dir, None)?.ok_or_else(|| {
        anyhow!(
            "no devnet runs in {} and no chain is kept there",
            dir.display()
        )
    })?;
    install(dir, name, replace, async move |aside: &Path| {
        copy_file(&state, &aside.join(SNAPSHOT_CHAIN))?;
        Ok(Kept {
            kept_at_ms: now_ms(),
            ..kept
        })
    })
    .await
}

/// Whether a snapshot named `name` is saved in `dir`.
pub fn exists(dir: &Path, name: &str) -> bool {
    check_name(name).is_ok() && snapshots_dir(dir).join(name).is_dir()
}

/// The checked chain of snapshot `name`: its manifest (made by these pins, on chain `chain_id`
/// unless `None`) and its dump.
pub fn chain_of(dir: &Path, name: &str, chain_id: Option<u64>) -> Result<(Kept, PathBuf)> {
    check_name(name)?;
    let snapshot = snapshots_dir(dir).join(name);
    let kept = read_manifest(&snapshot)?
        .ok_or_else(|| anyhow!("no snapshot {name:?} in {}", snapshots_dir(dir).display()))?;
    kept.check_pins(&snapshot, chain_id)?;
    let chain = snapshot.join(SNAPSHOT_CHAIN);
    ensure!(chain.is_file(), "{} is missing", chain.display());
    Ok((kept, chain))
}

/// Describes snapshot `name` holding `kept`.
pub fn info(name: &str, kept: &Kept) -> SnapshotInfo {
    SnapshotInfo::new(name, kept)
}

/// Restores snapshot `name` into the stopped devnet of `dir`: it becomes the kept chain (the
/// next `devnet up` resumes it) and the sequencer's data is cleared (it recovers from that
/// chain). The watchdog state directory is left alone.
pub fn restore(dir: &Path, name: &str) -> Result<SnapshotInfo> {
    // The next `up` checks the chain id it runs with.
    let (kept, chain) = chain_of(dir, name, None)?;
    let state = chain_state_path(dir);
    if let Some(parent) = state.parent() {
        create_private_dir(parent)?;
    }
    let aside = state.with_file_name(format!(".{CHAIN_STATE}.tmp-{}", std::process::id()));
    copy_file(&chain, &aside)?;
    std::fs::rename(&aside, &state)
        .with_context(|| format!("renaming {} to {}", aside.display(), state.display()))?;
    kept.write(dir)?;
    wipe(&dir.join("sequencer-data"))?;
    debug_assert!(dir.join(KEPT_FILE).is_file());
    Ok(SnapshotInfo::new(name, &kept))
}

/// Removes snapshot `name`.
pub fn remove(dir: &Path, name: &str) -> Result<()> {
    check_name(name)?;
    let snapshot = snapshots_dir(dir).join(name);
    ensure!(snapshot.is_dir(), "no snapshot {name:?}");
    wipe(&snapshot)
}

fn copy_file(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["a", "before-drill", "v1.2_x", &"n".repeat(64)] {
            check_name(good).unwrap();
        }
        for bad in ["", ".hidden", "a/b", "..", "a b", &"n".repeat(65), "é"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_missing_snapshot_is_an_error_and_listing_skips_junk() {
        let dir = tempfile::tempdir().unwrap();
        assert!(list(dir.path()).unwrap().is_empty());
        std::fs::create_dir_all(snapshots_dir(dir.path()).join(".x.tmp-1")).unwrap();
        std::fs::create_dir_all(snapshots_dir(dir.path()).join("empty")).unwrap();
        assert!(list(dir.path()).unwrap().is_empty());
        let err = restore(dir.path(), "nope").unwrap_err().to_string();
        assert!(err.contains("no snapshot"), "{err}");
        assert!(restore(dir.path(), "../x").is_err());
    }
}
