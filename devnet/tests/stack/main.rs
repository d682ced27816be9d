//! The local stack, the supervisor and the `devnet` CLI against real anvil processes and real
//! `devnet-sequencer` children: bring-up at genesis, a workload replayed by `canonical`,
//! restarts of crashed children, and `up`/`status`/`env`/`down` of the real binary.

mod bring_up;
mod cli;
mod supervision;
mod support;
mod workload;
