//! Durable file operations: the one place that writes into the state directory.
//!
//! An *atomic write* is: a uniquely named temp file in the target's directory, write, `fsync`,
//! rename over the target, `fsync` of the directory. Files are created 0600 and directories
//! 0700. Every error names the path it concerns.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// An I/O error with the path it happened on.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", .path.display())]
pub struct FsError {
    /// The file or directory.
    pub path: PathBuf,
    /// The underlying error.
    #[source]
    pub source: io::Error,
}

/// Result of a file operation.
pub type FsResult<T> = Result<T, FsError>;

/// Attaches `path` to an I/O result.
pub(crate) trait WithPath<T> {
    /// Converts the error, naming `path`.
    fn at(self, path: &Path) -> FsResult<T>;
}

impl<T> WithPath<T> for io::Result<T> {
    fn at(self, path: &Path) -> FsResult<T> {
        self.map_err(|source| FsError {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// A name unique within this host: 26 Crockford base-32 characters, time-ordered like a ULID
/// (48 bits of milliseconds, then process id and a per-process counter).
pub fn unique_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let tail = (u128::from(std::process::id()) << 48)
        | u128::from(COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff_ffff);
    let value = ((millis & 0xffff_ffff_ffff) << 80) | (tail & ((1 << 80) - 1));
    (0..26)
        .rev()
        .map(|i| ALPHABET[((value >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// `fsync`s a directory so renames and creations inside it are durable.
pub fn sync_dir(dir: &Path) -> FsResult<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir).and_then(|f| f.sync_all()).at(dir)
}

/// Creates a directory with mode 0700 (parents must exist).
pub fn create_dir(dir: &Path) -> FsResult<()> {
    DirBuilder::new().mode(0o700).create(dir).at(dir)
}

/// Creates a directory and its missing parents with mode 0700.
pub fn create_dir_all(dir: &Path) -> FsResult<()> {
    DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(dir)
        .at(dir)
}

/// Writes a new file (mode 0600) with one `write_all` and `fdatasync`s it (the data and the
/// size needed to read it back; timestamps are not); fails if it exists. The new directory
/// entry is durable only once the caller fsyncs the directory.
pub fn write_new(path: &Path, bytes: &[u8]) -> FsResult<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .at(path)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_data())
        .at(path)
}

/// Replaces `path` atomically and durably with `bytes`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> FsResult<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp-{}", unique_id()));
    let result = write_new(&temp, bytes)
        .and_then(|()| fs::rename(&temp, path).at(path))
        .and_then(|()| sync_dir(dir));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Renames `from` to `to` without syncing: for moves into a directory the caller fsyncs
/// afterwards (e.g. a workspace before [`publish`](super::layout::StateDir::publish)).
pub fn rename_in(from: &Path, to: &Path) -> FsResult<()> {
    fs::rename(from, to).at(from)
}

/// Renames `from` to `to` and `fsync`s the destination's directory.
pub fn rename_durable(from: &Path, to: &Path) -> FsResult<()> {
    fs::rename(from, to).at(from)?;
    sync_dir(to.parent().unwrap_or(Path::new(".")))
}

/// Reads a whole file, capped at `max` bytes.
pub fn read_capped(path: &Path, max: u64) -> FsResult<Vec<u8>> {
    use std::io::Read;
    let file = File::open(path).at(path)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).at(path)?;
    if bytes.len() as u64 > max {
        return Err(FsError {
            path: path.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                format!("larger than {max} bytes"),
            ),
        });
    }
    Ok(bytes)
}

/// Copies a directory tree (regular files and directories only; no symlinks followed), then
/// `fsync`s every file and directory written.
pub fn copy_tree(from: &Path, to: &Path) -> FsResult<()> {
    create_dir(to)?;
    for entry in fs::read_dir(from).at(from)? {
        let entry = entry.at(from)?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().at(&source)?;
        if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else if kind.is_file() {
            let bytes = fs::read(&source).at(&source)?;
            write_new(&target, &bytes)?;
        }
    }
    sync_dir(to)
}

/// Removes a file or a directory tree; a missing path is not an error.
pub fn remove_any(path: &Path) -> FsResult<()> {
    let result = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    result.at(path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn atomic_write_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("head.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // No temp file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn unique_ids_differ_and_sort_by_time() {
        let a = unique_id();
        let b = unique_id();
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
    }

    #[test]
    fn read_capped_refuses_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, [0u8; 10]).unwrap();
        assert!(read_capped(&path, 9).is_err());
        assert_eq!(read_capped(&path, 10).unwrap().len(), 10);
    }
}
