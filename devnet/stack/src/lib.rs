//! The local devnet stack: anvil, the Cartesi Rollups contracts and the devnet sequencer, as
//! processes and RAII values.
//!
//! - [`Installer`] fetches pinned tools (anvil) from npm registry packages into a project-local
//!   cache, integrity-checked and under a file lock.
//! - [`Anvil`] runs anvil on a loopback ephemeral port, ready when it makes progress, killed on
//!   drop.
//! - [`deploy`] deploys Cartesi Rollups 3.0.0-alpha.10 from the `cartesi-rollups-contracts`
//!   bytecode at deterministic addresses ([`devnet_pins`]), the ERC-20 test token and the
//!   application.
//! - [`Devnet`] bundles anvil and the deployment with helpers for deposits, inputs and mining.
//! - [`LocalStack`] is the whole stack as one RAII value: [`Devnet`] plus the devnet sequencer
//!   (a task, or a `devnet-sequencer` child, [`SequencerChild`]), with restarts,
//!   re-provisioning, a settle pump and a teardown that audits for orphans ([`process`]).
//! - [`Supervisor`] runs a [`LocalStack`] for `devnet up`: stable [`Front`]s, restarts with
//!   backoff ([`RestartPolicy`]), health and chain-halt checks, [`state_file`] (`devnet.json`,
//!   the lock), lifecycle [`events`] and the [`control`] API on a Unix socket
//!   ([`ControlClient`] is its client).
//! - [`tx`] sends deposits, transfers, withdrawals and direct inputs to a running devnet
//!   ([`tx::Target`]), for `devnet tx` and the control API.
//! - [`logs`] bounds log files (size cap, rotated files kept) and reads them across rotation.
//! - [`persist`] keeps a devnet's chain across `down --keep` and `up`, and [`disk`] measures
//!   what a state directory holds.
//! - [`DevnetError`] and [`classify`] are the errors of the supervisor and the CLI and the
//!   exit codes they map to.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod anvil;
mod contracts;
mod control_client;
mod devnet;
pub mod disk;
mod error;
mod front;
mod install;
mod l1_client;
mod local;
pub mod logs;
pub mod ops;
pub mod persist;
pub mod process;
mod sequencer_child;
pub mod snapshot;
pub mod state_file;
mod supervisor;
pub mod tx;

pub use anvil::{Anvil, AnvilOptions, DEFAULT_STATE_HISTORY};
pub use contracts::{
    AddressDrift, Deployment, PlannedContract, deploy, pinned_address, rollups_plan,
};
pub use control_client::{ControlClient, ControlError};
pub use devnet::{Devnet, DevnetBuilder, deploy_on};
pub use error::{Class, DevnetError, classify};
pub use front::Front;
pub use install::{
    ANVIL_BIN_ENV, InstalledTool, Installer, TOOLS_DIR_ENV, anvil_binary, verify_integrity,
    workspace_root,
};
pub use l1_client::{AddedInput, L1Client};
pub use local::{ChildExit, LocalStack, LocalStackBuilder, Mining, SequencerMode, StackDirs, wipe};
pub use sequencer_child::{
    ChildSetup, SEQUENCER_BIN_ENV, SequencerChild, ensure_sequencer_binary, sequencer_args,
    sequencer_binary, sequencer_command,
};
pub use supervisor::{
    Decision, Outcome, RestartPolicy, RestartTracker, Supervisor, SupervisorHandle, UpOptions,
    control, events,
};
