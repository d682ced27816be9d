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
//! # Commands
//!
//! The state commands are methods of a [`Watchdog`] opened on a state directory with resolved
//! [`Settings`] (flag > environment > `config.json` > default). The spec's injectable traits
//! are the L1 provider (alloy's `Provider`, [`Watchdog::with_l1`]), [`SequencerSource`] (the
//! spec's `SequencerClient`, [`Watchdog::with_sequencer`]), the machine backend
//! ([`Watchdog::with_backend`]), [`Clock`] and [`EventSink`] (the alert stream of
//! [`Watchdog::tick`]; every `std::io::Write` is one); a [`ProgressSink`] can be added.
//!
//! | Command | Lock | Library | Outcomes (exit) |
//! |---|---|---|---|
//! | `init` | exclusive | [`Watchdog::init`] | `initialized`, `already_initialized` (0) |
//! | `tick` | exclusive | [`Watchdog::tick`] | `agreed`, `idle` (0); `diverged`, `latched` (2) |
//! | `status` | none | [`Watchdog::status`] | `ok` (0, latched included) |
//! | `clear --block B --reason TEXT` | exclusive | [`Watchdog::clear`] | `cleared` (0) |
//! | `replay --from-block A --to-block B --out DIR` | none | [`Watchdog::replay`] | `replayed`, `stopped` (0) |
//! | `l1 scan --from A --to B` | none | - | `scanned` (0) |
//! | `snapshot decode FILE\|-`, `snapshot diff A B` | none | [`snapshot`] | `decoded`, `compared` (0) |
//!
//! Any command can end `failed` (exit 1) with a [`Class`] and a [`Reason`].
//!
//! * **init** checks the chain id, the bootstrap block against the L1 head tag and its hash,
//!   derives or checks the InputBox, loads the bootstrap (`genesis:devnet|sepolia` or a stored
//!   machine), and writes `config.json`, the first checkpoint and `head.json` (last, as the
//!   completion marker). Rerunning it is idempotent; an interrupted init resumes.
//! * **tick** polls the sequencer's finalized inclusion block, pins the compared block B
//!   (digest route, else a streamed download), checks L1 (chain id, head tag ≥ B, the head's
//!   block hash, the input count at B), replays the inputs since the head through the machine,
//!   extracts the state on a throw-away copy and compares. Agreement publishes a checkpoint
//!   crash-safely and moves `head.json`; a divergence latches `incident/` with evidence and
//!   writes one `watchdog_event` line to the alert stream. A latched directory answers 2 with
//!   no work until `clear`. Every tick holding the lock writes `last_tick.json` and
//!   `status.prom`.
//! * **status** reports identity, head, latch (event and evidence index), last tick, learned
//!   span and checkpoints without taking the lock or writing anything.
//! * **clear** archives `incident/` to `incidents/<incident_id>/` with a `resolution.json`
//!   once the operator confirms the incident's block; the head is unchanged, so the next tick
//!   compares again.
//! * **replay** copies the head (or `--from-checkpoint`, e.g. an incident's `base/`) into a
//!   new `--out` directory, verifies it there and re-runs the tick's L1 and machine steps up to
//!   B, leaving `machine/` (usable as a bootstrap), `manifest.json`, `state.bin` and
//!   `inputs.jsonl`. It never writes the state directory.
//! * **l1 scan** prints the inputs a tick would see; with `--state-dir` it takes the identity
//!   and the learned span (read-only) from an initialized state directory.
//!
//! Feature `test-utils` adds the module `testing`: loopback L1 and sequencer doubles for
//! this crate's tests and benchmarks.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod alert;
pub mod allocator;
mod checkpoint;
mod clear;
mod cli;
mod command;
mod core;
mod divergence;
pub mod env;
mod error;
mod feed;
mod identity;
mod init;
mod inputs;
mod invocation;
mod json;
pub mod liveness;
pub mod logging;
pub mod options;
mod outcome;
mod panic;
pub mod progress;
pub mod release;
mod replay;
mod report;
pub mod settings;
pub mod snapshot;
mod source;
pub mod state;
mod status;
pub mod summary;
mod template;
#[cfg(feature = "test-utils")]
pub mod testing;
mod tick;

pub use alert::EventSink;
pub use cli::{
    Cli, Command, DeadlineArgs, L1Args, L1Command, LogFormat, ScanArgs, SnapshotCommand,
};
pub use command::{Io, run};
pub use core::{Clock, FixedClock, SystemClock, TickOptions, Watchdog};
pub use env::Env;
pub use error::{Error, Result};
pub use init::InitOptions;
pub use inputs::input_line;
pub use invocation::{EarlyExit, Invocation, Parsed, USAGE_HINT, parse};
pub use json::{ObjectWriter, RawJson, to_string as to_json};
pub use options::Settings;
pub use outcome::{Class, Finding, Outcome, Reason};
pub use panic::{log_panic, panic_message, panic_summary};
pub use progress::ProgressSink;
pub use release::ReleaseInfo;
pub use replay::ReplayOptions;
pub use source::{SequencerSource, SourceFuture};
pub use state::event::WatchdogEvent;
pub use summary::Summary;
