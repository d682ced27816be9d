//! The `sequencer-watchdog` library: every command of the binary, callable and testable
//! without a process.
//!
//! * The exit contract is a type: a command ends in an [`Outcome`] (0 decided, 1 could not
//!   decide with a [`Class`], 2 divergence), reported as a [`Summary`] whose
//!   [`line`](Summary::line) is the one JSON line printed on stdout (spec `watchdog.md` §8.2).
//! * [`parse`] turns arguments into an [`Invocation`] or an [`EarlyExit`] (help, release
//!   info, usage errors that exit 1); [`run`] executes an invocation and returns its summary.
//! * The library never exits, never prints the summary, never reads `std::env` (the caller
//!   passes an [`Env`]) and installs nothing global; [`logging::subscriber`] and
//!   [`log_panic`] are for the binary to install.
//!
//! Commands: `snapshot decode FILE|-`, `snapshot diff A B` (on [`canonical::WalletSnapshot`],
//! see [`snapshot`]) and `l1 scan` (on the `l1` reader).

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod cli;
mod command;
mod core;
pub mod env;
mod error;
mod feed;
mod identity;
mod init;
mod inputs;
mod invocation;
mod json;
pub mod logging;
pub mod options;
mod outcome;
mod panic;
pub mod release;
mod report;
pub mod settings;
pub mod snapshot;
pub mod state;
pub mod summary;
mod tick;

pub use cli::{
    Cli, Command, DeadlineArgs, L1Args, L1Command, LogFormat, ScanArgs, SnapshotCommand,
};
pub use command::{Io, run};
pub use core::{Clock, FixedClock, SystemClock, Watchdog};
pub use env::Env;
pub use error::{Error, Result};
pub use init::InitOptions;
pub use inputs::input_line;
pub use invocation::{EarlyExit, Invocation, Parsed, USAGE_HINT, parse};
pub use json::{ObjectWriter, RawJson, to_string as to_json};
pub use options::Settings;
pub use outcome::{Class, Finding, Outcome, Reason};
pub use panic::{log_panic, panic_message, panic_summary};
pub use release::ReleaseInfo;
pub use summary::Summary;
