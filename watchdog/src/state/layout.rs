//! The state directory's layout, the head pointer, checkpoint publishing and GC
//! (spec `watchdog.md` §4, §4.1).

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::StateError;
use super::files::{self, CONFIG_VERSION, ConfigFile, HeadFile, ManifestFile};
use super::fsx::{self, FsResult, WithPath};

/// Largest state file read (config, head, manifest, last tick): they are small.
const MAX_STATE_FILE: u64 = 1 << 20;

/// The name of a checkpoint directory: `<block:020>-<input_count:020>`.
pub fn checkpoint_name(block: u64, input_count: u64) -> String {
    format!("{block:020}-{input_count:020}")
}

/// Whether `name` looks like a checkpoint directory name.
fn is_checkpoint_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() == 41
        && bytes[20] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 20 || b.is_ascii_digit())
}

/// Paths inside one state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The state directory at `root` (which must be absolute; checked by the caller).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.json")
    }

    /// `head.json`.
    pub fn head_path(&self) -> PathBuf {
        self.root.join("head.json")
    }

    /// `checkpoints/`.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// `incident/`: the latch.
    pub fn incident(&self) -> PathBuf {
        self.root.join("incident")
    }

    /// `incidents/`: the archive of cleared incidents.
    pub fn incidents(&self) -> PathBuf {
        self.root.join("incidents")
    }

    /// `last_tick.json`.
    pub fn last_tick_path(&self) -> PathBuf {
        self.root.join("last_tick.json")
    }

    /// `l1_span.json`.
    pub fn span_path(&self) -> PathBuf {
        self.root.join("l1_span.json")
    }

    /// `status.prom` (the default metrics file).
    pub fn status_prom_path(&self) -> PathBuf {
        self.root.join("status.prom")
    }

    /// `run.lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join("run.lock")
    }

    /// Whether an incident is latched.
    pub fn is_latched(&self) -> bool {
        fs::symlink_metadata(self.incident()).is_ok_and(|m| m.is_dir())
    }

    /// Creates the directory (0700) if needed and checks its ownership and permissions.
    pub fn ensure(&self) -> Result<(), StateError> {
        if !self.root.exists() {
            fsx::create_dir_all(&self.root)?;
        }
        self.check_permissions()
    }

    /// Refuses a directory not owned by the effective uid or writable by group or others.
    pub fn check_permissions(&self) -> Result<(), StateError> {
        let meta = fs::symlink_metadata(&self.root).at(&self.root)?;
        if !meta.is_dir() {
            return Err(StateError::UnsafePermissions(format!(
                "{} is not a directory",
                self.root.display()
            )));
        }
        let euid = rustix::process::geteuid().as_raw();
        if meta.uid() != euid {
            return Err(StateError::UnsafePermissions(format!(
                "{} is owned by uid {}, not {euid}",
                self.root.display(),
                meta.uid()
            )));
        }
        if meta.permissions().mode() & 0o022 != 0 {
            return Err(StateError::UnsafePermissions(format!(
                "{} is writable by group or others (mode {:o})",
                self.root.display(),
                meta.permissions().mode() & 0o777
            )));
        }
        if meta.permissions().mode() & 0o044 != 0 {
            tracing::warn!(target: "watchdog::state", event = "readable_state_dir", path = %self.root.display(), "state directory is readable by group or others");
        }
        Ok(())
    }

    /// Reads `config.json`; `None` if absent. Lua state dirs (versions 1, 2) are refused.
    pub fn read_config(&self) -> Result<Option<ConfigFile>, StateError> {
        let path = self.config_path();
        let bytes = match fsx::read_capped(&path, MAX_STATE_FILE) {
            Ok(bytes) => bytes,
            Err(e) if e.source.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match files::parse(&bytes, CONFIG_VERSION) {
            Ok(config) => Ok(Some(config)),
            Err(files::FileError::Version(v @ (1 | 2))) => Err(StateError::ForeignStateDir(v)),
            Err(e) => Err(StateError::ConfigInvalid(format!("config.json: {e}"))),
        }
    }

    /// Writes `config.json` atomically.
    pub fn write_config(&self, config: &ConfigFile) -> FsResult<()> {
        fsx::write_atomic(&self.config_path(), &files::render(config))
    }

    /// Reads and validates `head.json`; `None` if absent.
    pub fn read_head(&self) -> Result<Option<HeadFile>, StateError> {
        let path = self.head_path();
        let bytes = match fsx::read_capped(&path, MAX_STATE_FILE) {
            Ok(bytes) => bytes,
            Err(e) if e.source.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let head: HeadFile =
            files::parse(&bytes, 1).map_err(|e| StateError::InvalidHead(e.to_string()))?;
        let expected = format!(
            "checkpoints/{}",
            checkpoint_name(head.block, head.input_count)
        );
        if head.checkpoint != expected {
            return Err(StateError::InvalidHead(format!(
                "checkpoint {:?} does not name block {} and input count {}",
                head.checkpoint, head.block, head.input_count
            )));
        }
        let dir = self.root.join(&head.checkpoint);
        if !fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            return Err(StateError::InvalidHead(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        Ok(Some(head))
    }

    /// The directory a head names.
    pub fn head_dir(&self, head: &HeadFile) -> PathBuf {
        self.root.join(&head.checkpoint)
    }

    /// Reads a checkpoint's manifest and checks it against the head.
    pub fn read_manifest(&self, dir: &Path) -> Result<ManifestFile, StateError> {
        let path = dir.join("manifest.json");
        let bytes = fsx::read_capped(&path, MAX_STATE_FILE)
            .map_err(|e| StateError::CheckpointCorrupt(e.to_string()))?;
        files::parse(&bytes, 1)
            .map_err(|e| StateError::CheckpointCorrupt(format!("{}: {e}", path.display())))
    }

    /// Creates a fresh workspace `checkpoints/.tmp-<id>/` for a tick or a publish.
    pub fn new_workspace(&self) -> FsResult<PathBuf> {
        let checkpoints = self.checkpoints();
        if !checkpoints.exists() {
            fsx::create_dir(&checkpoints)?;
        }
        let dir = checkpoints.join(format!(".tmp-{}", fsx::unique_id()));
        fsx::create_dir(&dir)?;
        Ok(dir)
    }

    /// Publishes `workspace` (holding `machine/`) as the checkpoint of `head`, then points
    /// `head.json` at it (§4.1 steps 1–3). A crash before the head write keeps the old head.
    ///
    /// The caller has already made every file in `workspace` durable (data synced) and every
    /// directory below it too (`machine/` is synced by the machine's store). This adds five
    /// syncs, each needed once the previous step's data may still be in flight:
    ///
    /// 1. `manifest.json` (fdatasync): its bytes, before anything can name the checkpoint;
    /// 2. the workspace directory: the entries `manifest.json`, `machine/`, `state.bin`;
    /// 3. `checkpoints/` after the rename: the checkpoint's name, before `head.json` names it
    ///    (otherwise a crash could leave a durable head pointing at nothing);
    /// 4. the `head.json` temp file (fdatasync): its bytes, before the rename makes them the head;
    /// 5. the state directory after the rename: the new head itself, before the summary says
    ///    `agreed`.
    pub fn publish(
        &self,
        workspace: &Path,
        manifest: &ManifestFile,
        head: &HeadFile,
    ) -> FsResult<()> {
        fsx::write_new(&workspace.join("manifest.json"), &files::render(manifest))?;
        fsx::sync_dir(workspace)?;
        fail::fail_point!("publish.before_rename");
        let target = self.root.join(&head.checkpoint);
        fsx::remove_any(&target)?;
        fsx::rename_durable(workspace, &target)?;
        fail::fail_point!("publish.before_head");
        self.write_head(head)?;
        fail::fail_point!("publish.after_head");
        Ok(())
    }

    /// Writes `head.json` atomically and syncs the state directory.
    pub fn write_head(&self, head: &HeadFile) -> FsResult<()> {
        fsx::write_atomic(&self.head_path(), &files::render(head))
    }

    /// Removes every checkpoint and temp entry the head does not name (§4.1 step 4). Returns
    /// the names removed; unknown entries are kept and logged.
    pub fn gc(&self, head: Option<&HeadFile>) -> FsResult<Vec<String>> {
        let keep = head
            .and_then(|h| h.checkpoint.strip_prefix("checkpoints/"))
            .unwrap_or("");
        let mut removed = Vec::new();
        let checkpoints = self.checkpoints();
        if let Ok(entries) = fs::read_dir(&checkpoints) {
            for entry in entries {
                let entry = entry.at(&checkpoints)?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name == keep {
                    continue;
                }
                if is_checkpoint_name(&name) || name.starts_with(".tmp-") {
                    fsx::remove_any(&entry.path())?;
                    removed.push(format!("checkpoints/{name}"));
                } else {
                    tracing::warn!(target: "watchdog::gc", entry = %name, "unknown entry in checkpoints/ kept");
                }
            }
        }
        for entry in fs::read_dir(&self.root).at(&self.root)? {
            let entry = entry.at(&self.root)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("incident.tmp-")
                || (name.starts_with('.') && name.contains(".tmp-"))
            {
                fsx::remove_any(&entry.path())?;
                removed.push(name);
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(block: u64, count: u64) -> HeadFile {
        HeadFile {
            version: 1,
            checkpoint: format!("checkpoints/{}", checkpoint_name(block, count)),
            block,
            input_count: count,
            state_sha256: "00".repeat(32),
            block_hash: format!("0x{}", "11".repeat(32)),
            agreed: false,
        }
    }

    fn manifest(block: u64, count: u64) -> ManifestFile {
        ManifestFile {
            version: 1,
            block,
            input_count: count,
            block_hash: String::new(),
            state_sha256: String::new(),
            machine_backend: "native".into(),
            machine_root_hash: None,
            libcartesi_version: None,
            native_sha256: None,
            origin: "bootstrap".into(),
            created_at: "1970-01-01T00:00:00Z".into(),
            template_hash: None,
        }
    }

    fn state_dir() -> (tempfile::TempDir, StateDir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::new(tmp.path().join("state"));
        dir.ensure().unwrap();
        (tmp, dir)
    }

    #[test]
    fn publish_then_gc_keeps_only_the_head() {
        let (_tmp, dir) = state_dir();
        for (block, count) in [(10, 1), (20, 2)] {
            let ws = dir.new_workspace().unwrap();
            fsx::create_dir(&ws.join("machine")).unwrap();
            dir.publish(&ws, &manifest(block, count), &head(block, count))
                .unwrap();
        }
        let stray = dir.new_workspace().unwrap();
        let current = dir.read_head().unwrap().unwrap();
        assert_eq!(current, head(20, 2));
        let removed = dir.gc(Some(&current)).unwrap();
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(!stray.exists());
        assert!(dir.head_dir(&current).join("manifest.json").exists());
        assert_eq!(
            dir.read_manifest(&dir.head_dir(&current)).unwrap().block,
            20
        );
    }

    #[test]
    fn head_must_name_a_real_checkpoint() {
        let (_tmp, dir) = state_dir();
        assert!(dir.read_head().unwrap().is_none());
        dir.write_head(&head(5, 1)).unwrap();
        assert!(matches!(dir.read_head(), Err(StateError::InvalidHead(_))));
        let mut bad = head(5, 1);
        bad.checkpoint = "checkpoints/../../etc".into();
        dir.write_head(&bad).unwrap();
        assert!(matches!(dir.read_head(), Err(StateError::InvalidHead(_))));
    }

    #[test]
    fn group_writable_dirs_are_refused() {
        let (_tmp, dir) = state_dir();
        fs::set_permissions(dir.root(), fs::Permissions::from_mode(0o770)).unwrap();
        assert!(matches!(
            dir.check_permissions(),
            Err(StateError::UnsafePermissions(_))
        ));
    }

    #[test]
    fn lua_state_dirs_are_foreign() {
        let (_tmp, dir) = state_dir();
        fs::write(dir.config_path(), b"{\"version\":2}").unwrap();
        assert!(matches!(
            dir.read_config(),
            Err(StateError::ForeignStateDir(2))
        ));
    }
}
