//! The rollup machine layer: one safe [`Machine`] trait, the reference host loop ([`Host`]) written
//! once over any backend [`MachineCore`], and two backends.
//!
//! - **Native** ([`NativeBackend`], the default): the host-native canonical wallet engine. A
//!   checkpoint directory holds `native.bin` (the serialised engine state) and `native.json` (its
//!   length and SHA-256, verified on load); `genesis:devnet` and `genesis:sepolia` load a genesis
//!   machine from nothing. A guest panic is a halt.
//! - **Cartesi** ([`CartesiBackend`]): a real Cartesi Machine through libcartesi 0.19 or 0.21,
//!   loaded at run time by `cartesi-machine-sys` from a path the operator configures
//!   (`--libcartesi-path` / `LIBCARTESI_PATH` in the watchdog), so nothing links against it.
//!
//! Host semantics ([`Host`]): a rejected input is reverted to the exact pre-input state (the
//! restored state is checked; the Cartesi backend reloads a revert base and re-runs a journal of
//! the inputs accepted since, so accepted inputs cost no store, see [`JournalBound`]);
//! exception, halt, unsupported yields and budget exhaustion are
//! permanent fixed points that are never fed again; inspects run on a throw-away copy and only
//! while the machine waits for input. [`Machine::store`] publishes durably: temporary directory,
//! fsync, no-replace rename, fsync of the parent.
//!
//! Machines are not `Send`; [`MachineWorker`] owns one on a dedicated thread for async callers.
//! Feature `test-utils` adds `ScriptedMachine`, a pure-Rust fake backend for other crates' tests;
//! feature `failpoints` compiles crash injection into `store`.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod backend;
mod cartesi;
mod error;
mod host;
mod native;
mod outcome;
mod publish;
#[cfg(feature = "test-utils")]
mod scripted;
mod stats;
mod worker;

pub use backend::{BackendInfo, Machine, MachineBackend, StateSource, extract_state, query_state};
pub use cartesi::{
    CartesiBackend, CartesiCore, CartesiMachine, CartesiRevert, Console, JournalBound, LoadOptions,
};
pub use cartesi_machine_sys::{
    CMIO_BUFFER_LEN, DEFAULT_SLICE, EMPTY_OUTPUTS_ROOT, Generation, LibraryInfo, LoadError,
    MAX_MCYCLES_PER_INPUT,
};
pub use error::{Class, Error, Result, SnapshotReason, StateQueryError};
pub use host::{Host, MachineCore, Run, Stop};
pub use native::{
    GENESIS_PREFIX, NATIVE_FATAL_EXIT_CODE, NATIVE_FORMAT_VERSION, NATIVE_MANIFEST_FILE,
    NATIVE_STATE_FILE, NativeBackend, NativeCore, NativeMachine, NativeRevert, store_engine_state,
};
pub use outcome::{AdvanceReport, Hash, InspectReport, Outcome, RunControl, Status};
#[cfg(feature = "test-utils")]
pub use scripted::{
    SCRIPTED_FILE, SCRIPTED_STATE_LEN, ScriptedBackend, ScriptedCore, ScriptedMachine,
    ScriptedRevert,
};
pub use stats::MachineStats;
pub use worker::MachineWorker;
