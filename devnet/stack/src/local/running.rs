//! The sequencer of a local stack: a task of this process or a `devnet-sequencer` child.

use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;

use anyhow::Result;
use devnet_sequencer::{Sequencer, SequencerConfig, SequencerHandle};

use crate::sequencer_child::{ChildSetup, SequencerChild};

/// A running sequencer, whichever way it runs.
#[derive(Debug)]
pub(super) enum RunningSequencer {
    Task(SequencerHandle),
    Child(SequencerChild),
}

impl RunningSequencer {
    /// Starts a task, or a child when `child` is given.
    pub(super) async fn start(
        config: &SequencerConfig,
        child: Option<&ChildSetup>,
    ) -> Result<Self> {
        Ok(match child {
            None => Self::Task(Sequencer::start(config.clone()).await?),
            Some(setup) => Self::Child(SequencerChild::spawn(config, setup).await?),
        })
    }

    pub(super) fn pid(&self) -> Option<u32> {
        match self {
            Self::Task(_) => None,
            Self::Child(child) => Some(child.pid()),
        }
    }

    pub(super) fn start_time(&self) -> Option<u64> {
        match self {
            Self::Task(_) => None,
            Self::Child(child) => child.start_time(),
        }
    }

    pub(super) fn url(&self) -> String {
        match self {
            Self::Task(handle) => handle.url(),
            Self::Child(child) => child.url().to_owned(),
        }
    }

    pub(super) fn control_url(&self) -> Option<String> {
        match self {
            Self::Task(handle) => Some(handle.control_url()),
            Self::Child(child) => child.control_url().map(str::to_owned),
        }
    }

    /// How a child ended once it has exited (reaped); a task never exits on its own.
    pub(super) fn try_exit(&mut self) -> Result<Option<ChildExit>> {
        match self {
            Self::Task(_) => Ok(None),
            Self::Child(child) => Ok(child.try_exit()?.map(|status| ChildExit::from(&status))),
        }
    }

    /// SIGKILL for a child, abort for a task.
    pub(super) fn kill(&mut self) {
        match self {
            Self::Task(_) => {}
            Self::Child(child) => child.kill(),
        }
    }

    /// A graceful stop.
    pub(super) async fn shutdown(self) -> Result<()> {
        match self {
            Self::Task(handle) => handle.shutdown().await,
            Self::Child(child) => child.shutdown().await.map(drop),
        }
    }
}

/// How a child process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildExit {
    /// `exit status: 3`, `signal: 9 (SIGKILL)`, or why it could not be told.
    pub status: String,
    /// The exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
}

impl ChildExit {
    /// An exit known only as text (a polling error, a process not reaped by us).
    pub fn described(status: impl Into<String>) -> Self {
        Self {
            status: status.into(),
            code: None,
            signal: None,
        }
    }
}

impl From<&ExitStatus> for ChildExit {
    fn from(status: &ExitStatus) -> Self {
        Self {
            status: status.to_string(),
            code: status.code(),
            signal: status.signal(),
        }
    }
}
