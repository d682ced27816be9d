//! How a local stack runs: the mining mode, where the sequencer runs, the directory layout.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Result, anyhow};

/// How the L1 mines once the contracts are deployed (deployment itself always automines).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mining {
    /// A block per transaction (the [`Devnet`](crate::Devnet) helpers need this).
    #[default]
    Auto,
    /// Only when asked (`anvil_mine`); transactions wait in the pool.
    Manual,
    /// A block every N seconds.
    Interval(u64),
}

impl FromStr for Mining {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "manual" => Ok(Self::Manual),
            other => {
                let secs = other
                    .strip_prefix("interval:")
                    .and_then(|n| n.parse::<u64>().ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(|| {
                        anyhow!("mining must be auto, manual or interval:N (N > 0), not {other:?}")
                    })?;
                Ok(Self::Interval(secs))
            }
        }
    }
}

impl fmt::Display for Mining {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Manual => f.write_str("manual"),
            Self::Interval(n) => write!(f, "interval:{n}"),
        }
    }
}

/// Where the devnet sequencer runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SequencerMode {
    /// A task of this process: fastest; it lives and dies with the current tokio runtime.
    #[default]
    Task,
    /// The `devnet-sequencer` binary as a child process group.
    Child {
        /// The binary; `None` = [`sequencer_command`](crate::sequencer_command).
        bin: Option<PathBuf>,
        /// Run this upstream sequencer through `devnet-sequencer --sequencer PATH` (untested
        /// here; no control API, no faults).
        upstream: Option<PathBuf>,
    },
}

impl SequencerMode {
    /// The `devnet-sequencer` child found next to the running executable.
    pub fn child() -> Self {
        Self::Child {
            bin: None,
            upstream: None,
        }
    }

    /// The `devnet-sequencer` child at `bin`.
    pub fn child_at(bin: impl Into<PathBuf>) -> Self {
        Self::Child {
            bin: Some(bin.into()),
            upstream: None,
        }
    }
}

/// The directories of a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackDirs {
    /// The root (given, or a temporary directory).
    pub root: PathBuf,
    /// `logs/`: `anvil.log`, `sequencer.log`, `sequencer.stdout`.
    pub logs: PathBuf,
    /// `sequencer-data/`: the sequencer's persisted replica.
    pub sequencer_data: PathBuf,
    /// `anvil/cache/`: anvil's `--cache-path` (empty while states are kept in memory only).
    pub anvil_cache: PathBuf,
}

impl StackDirs {
    /// The layout below `root`.
    pub fn under(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            logs: root.join("logs"),
            sequencer_data: root.join("sequencer-data"),
            anvil_cache: crate::persist::anvil_cache_dir(&root),
            root,
        }
    }
}
