//! The backup archive format: a tar stream (GNU headers for long names) of regular files and
//! directories under relative paths, in a fixed order, closed by `backup.json`, the manifest
//! naming every entry before it with its kind, size and SHA-256.
//!
//! [`decode`] is the one reader of untrusted archive bytes: it refuses anything but the entries
//! a state directory backup holds (no links, devices, absolute or `..` paths, duplicates, or an
//! entry whose parent directory came later), checks every digest against the manifest and the
//! manifest against `config.json` and `head.json`, and hands verified bytes to a [`Sink`] as
//! they stream. It never panics on any input (fuzzed by `watchdog/fuzz`).

use std::collections::HashSet;
use std::io::{self, Read};
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::state::files::{self, CONFIG_VERSION, ConfigFile, HeadFile, Identity};

/// The manifest's entry name; always the last entry.
pub const MANIFEST_NAME: &str = "backup.json";
/// The `format` of our manifests.
pub const FORMAT: &str = "sequencer-watchdog-backup";
/// The manifest version this program writes and reads.
pub const VERSION: u32 = 1;
/// Largest manifest read.
const MAX_MANIFEST: u64 = 16 << 20;
/// Largest `config.json` / `head.json` read.
const MAX_SMALL_FILE: u64 = 1 << 20;
/// Longest entry path, in bytes.
const MAX_PATH: usize = 4096;
/// Top-level names a backup may hold (besides the manifest).
const TOP_LEVEL: [&str; 5] = [
    "config.json",
    "head.json",
    "checkpoints",
    "incident",
    "incidents",
];

/// Why archive bytes are not a usable backup.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// Not a tar stream, truncated, or a digest, size or entry list that disagrees with the
    /// manifest (`operator/archive_corrupt`).
    #[error("corrupt backup archive: {0}")]
    Corrupt(String),
    /// An entry that would escape or subvert the state directory: an absolute or `..` path,
    /// a link or device, a duplicate, an unexpected name (`operator/archive_unsafe_entry`).
    #[error("unsafe entry in backup archive: {0}")]
    Unsafe(String),
    /// A tar stream that is not a watchdog backup, or of an unknown version
    /// (`operator/archive_foreign`).
    #[error("not a sequencer-watchdog backup: {0}")]
    Foreign(String),
    /// The sink could not store an entry (`internal/restore_failed`).
    #[error("cannot write {path}: {source}")]
    Sink {
        /// The entry path.
        path: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

impl ArchiveError {
    /// The stable reason.
    pub fn reason(&self) -> &'static str {
        match self {
            ArchiveError::Corrupt(_) => "archive_corrupt",
            ArchiveError::Unsafe(_) => "archive_unsafe_entry",
            ArchiveError::Foreign(_) => "archive_foreign",
            ArchiveError::Sink { .. } => "restore_failed",
        }
    }

    /// Who has to act.
    pub fn class(&self) -> crate::Class {
        match self {
            ArchiveError::Sink { .. } => crate::Class::Internal,
            _ => crate::Class::Operator,
        }
    }
}

impl From<ArchiveError> for crate::Error {
    fn from(error: ArchiveError) -> Self {
        crate::Error::Failed {
            class: error.class(),
            reason: crate::Reason::new(error.reason()),
            message: error.to_string(),
        }
    }
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
}

/// One manifest entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Relative path, `/`-separated, no trailing slash.
    pub path: String,
    /// Directory or file.
    pub kind: Kind,
    /// Size in bytes (files; 0 for directories).
    pub size: u64,
    /// SHA-256 of the bytes, lowercase hex (files; `null` for directories).
    pub sha256: Option<String>,
}

/// The head a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadRecord {
    /// `checkpoints/<B>-<N>`.
    pub checkpoint: String,
    /// The head block.
    pub block: u64,
    /// Inputs processed up to it.
    pub input_count: u64,
    /// Whether the sequencer had agreed at it.
    pub agreed: bool,
}

impl HeadRecord {
    /// The record of `head.json`.
    pub fn of(head: &HeadFile) -> Self {
        Self {
            checkpoint: head.checkpoint.clone(),
            block: head.block,
            input_count: head.input_count,
            agreed: head.agreed,
        }
    }
}

/// `backup.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// When the backup was taken (RFC 3339).
    pub created_at: String,
    /// The state directory's identity (from `config.json`).
    pub identity: Identity,
    /// The head (from `head.json`).
    pub head: HeadRecord,
    /// Whether an incident was latched.
    pub latched: bool,
    /// Every entry before the manifest, in archive order.
    pub entries: Vec<Entry>,
}

/// A decoded, verified archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The manifest.
    pub manifest: Manifest,
    /// `config.json`.
    pub config: ConfigFile,
    /// `head.json`.
    pub head: HeadFile,
}

/// Receives the entries of an archive as [`decode`] reads them. Paths are checked relative
/// paths whose parent directory was handed over before; nothing is verified until `decode`
/// returns `Ok`, so a sink writes into a staging area.
pub trait Sink {
    /// A directory.
    fn dir(&mut self, path: &str) -> io::Result<()>;
    /// A file begins.
    fn begin_file(&mut self, path: &str) -> io::Result<()>;
    /// The next bytes of the current file.
    fn write(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// The current file is complete.
    fn end_file(&mut self) -> io::Result<()>;
}

/// A sink that keeps nothing: verification only.
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl Sink for Discard {
    fn dir(&mut self, _: &str) -> io::Result<()> {
        Ok(())
    }
    fn begin_file(&mut self, _: &str) -> io::Result<()> {
        Ok(())
    }
    fn write(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn end_file(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A reader that hashes and counts what passes through it (the archive's own digest).
pub(crate) struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R> Hashing<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Bytes read so far and their SHA-256 (lowercase hex).
    pub(crate) fn finish(self) -> (u64, String) {
        (self.bytes, hex::encode(self.hasher.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Decodes and verifies archive bytes in memory (the fuzz target's entry point).
pub fn decode(bytes: &[u8]) -> Result<Decoded, ArchiveError> {
    decode_from(bytes, &mut Discard)
}

fn corrupt(what: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Corrupt(what.to_string())
}

/// Checks an entry path and returns it `/`-joined without a trailing slash.
fn checked_path(path: &Path) -> Result<String, ArchiveError> {
    let shown = path.display().to_string();
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => match part.to_str() {
                Some(part) if !part.is_empty() && !part.contains('\\') => parts.push(part),
                _ => {
                    return Err(ArchiveError::Unsafe(format!(
                        "{shown:?}: not a plain UTF-8 name"
                    )));
                }
            },
            Component::CurDir => {}
            _ => {
                return Err(ArchiveError::Unsafe(format!(
                    "{shown:?} escapes the state directory"
                )));
            }
        }
    }
    let joined = parts.join("/");
    if joined.is_empty() || joined.len() > MAX_PATH {
        return Err(ArchiveError::Unsafe(format!("{shown:?}: bad path length")));
    }
    let top = parts[0];
    if !(TOP_LEVEL.contains(&top) || joined == MANIFEST_NAME) {
        return Err(ArchiveError::Unsafe(format!(
            "{joined:?} is not part of a state directory backup"
        )));
    }
    Ok(joined)
}

/// Reads an archive from `reader`, handing each entry to `sink`, and verifies it.
pub fn decode_from(reader: impl Read, sink: &mut dyn Sink) -> Result<Decoded, ArchiveError> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(corrupt)?;
    let mut seen: Vec<Entry> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut dirs: HashSet<String> = HashSet::new();
    let mut buffer = vec![0u8; 64 << 10];
    let mut manifest_bytes: Option<Vec<u8>> = None;
    let mut config_bytes: Option<Vec<u8>> = None;
    let mut head_bytes: Option<Vec<u8>> = None;
    for entry in entries {
        let mut entry = entry.map_err(corrupt)?;
        if manifest_bytes.is_some() {
            return Err(corrupt("an entry follows the manifest"));
        }
        let raw_path = entry.path().map_err(corrupt)?.into_owned();
        let path = checked_path(&raw_path)?;
        if !names.insert(path.clone()) {
            return Err(ArchiveError::Unsafe(format!("{path:?} appears twice")));
        }
        if let Some((parent, _)) = path.rsplit_once('/')
            && !dirs.contains(parent)
        {
            return Err(ArchiveError::Unsafe(format!(
                "{path:?} comes before its directory"
            )));
        }
        let kind = entry.header().entry_type();
        let sink_error = |source| ArchiveError::Sink {
            path: path.clone(),
            source,
        };
        if kind.is_dir() {
            if path == MANIFEST_NAME || path == "config.json" || path == "head.json" {
                return Err(ArchiveError::Unsafe(format!("{path:?} is a directory")));
            }
            sink.dir(&path).map_err(sink_error)?;
            dirs.insert(path.clone());
            seen.push(Entry {
                path,
                kind: Kind::Dir,
                size: 0,
                sha256: None,
            });
            continue;
        }
        if !(kind.is_file() || kind.is_contiguous()) {
            return Err(ArchiveError::Unsafe(format!(
                "{path:?} is a {kind:?}, not a file or directory"
            )));
        }
        if TOP_LEVEL[2..].contains(&path.as_str()) {
            return Err(ArchiveError::Unsafe(format!("{path:?} is not a directory")));
        }
        let size = entry.size();
        if path == MANIFEST_NAME {
            manifest_bytes = Some(read_small(&mut entry, MAX_MANIFEST, &path)?);
            continue;
        }
        let keep = path == "config.json" || path == "head.json";
        if keep && size > MAX_SMALL_FILE {
            return Err(corrupt(format!("{path}: {size} bytes is too large")));
        }
        sink.begin_file(&path).map_err(sink_error)?;
        let mut hasher = Sha256::new();
        let mut kept = Vec::new();
        let mut total = 0u64;
        loop {
            let n = entry.read(&mut buffer).map_err(corrupt)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            if keep {
                kept.extend_from_slice(&buffer[..n]);
            }
            sink.write(&buffer[..n]).map_err(sink_error)?;
            total += n as u64;
        }
        if total != size {
            return Err(corrupt(format!(
                "{path}: truncated ({total} of {size} bytes)"
            )));
        }
        sink.end_file().map_err(sink_error)?;
        match path.as_str() {
            "config.json" => config_bytes = Some(kept),
            "head.json" => head_bytes = Some(kept),
            _ => {}
        }
        seen.push(Entry {
            path,
            kind: Kind::File,
            size,
            sha256: Some(hex::encode(hasher.finalize())),
        });
    }
    let Some(manifest_bytes) = manifest_bytes else {
        return Err(if seen.is_empty() {
            ArchiveError::Foreign("no entries".into())
        } else {
            corrupt(format!("no {MANIFEST_NAME} (truncated?)"))
        });
    };
    verify(&manifest_bytes, &seen, config_bytes, head_bytes)
}

/// Reads an entry of at most `max` bytes whole.
fn read_small(entry: &mut impl Read, max: u64, path: &str) -> Result<Vec<u8>, ArchiveError> {
    let mut bytes = Vec::new();
    entry
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(corrupt)?;
    if bytes.len() as u64 > max {
        return Err(corrupt(format!("{path} is larger than {max} bytes")));
    }
    Ok(bytes)
}

/// Checks the manifest against what was read.
fn verify(
    manifest_bytes: &[u8],
    seen: &[Entry],
    config: Option<Vec<u8>>,
    head: Option<Vec<u8>>,
) -> Result<Decoded, ArchiveError> {
    #[derive(Deserialize)]
    struct Format {
        format: Option<String>,
        version: Option<u64>,
    }
    let format: Format = serde_json::from_slice(manifest_bytes)
        .map_err(|e| corrupt(format!("{MANIFEST_NAME}: {e}")))?;
    if format.format.as_deref() != Some(FORMAT) {
        return Err(ArchiveError::Foreign(format!(
            "{MANIFEST_NAME} has format {:?}",
            format.format
        )));
    }
    if format.version != Some(u64::from(VERSION)) {
        return Err(ArchiveError::Foreign(format!(
            "{MANIFEST_NAME} version {:?}; this program reads version {VERSION}",
            format.version
        )));
    }
    let manifest: Manifest = serde_json::from_slice(manifest_bytes)
        .map_err(|e| corrupt(format!("{MANIFEST_NAME}: {e}")))?;
    if manifest.entries.len() != seen.len() {
        return Err(corrupt(format!(
            "{MANIFEST_NAME} lists {} entries, the archive holds {}",
            manifest.entries.len(),
            seen.len()
        )));
    }
    for (listed, read) in manifest.entries.iter().zip(seen) {
        if listed != read {
            return Err(corrupt(format!(
                "{} differs from {MANIFEST_NAME} (size or SHA-256)",
                read.path
            )));
        }
    }
    let config = config.ok_or_else(|| corrupt("no config.json"))?;
    let config: ConfigFile =
        files::parse(&config, CONFIG_VERSION).map_err(|e| corrupt(format!("config.json: {e}")))?;
    let head = head.ok_or_else(|| corrupt("no head.json"))?;
    let head: HeadFile = files::parse(&head, 1).map_err(|e| corrupt(format!("head.json: {e}")))?;
    if config.identity != manifest.identity {
        return Err(corrupt(format!(
            "{MANIFEST_NAME}'s identity differs from config.json's"
        )));
    }
    if HeadRecord::of(&head) != manifest.head {
        return Err(corrupt(format!(
            "{MANIFEST_NAME}'s head differs from head.json"
        )));
    }
    let expected = format!(
        "checkpoints/{}",
        crate::state::layout::checkpoint_name(head.block, head.input_count)
    );
    if head.checkpoint != expected {
        return Err(corrupt(format!(
            "head.json names {:?}, not {expected:?}",
            head.checkpoint
        )));
    }
    let checkpoint_manifest = format!("{}/manifest.json", head.checkpoint);
    if !seen.iter().any(|e| e.path == checkpoint_manifest) {
        return Err(corrupt(format!("no {checkpoint_manifest}")));
    }
    if let Some(other) = seen.iter().find(|e| {
        e.path.starts_with("checkpoints/")
            && e.path != head.checkpoint
            && !e.path.starts_with(&format!("{}/", head.checkpoint))
    }) {
        return Err(ArchiveError::Unsafe(format!(
            "{:?} is not the head checkpoint",
            other.path
        )));
    }
    let latched = seen.iter().any(|e| e.path == "incident");
    if latched != manifest.latched {
        return Err(corrupt(format!(
            "{MANIFEST_NAME} says latched={}, the archive disagrees",
            manifest.latched
        )));
    }
    Ok(Decoded {
        manifest,
        config,
        head,
    })
}
