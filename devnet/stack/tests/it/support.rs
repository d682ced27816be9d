//! Shared helpers: the sequencer binary, L1 replay, process checks.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use alloy::primitives::Address;
use canonical::{Engine, WalletConfig, WalletSnapshot};
use l1::{InputReader, RangePlan, RequestBudget, RpcConfig};

/// The `devnet-sequencer` binary of this build, built on first use when `cargo test` did not
/// build it (it belongs to another package).
pub(crate) fn sequencer_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| devnet_stack::ensure_sequencer_binary().unwrap())
}

/// Every InputBox input of `app` in blocks `0..=block`, read with the `l1` crate.
pub(crate) async fn inputs_up_to(
    rpc: &str,
    app: Address,
    input_box: Address,
    block: u64,
) -> Vec<l1::Input> {
    let provider = l1::connect(rpc, &RpcConfig::default(), &RequestBudget::unlimited()).unwrap();
    let reader = InputReader::new(provider, app, input_box, 31337, RangePlan::new());
    let mut inputs = Vec::new();
    reader
        .scan(0, block, 0, |input| inputs.push(input))
        .await
        .unwrap();
    inputs
}

/// The canonical machine's state after `inputs`.
pub(crate) fn replay(inputs: &[l1::Input]) -> (WalletSnapshot, Vec<canonical::AdvanceResult>) {
    let mut engine = Engine::new(WalletConfig::devnet());
    let results = inputs
        .iter()
        .map(|input| engine.advance(&input.raw).unwrap())
        .collect();
    (engine.snapshot(), results)
}

/// Whether `pid` is still a running process.
pub(crate) fn alive(pid: u32) -> bool {
    devnet_stack::process::is_running(pid)
}
