//! A local Cartesi rollups stack for tests and drills.
//!
//! - [`Installer`] fetches pinned tools (anvil) from npm registry packages into a project-local
//!   cache, integrity-checked and under a file lock.
//! - [`Anvil`] runs anvil on a loopback ephemeral port, ready when it makes progress, killed on
//!   drop.
//! - [`deploy`] deploys Cartesi Rollups 3.0.0-alpha.10 from the `cartesi-rollups-contracts`
//!   bytecode at deterministic addresses ([`pins`]), the ERC-20 test token and the application.
//! - [`Devnet`] bundles anvil and the deployment with helpers for deposits, inputs and mining.
//! - [`RpcProxy`] sits between a client and the node and refuses `eth_getLogs` ranges the way
//!   hosted providers do, recording every request.
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod anvil;
mod contracts;
mod install;
pub mod pins;
mod range;
mod rpc_proxy;
pub mod sequencer;
mod stack;

pub use anvil::{Anvil, AnvilOptions};
pub use contracts::{
    AddressDrift, Deployment, PlannedContract, deploy, pinned_address, rollups_plan,
};
pub use install::{
    ANVIL_BIN_ENV, InstalledTool, Installer, TOOLS_DIR_ENV, anvil_binary, verify_integrity,
    workspace_root,
};
pub use range::{BlockRange, check_exact_cover};
pub use rpc_proxy::{
    GetLogsCap, ProxyEntry, ProxyOutcome, ProxyRules, RangeErrorProfile, RpcProxy,
};
pub use stack::{AddedInput, Devnet, DevnetBuilder};
