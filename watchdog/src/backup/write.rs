//! `backup --out FILE`: under the run lock, one archive of `config.json`, `head.json`, the head
//! checkpoint, `incident/` and `incidents/`, closed by a manifest of SHA-256s. Written to a
//! temp file beside FILE, fsynced, read back and verified, then renamed over FILE and the
//! directory fsynced: a failed or interrupted backup never replaces a good one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::archive::{
    self, Entry, FORMAT, Hashing, HeadRecord, Kind, MANIFEST_NAME, Manifest, VERSION,
};
use crate::core::Watchdog;
use crate::state::clock;
use crate::state::fsx::{self, FsError, WithPath};
use crate::state::lock::RunLock;
use crate::{Class, Error, Outcome, Result, Summary};

const COMMAND: &str = "backup";

fn failed(message: impl Into<String>) -> Error {
    Error::fail(Class::Internal, "backup_failed", message)
}

/// An I/O failure while writing the backup (`internal/backup_failed`).
struct BackupIo(FsError);

impl From<BackupIo> for Error {
    fn from(e: BackupIo) -> Self {
        failed(e.0.to_string())
    }
}

/// One entry to archive: its archive path and where it is on disk.
struct Source {
    path: String,
    disk: PathBuf,
    kind: Kind,
}

/// Lists `dir` (archive path `prefix`) depth first, names sorted; refuses anything but files
/// and directories.
fn walk(disk: &Path, prefix: &str, out: &mut Vec<Source>) -> Result<()> {
    let meta = fs::symlink_metadata(disk).at(disk).map_err(BackupIo)?;
    if meta.is_dir() {
        out.push(Source {
            path: prefix.to_owned(),
            disk: disk.to_path_buf(),
            kind: Kind::Dir,
        });
        let mut names: Vec<_> = fs::read_dir(disk)
            .at(disk)
            .map_err(BackupIo)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()
            .at(disk)
            .map_err(BackupIo)?;
        names.sort();
        for name in names {
            let Some(text) = name.to_str() else {
                return Err(failed(format!(
                    "{}: a name that is not UTF-8",
                    disk.join(&name).display()
                )));
            };
            walk(&disk.join(&name), &format!("{prefix}/{text}"), out)?;
        }
        Ok(())
    } else if meta.is_file() {
        out.push(Source {
            path: prefix.to_owned(),
            disk: disk.to_path_buf(),
            kind: Kind::File,
        });
        Ok(())
    } else {
        Err(failed(format!(
            "{} is neither a file nor a directory; the state directory holds only those",
            disk.display()
        )))
    }
}

fn header(kind: Kind, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    match kind {
        Kind::Dir => {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o700);
        }
        Kind::File => {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(0o600);
        }
    }
    header.set_size(size);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

/// Writes the archive of `sources` and `manifest` (entries filled in here) to `out`.
fn write_archive(out: File, sources: &[Source], manifest: &mut Manifest) -> io::Result<File> {
    let mut builder = tar::Builder::new(BufWriter::with_capacity(1 << 20, out));
    for source in sources {
        match source.kind {
            Kind::Dir => {
                builder.append_data(&mut header(Kind::Dir, 0), &source.path, io::empty())?;
                manifest.entries.push(Entry {
                    path: source.path.clone(),
                    kind: Kind::Dir,
                    size: 0,
                    sha256: None,
                });
            }
            Kind::File => {
                let file = File::open(&source.disk)?;
                let size = file.metadata()?.len();
                let mut reader = Hashing::new(file.take(size));
                builder.append_data(&mut header(Kind::File, size), &source.path, &mut reader)?;
                let (_, sha256) = reader.finish();
                manifest.entries.push(Entry {
                    path: source.path.clone(),
                    kind: Kind::File,
                    size,
                    sha256: Some(sha256),
                });
            }
        }
    }
    let bytes = crate::state::files::render(manifest);
    builder.append_data(
        &mut header(Kind::File, bytes.len() as u64),
        MANIFEST_NAME,
        bytes.as_slice(),
    )?;
    let writer = builder.into_inner()?;
    writer.into_inner().map_err(io::IntoInnerError::into_error)
}

/// Runs `backup --out FILE`.
pub(crate) fn run(wd: &Watchdog, out: &Path) -> Result<Summary> {
    let out = if out.is_absolute() {
        out.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::Usage(format!("--out is relative and the cwd is unknown: {e}")))?
            .join(out)
    };
    let (Some(parent), Some(name)) = (out.parent(), out.file_name()) else {
        return Err(Error::Usage(format!(
            "--out {} names no file",
            out.display()
        )));
    };
    let Ok(real_parent) = parent.canonicalize() else {
        return Err(Error::Usage(format!(
            "the directory of --out, {}, does not exist",
            parent.display()
        )));
    };
    let root = wd.dir.root();
    if real_parent.starts_with(root.canonicalize().as_deref().unwrap_or(root)) {
        return Err(Error::Usage(format!(
            "--out {} is inside the state directory; write backups elsewhere",
            out.display()
        )));
    }
    wd.dir.check_permissions()?;
    let _lock = RunLock::try_acquire(&wd.dir.lock_path()).inspect_err(|_| {
        tracing::warn!(target: "watchdog::backup", event = "lock_busy", "another command holds run.lock");
    })?;
    let config = wd.dir.read_config()?.ok_or_else(|| {
        Error::fail(
            Class::Operator,
            "incomplete_state",
            "no config.json: nothing to back up (run init first)",
        )
    })?;
    let head = wd.dir.read_head()?.ok_or_else(|| {
        Error::fail(
            Class::Operator,
            "missing_head",
            "no head.json: nothing to back up (init did not finish)",
        )
    })?;
    let head_dir = wd.dir.head_dir(&head);
    wd.dir.read_manifest(&head_dir)?;

    let mut sources = Vec::new();
    walk(&wd.dir.config_path(), "config.json", &mut sources)?;
    walk(&wd.dir.head_path(), "head.json", &mut sources)?;
    sources.push(Source {
        path: "checkpoints".into(),
        disk: wd.dir.checkpoints(),
        kind: Kind::Dir,
    });
    walk(&head_dir, &head.checkpoint, &mut sources)?;
    let latched = wd.dir.is_latched();
    for (disk, name) in [
        (wd.dir.incident(), "incident"),
        (wd.dir.incidents(), "incidents"),
    ] {
        if fs::symlink_metadata(&disk).is_ok() {
            walk(&disk, name, &mut sources)?;
        }
    }
    let mut manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        created_at: clock::rfc3339(wd.clock.now_unix()),
        identity: config.identity.clone(),
        head: HeadRecord::of(&head),
        latched,
        entries: Vec::new(),
    };

    let temp = parent.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        fsx::unique_id()
    ));
    let result = write_verified(&temp, &sources, &mut manifest);
    let (bytes, digest) = match result {
        Ok(done) => done,
        Err(e) => {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
    };
    fsx::rename_durable(&temp, &out).map_err(BackupIo)?;
    tracing::info!(target: "watchdog::backup", event = "backed_up", out = %out.display(), bytes, entries = manifest.entries.len(), "backup written and verified");
    Ok(Summary::new(
        Some(COMMAND),
        Outcome::BackedUp,
        format!(
            "backup of head block {} ({} entries, {bytes} bytes) written and verified",
            head.block,
            manifest.entries.len()
        ),
    )
    .head_block(head.block)
    .extra("out", &out.display().to_string())
    .extra("bytes", &bytes)
    .extra("entries", &manifest.entries.len())
    .extra("sha256", &digest)
    .extra("latched", &latched))
}

/// Writes the archive to `temp`, fsyncs it and reads it back through the decoder; returns
/// its size and SHA-256.
fn write_verified(
    temp: &Path,
    sources: &[Source],
    manifest: &mut Manifest,
) -> Result<(u64, String)> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(temp)
        .at(temp)
        .map_err(BackupIo)?;
    let file = write_archive(file, sources, manifest)
        .and_then(|file| file.sync_all().map(|()| file))
        .map_err(|e| failed(format!("{}: {e}", temp.display())))?;
    drop(file);
    // Read back from the file just written: every entry's digest and the manifest.
    let file = File::open(temp).at(temp).map_err(BackupIo)?;
    let mut reader = Hashing::new(io::BufReader::with_capacity(1 << 20, file));
    let decoded = archive::decode_from(&mut reader, &mut archive::Discard)
        .map_err(|e| failed(format!("the archive does not verify after writing: {e}")))?;
    io::copy(&mut reader, &mut io::sink())
        .map_err(|e| failed(format!("{}: {e}", temp.display())))?;
    if decoded.manifest != *manifest {
        return Err(failed(
            "the archive read back differs from what was written",
        ));
    }
    Ok(reader.finish())
}
