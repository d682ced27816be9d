//! The `devnet` command line and the demo, over the devnet crates: [`devnet_stack`] (anvil,
//! the contracts, the sequencer processes, the supervisor), [`devnet_sequencer`],
//! [`fault_proxy`], the synthetic L1 and [`devnet_scenarios`].
//!
//! - [`cli`] is the `devnet` command line (`up [--detach]`, `status`, `env`, `logs`, `events`,
//!   `list`, `down`, `doctor`, `run`, `proxy`, `sequencer [restart]`) over named devnets and the
//!   supervisor's control API; [`exports`] renders the watchdog's `CARTESI_WATCHDOG_*` settings.
//! - [`demo`] is `devnet demo`: the README's main job, end to end, each step checked.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod cli;
pub mod demo;
pub mod exports;
