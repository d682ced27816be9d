//! Errors of the machine layer, each with a [`Class`].

use std::path::PathBuf;

use cartesi_machine_sys::LoadError;

use crate::{Hash, Outcome, Status};

/// Who has to act on an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Retrying later may succeed (deadline, cancellation).
    Transient,
    /// The deployment or its inputs are wrong (library, paths, stored machines).
    Operator,
    /// A bug or an unexpected library behaviour.
    Internal,
}

impl Class {
    /// `transient`, `operator` or `internal`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Class::Transient => "transient",
            Class::Operator => "operator",
            Class::Internal => "internal",
        }
    }
}

/// Why a stored machine or checkpoint directory cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotReason {
    /// A required file is missing or unreadable.
    #[error("missing or unreadable {0}")]
    Missing(String),
    /// A file does not parse.
    #[error("unparsable {file}: {detail}")]
    Unparsable {
        /// The file.
        file: String,
        /// What is wrong.
        detail: String,
    },
    /// The content does not match its recorded checksum, or fails to decode.
    #[error("corrupt: {0}")]
    Corrupt(String),
    /// The machine is not waiting for input (and not at a recorded fixed point).
    #[error("the machine is not at an input boundary")]
    NotAtInputBoundary,
    /// A 0.19 machine with a shared backing store, which would write through to the files.
    #[error("the machine config has a shared backing store")]
    SharedBackingStore,
    /// Template creation did not stop at the first rx-accepted yield.
    #[error("not a rollup template: {0}")]
    NotATemplate(String),
}

/// Why `query_state` found no single state report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateQueryError {
    /// The query was accepted but produced no report.
    #[error("the state query produced no report")]
    NoReport,
    /// The query produced more than one report.
    #[error("the state query produced {0} reports, expected exactly one")]
    MultipleReports(usize),
    /// The query did not end accepted.
    #[error("the state query ended {0}")]
    NotAccepted(Outcome),
}

/// Everything that can go wrong in the machine layer. A machine reaching a fixed point is not an
/// error: it is an `Ok` [`Outcome`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// libcartesi is missing, unsupported or incomplete.
    #[error(transparent)]
    Library(#[from] LoadError),
    /// The directory was written by another emulator version.
    #[error(
        "stored machine {} has archive_version {archive_version}, libcartesi {api} expects {expected}",
        dir.display()
    )]
    SnapshotVersion {
        /// The directory.
        dir: PathBuf,
        /// Its `archive_version`.
        archive_version: u64,
        /// The loaded API generation.
        api: &'static str,
        /// The `archive_version` that generation writes.
        expected: u64,
    },
    /// The directory cannot be used.
    #[error("cannot use machine directory {}: {reason}", dir.display())]
    Snapshot {
        /// The directory.
        dir: PathBuf,
        /// Why.
        reason: SnapshotReason,
    },
    /// A libcartesi call failed.
    #[error("{op} failed with {code} ({}): {message}", name.unwrap_or("unknown code"))]
    Cm {
        /// The C function.
        op: &'static str,
        /// The `cm_error` value.
        code: i32,
        /// Its name in the loaded generation's table.
        name: Option<&'static str>,
        /// The library's message, copied at once.
        message: String,
    },
    /// The machine or library broke the protocol (unexpected break reason, yield or length).
    #[error("machine protocol violation: {0}")]
    Protocol(String),
    /// An input over 2,097,152 bytes; nothing was changed.
    #[error("input of {len} bytes exceeds the 2 MiB CMIO buffer")]
    InputTooLarge {
        /// Its length.
        len: usize,
    },
    /// A query over 2,097,152 bytes; nothing was changed.
    #[error("query of {len} bytes exceeds the 2 MiB CMIO buffer")]
    QueryTooLarge {
        /// Its length.
        len: usize,
    },
    /// Inspect or range read on a machine that is not waiting for input.
    #[error("the machine is not accepting requests ({status:?})")]
    NotAccepting {
        /// Its status.
        status: Status,
    },
    /// Store of a state that would not reload as itself (a host-only fixed point).
    #[error("the machine state cannot be stored: {reason}")]
    NotStorable {
        /// Why.
        reason: String,
    },
    /// The store destination exists.
    #[error("{} already exists", .0.display())]
    AlreadyExists(PathBuf),
    /// A path holds a NUL byte.
    #[error("path {} contains a NUL byte", .0.display())]
    InvalidPath(PathBuf),
    /// A file-system step of our own failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// After reverting a rejected input the root hash differs from the pre-input one; the
    /// instance is poisoned.
    #[error(
        "revert mismatch: expected root {}, got {}",
        hex32(expected),
        hex32(got)
    )]
    RevertMismatch {
        /// The pre-input root hash.
        expected: Hash,
        /// The root hash after the revert.
        got: Hash,
    },
    /// Re-running the journal from the revert base did not retrace the first run (an input not
    /// accepted again, another outputs root or cycle count); the instance is poisoned.
    #[error("revert replay mismatch: {0}")]
    ReplayMismatch(String),
    /// The deadline passed or the run was cancelled. Advance: the pre-input state was restored.
    #[error("interrupted by deadline or cancellation")]
    Interrupted,
    /// An earlier failure left the instance unusable; load it again.
    #[error("the machine instance is poisoned by an earlier failure")]
    Poisoned,
    /// The state query did not give exactly one accepted report.
    #[error(transparent)]
    StateQuery(#[from] StateQueryError),
    /// Not exactly one memory range carries the label, or it is longer than allowed.
    #[error("state range {label:?}: {matches} matching ranges, length {length:?}")]
    StateRange {
        /// The label asked for.
        label: String,
        /// How many ranges carry it.
        matches: usize,
        /// The length of the single match, if there was one.
        length: Option<u64>,
    },
    /// The backend or API generation lacks the feature.
    #[error("unsupported: {what}")]
    Unsupported {
        /// The feature.
        what: &'static str,
    },
    /// The machine thread is gone (it panicked or failed to load).
    #[error("the machine worker thread is gone")]
    WorkerGone,
    /// Native: the recovery of a user op's signature panicked (on a recovery worker or the
    /// fold's thread). A bug of ours, not a guest outcome; the instance is poisoned.
    #[error("internal error: {0}")]
    WorkerPanic(canonical::WorkerPanic),
    /// Native: the engine panicked outside the guest's modelled panics ([`canonical::Fatal`],
    /// which are halts). A bug of ours, not a guest outcome; the instance is poisoned.
    #[error("internal error: the native engine panicked: {message}")]
    EnginePanic {
        /// The panic message.
        message: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Who has to act.
    pub fn class(&self) -> Class {
        match self {
            Error::Interrupted => Class::Transient,
            Error::Library(_)
            | Error::SnapshotVersion { .. }
            | Error::Snapshot { .. }
            | Error::InputTooLarge { .. }
            | Error::QueryTooLarge { .. }
            | Error::AlreadyExists(_)
            | Error::InvalidPath(_)
            | Error::Io { .. }
            | Error::StateRange { .. }
            | Error::Unsupported { .. } => Class::Operator,
            Error::Cm { op, .. } if is_storage_op(op) => Class::Operator,
            Error::StateQuery(StateQueryError::NotAccepted(_)) => Class::Operator,
            Error::Cm { .. }
            | Error::Protocol(_)
            | Error::NotAccepting { .. }
            | Error::NotStorable { .. }
            | Error::RevertMismatch { .. }
            | Error::ReplayMismatch(_)
            | Error::Poisoned
            | Error::StateQuery(_)
            | Error::WorkerGone
            | Error::WorkerPanic(_)
            | Error::EnginePanic { .. } => Class::Internal,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn snapshot(dir: impl Into<PathBuf>, reason: SnapshotReason) -> Self {
        Error::Snapshot {
            dir: dir.into(),
            reason,
        }
    }
}

fn is_storage_op(op: &str) -> bool {
    matches!(
        op,
        "cm_load_new" | "cm_store" | "cm_sync_stored" | "cm_rename_stored" | "cm_create_new"
    )
}

fn hex32(hash: &Hash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}
