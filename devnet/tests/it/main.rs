//! Integration tests of the devnet infrastructure against real anvil processes.

mod anvil;
mod deploy;
mod deposit;
mod install;
mod l1_scan;
mod rpc_proxy;
