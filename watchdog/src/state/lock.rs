//! `run.lock`: one exclusive, non-blocking lock held for a whole command (spec §4.1).
//!
//! The file is never deleted: a second process could otherwise lock an orphaned inode.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::StateError;
use super::fsx::WithPath;

/// The held lock; released when dropped (the process exiting releases it too).
#[derive(Debug)]
pub struct RunLock {
    file: File,
}

impl RunLock {
    /// Takes the lock without waiting; [`StateError::LockBusy`] if another process holds it.
    pub fn try_acquire(path: &Path) -> Result<Self, StateError> {
        // Stands in for a read-only state directory where one cannot be mounted (tests).
        fail::fail_point!("lock.open", |_| Err(super::fsx::FsError {
            path: path.to_path_buf(),
            source: std::io::Error::from_raw_os_error(rustix::io::Errno::ROFS.raw_os_error()),
        }
        .into()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .at(path)?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(Self { file }),
            Err(fs4::TryLockError::WouldBlock) => Err(StateError::LockBusy),
            Err(fs4::TryLockError::Error(source)) => Err(super::fsx::FsError {
                path: path.to_path_buf(),
                source,
            }
            .into()),
        }
    }

    /// Whether someone holds the lock right now (used by a latched tick before refreshing
    /// metrics). Takes and immediately releases it when free.
    pub fn is_free(path: &Path) -> bool {
        Self::try_acquire(path).is_ok()
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let held = RunLock::try_acquire(&path).unwrap();
        assert!(matches!(
            RunLock::try_acquire(&path),
            Err(StateError::LockBusy)
        ));
        drop(held);
        assert!(RunLock::try_acquire(&path).is_ok());
        assert!(path.exists(), "the lock file is never deleted");
    }
}
