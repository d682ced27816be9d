//! A local Cartesi rollups stack for tests and drills.
//!
//! - [`Installer`] fetches pinned tools (anvil) from npm registry packages into a project-local
//!   cache, integrity-checked and under a file lock.
//! - [`Anvil`] runs anvil on a loopback ephemeral port, ready when it makes progress, killed on
//!   drop.
//! - [`deploy`](fn@deploy) deploys Cartesi Rollups 3.0.0-alpha.10 from the `cartesi-rollups-contracts`
//!   bytecode at deterministic addresses ([`devnet_pins`]), the ERC-20 test token and the application.
//! - [`Devnet`] bundles anvil and the deployment with helpers for deposits, inputs and mining.
//! - [`RpcProxy`] sits between a client and the node and refuses `eth_getLogs` ranges the way
//!   hosted providers do, recording every request; [`rpc_proxy`] has its rule language
//!   ([`RuleSet`]) and the `rpc_usage` checks; [`HttpProxy`] applies the same rules to HTTP.
//! - [`LocalStack`] is the whole stack as one RAII value: [`Devnet`] plus the devnet sequencer
//!   (a task, or a `devnet-sequencer` child), with restarts, re-provisioning, a settle pump and
//!   a teardown that audits for orphans ([`process`]).
//! - [`Supervisor`] runs a [`LocalStack`] for `devnet up`: stable [`Front`]s, restarts with
//!   backoff ([`RestartPolicy`]), health checks, [`state_file`] (`devnet.json`, the lock).
//! - [`cli`] is the `devnet` command line (`up`, `status`, `env`, `down`, `doctor`,
//!   `sequencer`); [`exports`] renders the watchdog's `CARTESI_WATCHDOG_*` settings.
//! - [`topology`] describes what a scenario runs; [`deploy`](mod@deploy) provisions it on the
//!   `local`, `in-process` ([`SyntheticL1`](synthetic_l1::SyntheticL1)) or `attach` backend behind one [`L1Node`] control.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod anvil;
pub mod cli;
mod contracts;
pub mod demo;
pub mod deploy;
pub mod driver;
mod error;
pub mod exports;
mod front;
mod http_proxy;
mod install;
mod local;
pub mod process;
mod range;
pub mod rpc_proxy;
pub mod scenario;
mod sequencer_child;
mod stack;
pub mod state_file;
mod supervisor;
pub mod topology;

pub use anvil::{Anvil, AnvilOptions};
pub use contracts::{
    AddressDrift, Deployment, PlannedContract, deploy, pinned_address, rollups_plan,
};
pub use deploy::L1Node;
pub use error::{Class, DevnetError, classify};
pub use front::Front;
pub use http_proxy::HttpProxy;
pub use install::{
    ANVIL_BIN_ENV, InstalledTool, Installer, TOOLS_DIR_ENV, anvil_binary, verify_integrity,
    workspace_root,
};
pub use local::{LocalStack, LocalStackBuilder, Mining, SequencerMode, StackDirs};
pub use range::{BlockRange, check_exact_cover};
pub use rpc_proxy::usage::UsageViolation;
pub use rpc_proxy::{Action, ProxyConfig, Rule, RuleSet, RulesError, Scope, When};
pub use rpc_proxy::{
    GetLogsCap, ProxyEntry, ProxyOutcome, ProxyRules, RangeErrorProfile, RpcProxy,
};
pub use sequencer_child::{
    ChildSetup, SEQUENCER_BIN_ENV, SequencerChild, ensure_sequencer_binary, sequencer_args,
    sequencer_binary, sequencer_command,
};
pub use stack::{AddedInput, Devnet, DevnetBuilder};
pub use supervisor::{
    Decision, Outcome, RestartPolicy, RestartTracker, Supervisor, SupervisorHandle, UpOptions,
};
