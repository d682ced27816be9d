//! Integration tests of the devnet infrastructure against real anvil processes.

mod anvil;
#[path = "../shared/child.rs"]
mod child;
mod client;
mod deploy;
mod deposit;
mod fake_upstream;
mod http_proxy;
mod install;
mod l1_scan;
mod proxy_cli;
mod proxy_rules;
mod rpc_proxy;
mod sequencer;
