//! `restore --from FILE`: into an empty (or missing) state directory. The archive is decoded
//! and verified twice: once without writing anything (a corrupt, unsafe or foreign archive, or
//! another application or chain, is refused here and the target is left as it was), then into
//! a staging directory inside the target, whose entries are renamed into place with `head.json`
//! last, as `init` writes it: an interrupted restore leaves no head and can be run again.

use std::fs::{self, File};
use std::io::{self, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::archive::{self, Decoded, Hashing, Sink};
use crate::core::Watchdog;
use crate::options::address_lower;
use crate::state::fsx::{self, WithPath};
use crate::state::lock::RunLock;
use crate::{Class, Error, Outcome, Result, Summary};

const COMMAND: &str = "restore";

/// Entries a target may already hold: the lock file, and a `config.json` whose identity must
/// then equal the archive's.
const ALLOWED_IN_TARGET: [&str; 2] = ["run.lock", "config.json"];

/// Writes the archive's entries under a staging directory.
struct Staging {
    root: PathBuf,
    file: Option<File>,
    dirs: Vec<PathBuf>,
}

impl Sink for Staging {
    fn dir(&mut self, path: &str) -> io::Result<()> {
        let dir = self.root.join(path);
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
        self.dirs.push(dir);
        Ok(())
    }

    fn begin_file(&mut self, path: &str) -> io::Result<()> {
        let target = self.root.join(path);
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&target)?;
        self.file = Some(file);
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.write_all(bytes),
            None => Err(io::Error::other("no file open")),
        }
    }

    fn end_file(&mut self) -> io::Result<()> {
        match self.file.take() {
            Some(file) => file.sync_data(),
            None => Err(io::Error::other("no file open")),
        }
    }
}

/// Decodes `from` into `sink`; returns the verified archive, its size and SHA-256.
fn read_archive(from: &Path, sink: &mut dyn Sink) -> Result<(Decoded, u64, String)> {
    let file = File::open(from).map_err(|source| Error::Read {
        path: from.to_path_buf(),
        source,
    })?;
    let mut reader = Hashing::new(BufReader::with_capacity(1 << 20, file));
    let decoded = archive::decode_from(&mut reader, sink)?;
    io::copy(&mut reader, &mut io::sink()).map_err(|source| Error::Read {
        path: from.to_path_buf(),
        source,
    })?;
    let (bytes, digest) = reader.finish();
    Ok((decoded, bytes, digest))
}

/// A local I/O failure while restoring (`internal/restore_failed`).
fn io<T>(result: fsx::FsResult<T>) -> Result<T> {
    result.map_err(|e| Error::fail(Class::Internal, "restore_failed", e.to_string()))
}

fn identity_mismatch(message: String) -> Error {
    Error::fail(Class::Operator, "identity_mismatch", message)
}

/// Refuses an archive of another application or chain than the settings or the target's
/// `config.json` name.
fn check_identity(wd: &Watchdog, decoded: &Decoded) -> Result<()> {
    let identity = &decoded.manifest.identity;
    if let Some(chain_id) = wd.settings.chain_id
        && chain_id != identity.chain_id
    {
        return Err(identity_mismatch(format!(
            "the backup is of chain {}, the settings name chain {chain_id}",
            identity.chain_id
        )));
    }
    if let Some(app) = wd.settings.app_address
        && address_lower(app) != identity.app_address
    {
        return Err(identity_mismatch(format!(
            "the backup is of application {}, the settings name {}",
            identity.app_address,
            address_lower(app)
        )));
    }
    if let Some(existing) = wd.dir.read_config()?
        && existing.identity != *identity
    {
        return Err(identity_mismatch(format!(
            "the backup is of chain {} application {}; {} names chain {} application {}",
            identity.chain_id,
            identity.app_address,
            wd.dir.config_path().display(),
            existing.identity.chain_id,
            existing.identity.app_address
        )));
    }
    Ok(())
}

/// Whether the target may receive a restore: missing, or holding only [`ALLOWED_IN_TARGET`].
fn check_target(wd: &Watchdog) -> Result<bool> {
    let root = wd.dir.root();
    match fs::symlink_metadata(root) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = root.parent().unwrap_or(Path::new("/"));
            if !parent.is_dir() {
                return Err(Error::Usage(format!(
                    "the parent of the state directory, {}, does not exist",
                    parent.display()
                )));
            }
            return Ok(false);
        }
        Err(source) => {
            return Err(Error::from(fsx::FsError {
                path: root.to_path_buf(),
                source,
            }));
        }
        Ok(_) => {}
    }
    wd.dir.check_permissions()?;
    let mut extra = Vec::new();
    for entry in fs::read_dir(root).at(root)? {
        let name = entry.at(root)?.file_name().to_string_lossy().into_owned();
        if !ALLOWED_IN_TARGET.contains(&name.as_str()) {
            extra.push(name);
        }
    }
    if !extra.is_empty() {
        extra.sort();
        return Err(Error::fail(
            Class::Operator,
            "target_not_empty",
            format!(
                "{} is not empty (it holds {}); restore only into an empty or new state directory",
                root.display(),
                extra.join(", ")
            ),
        ));
    }
    Ok(true)
}

/// Runs `restore --from FILE`.
pub(crate) fn run(wd: &Watchdog, from: &Path) -> Result<Summary> {
    let existed = check_target(wd)?;
    // Pass 1: verify everything, write nothing.
    let (decoded, bytes, digest) = read_archive(from, &mut archive::Discard)?;
    check_identity(wd, &decoded)?;

    let root = wd.dir.root();
    if !existed {
        io(fsx::create_dir(root))?;
        io(fsx::sync_dir(root.parent().unwrap_or(Path::new("/"))))?;
    }
    wd.dir.check_permissions()?;
    let _lock = RunLock::try_acquire(&wd.dir.lock_path()).inspect_err(|_| {
        tracing::warn!(target: "watchdog::restore", event = "lock_busy", "another command holds run.lock");
    })?;
    // Another process may have written between the check and the lock.
    check_target(wd)?;

    // Pass 2: into a staging directory, verified again (the file may have changed).
    let staging = root.join(format!(".restore.tmp-{}", fsx::unique_id()));
    io(fsx::create_dir(&staging))?;
    let mut sink = Staging {
        root: staging.clone(),
        file: None,
        dirs: vec![staging.clone()],
    };
    let staged = read_archive(from, &mut sink).and_then(|(again, _, again_digest)| {
        if again.manifest != decoded.manifest || again_digest != digest {
            return Err(Error::fail(
                Class::Operator,
                "archive_corrupt",
                format!("{} changed while it was restored", from.display()),
            ));
        }
        for dir in sink.dirs.iter().rev() {
            io(fsx::sync_dir(dir))?;
        }
        Ok(())
    });
    if let Err(e) = staged {
        let _ = fsx::remove_any(&staging);
        return Err(e);
    }
    let mut names: Vec<&str> = ["checkpoints", "incident", "incidents", "config.json"]
        .into_iter()
        .filter(|name| staging.join(name).exists())
        .collect();
    names.push("head.json");
    for name in names {
        // A file renames over an existing `config.json` of the same identity.
        io(fsx::rename_in(&staging.join(name), &root.join(name)))?;
    }
    io(fsx::sync_dir(root))?;
    io(fsx::remove_any(&staging))?;
    io(fsx::sync_dir(root))?;

    let head = &decoded.head;
    tracing::info!(target: "watchdog::restore", event = "restored", from = %from.display(), head = head.block, "state directory restored");
    Ok(Summary::new(
        Some(COMMAND),
        Outcome::Restored,
        format!(
            "restored head block {} ({} inputs{}) from a backup taken {}; the next tick resumes there",
            head.block,
            head.input_count,
            if decoded.manifest.latched {
                ", incident latched"
            } else {
                ""
            },
            decoded.manifest.created_at
        ),
    )
    .head_block(head.block)
    .extra("from", &from.display().to_string())
    .extra("bytes", &bytes)
    .extra("entries", &decoded.manifest.entries.len())
    .extra("sha256", &digest)
    .extra("latched", &decoded.manifest.latched))
}
