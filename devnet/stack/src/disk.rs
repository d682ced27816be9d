//! What a devnet's state directory holds on disk, by part (`devnet status` reports it).

use std::path::Path;

use serde::Serialize;

use crate::persist::ANVIL_DIR;

/// Bytes on disk (allocated blocks, so sparse files count as what they use) below a state
/// directory, by part.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiskUsage {
    /// Everything below the state directory.
    pub total_bytes: u64,
    /// `anvil/`: anvil's cache path and a kept chain.
    pub anvil_bytes: u64,
    /// `sequencer-data/`.
    pub sequencer_bytes: u64,
    /// `watchdog/`.
    pub watchdog_bytes: u64,
    /// `logs/`.
    pub logs_bytes: u64,
    /// `snapshots/`.
    pub snapshots_bytes: u64,
}

impl DiskUsage {
    /// Measures `dir` (0 for what does not exist; unreadable entries are skipped).
    pub fn of(dir: &Path) -> Self {
        Self {
            total_bytes: bytes_below(dir),
            anvil_bytes: bytes_below(&dir.join(ANVIL_DIR)),
            sequencer_bytes: bytes_below(&dir.join("sequencer-data")),
            watchdog_bytes: bytes_below(&dir.join("watchdog")),
            logs_bytes: bytes_below(&dir.join("logs")),
            snapshots_bytes: bytes_below(&dir.join(crate::persist::SNAPSHOTS_DIR)),
        }
    }
}

/// Bytes allocated below `path` (the file itself for a file), without following symlinks.
pub fn bytes_below(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    let own = meta.blocks().saturating_mul(512);
    if !meta.is_dir() {
        return own;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    entries.flatten().fold(own, |sum, entry| {
        sum.saturating_add(bytes_below(&entry.path()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_split_by_part() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            DiskUsage::of(&dir.path().join("absent")),
            DiskUsage::default()
        );
        std::fs::create_dir_all(dir.path().join("anvil/cache")).unwrap();
        std::fs::write(dir.path().join("anvil/state.json"), vec![1u8; 100_000]).unwrap();
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        std::fs::write(dir.path().join("logs/anvil.log"), vec![1u8; 10_000]).unwrap();
        let usage = DiskUsage::of(dir.path());
        assert!(usage.anvil_bytes >= 100_000, "{usage:?}");
        assert!(usage.logs_bytes >= 10_000, "{usage:?}");
        assert!(usage.total_bytes >= usage.anvil_bytes + usage.logs_bytes);
        assert_eq!(usage.sequencer_bytes, 0);
    }
}
