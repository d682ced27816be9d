//! Backup and restore of a state directory (`backup --out FILE`, `restore --from FILE`): one
//! tar archive of `config.json`, `head.json`, the head checkpoint, `incident/` and
//! `incidents/`, closed by a manifest of SHA-256s ([`archive`]).

pub mod archive;
mod restore;
mod write;

pub use archive::{ArchiveError, Decoded, Manifest, decode};

use std::path::Path;

use crate::core::Watchdog;
use crate::{Result, Summary};

impl Watchdog {
    /// `backup --out FILE`: under the run lock, writes, fsyncs and verifies one archive of the
    /// state directory's durable state (exit 0 `backed_up`; `lock_busy` like a tick).
    pub fn backup(&self, out: &Path) -> Result<Summary> {
        self.require_attached()?;
        write::run(self, out)
    }

    /// `restore --from FILE`: verifies the archive, then restores it into the empty (or
    /// missing) state directory (exit 0 `restored`). A corrupt, unsafe or foreign archive, or
    /// one of another application or chain, is refused before anything is written.
    pub fn restore(&self, from: &Path) -> Result<Summary> {
        self.require_attached()?;
        restore::run(self, from)
    }
}
