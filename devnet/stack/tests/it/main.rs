//! The stack against real anvil processes: the installer, anvil, the contract deployment and
//! its helpers, the devnet sequencer on anvil, and the local stack and the supervisor with real
//! `devnet-sequencer` children (bring-up at genesis, a workload replayed by `canonical`,
//! restarts of crashed children).

mod anvil;
mod bring_up;
mod chain_halt;
mod deploy;
mod deposit;
mod disk;
#[path = "../../../tests/shared/http.rs"]
mod http;
mod install;
mod keep;
mod sequencer;
mod supervision;
mod support;
mod workload;
