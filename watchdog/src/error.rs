//! Why a command could not decide: every error has a [`Class`] and a [`Reason`] (spec §7).

use std::path::PathBuf;

use crate::{Class, Reason};

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A command failed (exit 1). Divergences are not errors: they are outcomes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad arguments or settings detected after parsing (`operator/usage`).
    #[error("{0}")]
    Usage(String),
    /// A setting has an invalid value (`operator/config_invalid`).
    #[error("invalid {setting}: {problem}")]
    Config {
        /// The flag or variable.
        setting: &'static str,
        /// What is wrong (never the value of a secret).
        problem: String,
    },
    /// An input file cannot be read (`operator/decode_failed`).
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The file (`-` for stdin).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Bytes do not decode as a WalletSnapshot (`operator/decode_failed`).
    #[error("{what}: not a WalletSnapshot: {problem}")]
    Decode {
        /// Which input (a path or `-`).
        what: String,
        /// The decoder's complaint.
        problem: String,
    },
    /// The L1 reader failed (class and reason from the reader).
    #[error("{0}")]
    L1(#[from] l1::Error),
    /// The L1 provider reports another chain than configured (`operator/chain_id_mismatch`).
    #[error("chain id mismatch: the provider is on chain {actual}, configured {expected}")]
    ChainIdMismatch {
        /// Configured.
        expected: u64,
        /// Reported by the provider.
        actual: u64,
    },
    /// The command ran past its deadline (`transient/deadline_exceeded`).
    #[error("deadline of {0} exceeded")]
    Deadline(String),
    /// Writing to stdout failed (`internal/output_failed`).
    #[error("cannot write output: {0}")]
    Output(#[source] std::io::Error),
    /// The async runtime could not be started (`internal/runtime_failed`).
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A command failed with a class and reason decided where it happened.
    #[error("{message}")]
    Failed {
        /// Who has to act.
        class: Class,
        /// The stable reason.
        reason: Reason,
        /// What happened (never a secret).
        message: String,
    },
}

impl From<crate::state::fsx::FsError> for Error {
    fn from(error: crate::state::fsx::FsError) -> Self {
        Error::Failed {
            class: Class::Internal,
            reason: Reason::new("publish_failed"),
            message: error.to_string(),
        }
    }
}

impl From<crate::state::StateError> for Error {
    fn from(error: crate::state::StateError) -> Self {
        let (class, reason) = error.class_reason();
        Error::Failed {
            class,
            reason,
            message: error.to_string(),
        }
    }
}

impl Error {
    /// Who has to act.
    pub fn class(&self) -> Class {
        match self {
            Error::Usage(_)
            | Error::Config { .. }
            | Error::Read { .. }
            | Error::Decode { .. }
            | Error::ChainIdMismatch { .. } => Class::Operator,
            Error::L1(e) => match e.class() {
                l1::Class::Transient => Class::Transient,
                l1::Class::Operator => Class::Operator,
                l1::Class::Internal => Class::Internal,
            },
            Error::Deadline(_) => Class::Transient,
            Error::Output(_) | Error::Runtime(_) => Class::Internal,
            Error::Failed { class, .. } => *class,
        }
    }

    /// The stable reason.
    pub fn reason(&self) -> Reason {
        match self {
            Error::Usage(_) => Reason::USAGE,
            Error::Config { .. } => Reason::CONFIG_INVALID,
            Error::Read { .. } | Error::Decode { .. } => Reason::DECODE_FAILED,
            Error::L1(e) => Reason::new(e.reason()),
            Error::ChainIdMismatch { .. } => Reason::CHAIN_ID_MISMATCH,
            Error::Deadline(_) => Reason::DEADLINE_EXCEEDED,
            Error::Output(_) => Reason::OUTPUT_FAILED,
            Error::Runtime(_) => Reason::RUNTIME_FAILED,
            Error::Failed { reason, .. } => *reason,
        }
    }

    /// The one-line message for the summary.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// A failure with an explicit class and reason.
    pub(crate) fn fail(class: Class, reason: &'static str, message: impl Into<String>) -> Self {
        Error::Failed {
            class,
            reason: Reason::new(reason),
            message: message.into(),
        }
    }

    pub(crate) fn config(setting: &'static str, problem: impl Into<String>) -> Self {
        Error::Config {
            setting,
            problem: problem.into(),
        }
    }
}
