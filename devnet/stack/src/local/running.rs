//! The sequencer of a local stack: a task of this process or a `devnet-sequencer` child.

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

    /// `Some(description)` once a child has exited (reaped); a task never exits on its own.
    pub(super) fn try_exit(&mut self) -> Result<Option<String>> {
        match self {
            Self::Task(_) => Ok(None),
            Self::Child(child) => Ok(child.try_exit()?.map(|status| status.to_string())),
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
