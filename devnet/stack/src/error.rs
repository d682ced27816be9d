//! Errors of the supervisor and the CLI, and the exit codes they map to.

use std::path::PathBuf;

use crate::contracts::AddressDrift;

/// What kind of failure an error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// The environment is not as needed: a tool is missing, a component did not become
    /// ready, an address drifted, no devnet runs, another one holds the state dir.
    Environment,
    /// Something the devnet checks did not hold (a component failed for good, orphans).
    Failure,
}

/// A typed devnet error.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// Another supervisor holds the state dir.
    #[error("a devnet is already up in {dir} (supervisor pid {pid:?}); run `devnet down` first")]
    AlreadyRunning {
        /// The state dir.
        dir: PathBuf,
        /// The recorded supervisor pid, if known.
        pid: Option<u32>,
    },
    /// Bringing the stack up failed.
    #[error("bring-up failed: {0:#}")]
    BringUp(anyhow::Error),
    /// No running devnet in the state dir.
    #[error("no devnet is up in {0} (start one with `devnet up`)")]
    NotRunning(PathBuf),
    /// Processes of the run survived teardown (they were killed).
    #[error("orphans: {0:?}")]
    Orphans(Vec<u32>),
    /// The chain kept in the state dir was made by other pins.
    #[error(
        "the chain kept in {dir} was made with {kept}; this devnet pins {pinned}. Resume it with the devnet that kept it, or discard it with `devnet down`"
    )]
    KeptStateMismatch {
        /// The state dir.
        dir: PathBuf,
        /// The pins that made the kept chain.
        kept: String,
        /// This build's pins.
        pinned: String,
    },
}

impl DevnetError {
    /// Its class.
    pub fn class(&self) -> Class {
        match self {
            Self::AlreadyRunning { .. }
            | Self::BringUp(_)
            | Self::NotRunning(_)
            | Self::KeptStateMismatch { .. } => Class::Environment,
            Self::Orphans(_) => Class::Failure,
        }
    }
}

/// The class of any error: [`DevnetError`]'s own, an [`AddressDrift`] anywhere in the chain is
/// environmental, anything else a failure.
pub fn classify(error: &anyhow::Error) -> Class {
    for cause in error.chain() {
        if let Some(devnet) = cause.downcast_ref::<DevnetError>() {
            return devnet.class();
        }
        if let Some(control) = cause.downcast_ref::<crate::ControlError>() {
            return control.class();
        }
        if cause.is::<AddressDrift>() {
            return Class::Environment;
        }
    }
    Class::Failure
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_through_context() {
        let err = anyhow::Error::new(DevnetError::NotRunning("/x".into())).context("env");
        assert_eq!(classify(&err), Class::Environment);
        let drift = anyhow::Error::new(AddressDrift {
            contract: "InputBox",
            expected: alloy::primitives::Address::ZERO,
            actual: alloy::primitives::Address::repeat_byte(1),
        });
        assert_eq!(
            classify(&DevnetError::BringUp(drift).into()),
            Class::Environment
        );
        assert_eq!(classify(&anyhow::anyhow!("boom")), Class::Failure);
        assert_eq!(
            classify(&DevnetError::Orphans(vec![1]).into()),
            Class::Failure
        );
        // A control API answer keeps the class of what the supervisor said.
        let answered = |code: &str| {
            anyhow::Error::new(crate::ControlError::Answered {
                what: "POST /v1/tx/deposit".to_owned(),
                status: 503,
                code: Some(code.to_owned()),
                message: "m".to_owned(),
            })
            .context("tx")
        };
        assert_eq!(classify(&answered("not_running")), Class::Environment);
        assert_eq!(classify(&answered("refused")), Class::Failure);
    }
}
