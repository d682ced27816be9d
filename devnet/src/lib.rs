//! The `devnet` command line and the demo, over the devnet crates: [`devnet_stack`] (anvil,
//! the contracts, the sequencer processes, the supervisor), [`devnet_sequencer`], the fault
//! proxies, the synthetic L1 and the scenarios.
//!
//! - [`cli`] is the `devnet` command line (`up`, `status`, `env`, `down`, `doctor`,
//!   `sequencer`); [`exports`] renders the watchdog's `CARTESI_WATCHDOG_*` settings.
//! - [`topology`] describes what a scenario runs; [`deploy`](mod@deploy) provisions it on the
//!   `local`, `in-process` ([`SyntheticL1`](synthetic_l1::SyntheticL1)) or `attach` backend
//!   behind one [`L1Node`] control.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod cli;
pub mod demo;
pub mod deploy;
pub mod driver;
pub mod exports;
pub mod scenario;
pub mod topology;

pub use deploy::L1Node;
