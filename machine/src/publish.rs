//! Durable publishing of a stored machine (algorithm P) and the file-system helpers it needs.
//!
//! `dest` is written as `<parent>/.<name>.tmp-<pid>-<seq>`, fsynced, renamed into place without
//! ever replacing an existing directory, and the parent is fsynced. A crash at any point leaves
//! either no `dest` at all (plus a `.tmp-` leftover for the caller to remove under its lock) or a
//! complete one.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A process-unique sequence number for scratch and temporary names.
pub(crate) fn next_seq() -> u64 {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// The backend-specific steps of a publish.
pub(crate) trait StoreSteps {
    /// Writes the stored machine into `tmp`, which does not exist yet.
    fn write(&mut self, tmp: &Path) -> Result<()>;

    /// Makes everything in `tmp` durable. Default: fsync every regular file of the flat
    /// directory, then the directory.
    fn sync(&mut self, tmp: &Path) -> Result<()> {
        sync_flat_dir(tmp)
    }

    /// Renames `tmp` to `dest` without replacing it, then makes the rename durable.
    fn rename(&mut self, tmp: &Path, dest: &Path) -> Result<()> {
        rename_no_replace(tmp, dest)?;
        sync_dir(&parent_of(dest))
    }
}

/// Runs the publish procedure for `dest`.
pub(crate) fn publish(dest: &Path, steps: &mut dyn StoreSteps) -> Result<()> {
    if dest.symlink_metadata().is_ok() {
        return Err(Error::AlreadyExists(dest.to_path_buf()));
    }
    let name = dest
        .file_name()
        .ok_or_else(|| Error::InvalidPath(dest.to_path_buf()))?;
    let parent = parent_of(dest);
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}-{}", std::process::id(), next_seq()));
    let tmp = parent.join(tmp_name);
    if tmp.symlink_metadata().is_ok() {
        remove_dir(&tmp)?;
    }
    let result = (|| {
        steps.write(&tmp)?;
        fail::fail_point!("machine.publish.after_store", |_| Err(crash("after_store")));
        steps.sync(&tmp)?;
        fail::fail_point!("machine.publish.after_sync", |_| Err(crash("after_sync")));
        steps.rename(&tmp, dest)
    })();
    if let Err(err) = result {
        if tmp.symlink_metadata().is_ok() {
            let _ = remove_dir(&tmp);
        }
        return Err(err);
    }
    fail::fail_point!("machine.publish.after_rename", |_| Err(crash(
        "after_rename"
    )));
    Ok(())
}

#[cfg_attr(not(feature = "failpoints"), allow(dead_code))]
fn crash(step: &str) -> Error {
    Error::Io {
        path: PathBuf::from(step),
        source: std::io::Error::other("failpoint"),
    }
}

/// The parent of `path`; an empty parent means the current directory.
pub(crate) fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// fsyncs a directory (or file) by path.
pub(crate) fn sync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// fsyncs every regular file directly inside `dir`, then `dir` itself.
pub(crate) fn sync_flat_dir(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let kind = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
        if kind.is_file() {
            let path = entry.path();
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::io(&path, e))?;
        }
    }
    sync_dir(dir)
}

/// Removes a backend-owned directory tree.
pub(crate) fn remove_dir(path: &Path) -> Result<()> {
    std::fs::remove_dir_all(path).map_err(|e| Error::io(path, e))
}

/// Creates a new private directory (0700) that must not exist.
pub(crate) fn create_private_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(|e| Error::io(path, e))
}

/// `path` as a C string from its raw bytes; a NUL byte is [`Error::InvalidPath`].
pub(crate) fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::InvalidPath(path.to_path_buf()))
}

/// `renameat2(RENAME_NOREPLACE)`, falling back to check-then-rename where the file system does
/// not support it.
pub(crate) fn rename_no_replace(from: &Path, to: &Path) -> Result<()> {
    let c_from = c_path(from)?;
    let c_to = c_path(to)?;
    // SAFETY: both pointers are valid NUL-terminated strings that outlive the call; AT_FDCWD
    // makes them relative to the working directory.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            c_from.as_ptr(),
            libc::AT_FDCWD,
            c_to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EEXIST) => Err(Error::AlreadyExists(to.to_path_buf())),
        Some(libc::EINVAL | libc::ENOSYS | libc::ENOTSUP) => {
            if to.symlink_metadata().is_ok() {
                return Err(Error::AlreadyExists(to.to_path_buf()));
            }
            std::fs::rename(from, to).map_err(|e| Error::io(to, e))
        }
        _ => Err(Error::io(to, err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files;

    impl StoreSteps for Files {
        fn write(&mut self, tmp: &Path) -> Result<()> {
            create_private_dir(tmp)?;
            std::fs::write(tmp.join("a"), b"x").map_err(|e| Error::io(tmp, e))
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("machine-publish-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn publishes_and_refuses_existing() {
        let dir = scratch("basic");
        let dest = dir.join("m");
        publish(&dest, &mut Files).unwrap();
        assert_eq!(std::fs::read(dest.join("a")).unwrap(), b"x");
        assert!(matches!(
            publish(&dest, &mut Files),
            Err(Error::AlreadyExists(_))
        ));
        // No temporary directory is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rename_never_replaces() {
        let dir = scratch("rename");
        std::fs::create_dir(dir.join("a")).unwrap();
        std::fs::create_dir(dir.join("b")).unwrap();
        assert!(matches!(
            rename_no_replace(&dir.join("a"), &dir.join("b")),
            Err(Error::AlreadyExists(_))
        ));
        rename_no_replace(&dir.join("a"), &dir.join("c")).unwrap();
        assert!(dir.join("c").is_dir() && !dir.join("a").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn nul_in_path_is_invalid() {
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(std::ffi::OsStr::from_bytes(b"a\0b"));
        assert!(matches!(c_path(path), Err(Error::InvalidPath(_))));
    }
}
