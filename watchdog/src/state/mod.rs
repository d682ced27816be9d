//! The state directory: files, durable writes, the lock, checkpoints, the latch, metrics.

pub mod clock;
pub mod event;
pub mod files;
pub mod fsx;
pub mod incident;
pub mod layout;
pub mod lock;
pub mod prom;

use crate::{Class, Reason};

/// Why the state directory cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A file operation failed.
    #[error(transparent)]
    Fs(#[from] fsx::FsError),
    /// Another process holds `run.lock`.
    #[error("another watchdog command holds the lock")]
    LockBusy,
    /// Wrong owner or permissions.
    #[error("unsafe state directory: {0}")]
    UnsafePermissions(String),
    /// `config.json` is malformed.
    #[error("{0}")]
    ConfigInvalid(String),
    /// A Lua watchdog state directory (config version 1 or 2).
    #[error("config.json version {0} belongs to the Lua watchdog; re-init a new state directory")]
    ForeignStateDir(u64),
    /// `head.json` is invalid.
    #[error("invalid head.json: {0}")]
    InvalidHead(String),
    /// A checkpoint does not match its manifest.
    #[error("corrupt checkpoint: {0}")]
    CheckpointCorrupt(String),
}

impl StateError {
    /// Class and reason for the summary line.
    pub fn class_reason(&self) -> (Class, Reason) {
        match self {
            Self::Fs(_) => (Class::Internal, Reason::new("publish_failed")),
            Self::LockBusy => (Class::Operator, Reason::new("lock_busy")),
            Self::UnsafePermissions(_) => (Class::Operator, Reason::new("unsafe_permissions")),
            Self::ConfigInvalid(_) => (Class::Operator, Reason::new("config_invalid")),
            Self::ForeignStateDir(_) => (Class::Operator, Reason::new("foreign_state_dir")),
            Self::InvalidHead(_) => (Class::Operator, Reason::new("invalid_head")),
            Self::CheckpointCorrupt(_) => (Class::Operator, Reason::new("checkpoint_corrupt")),
        }
    }
}
