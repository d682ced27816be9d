//! Shared helpers: binaries, HTTP reads, polling with deadlines, L1 replay.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use alloy::primitives::Address;
use canonical::{Engine, WalletConfig, WalletSnapshot};
use l1::{InputReader, RangePlan, RequestBudget, RpcConfig};
use serde_json::Value;

/// The `devnet-sequencer` binary of this build, built on first use when `cargo test` did not
/// build it (it belongs to another package).
pub(crate) fn sequencer_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| devnet::ensure_sequencer_binary().unwrap())
}
/// The `devnet` binary of this build.
pub(crate) const DEVNET_BIN: &str = env!("CARGO_BIN_EXE_devnet");

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `GET base+path` → (status, body bytes); connection errors are `None`.
pub(crate) async fn get(base: &str, path: &str) -> Option<(u16, Vec<u8>)> {
    let reply = http().get(format!("{base}{path}")).send().await.ok()?;
    let status = reply.status().as_u16();
    Some((status, reply.bytes().await.ok()?.to_vec()))
}

pub(crate) async fn get_json(base: &str, path: &str) -> Value {
    let (status, body) = get(base, path).await.unwrap();
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// Polls `check` every 20 ms (running `step` between rounds) until it yields a value or
/// `timeout` passes.
pub(crate) async fn poll<T, F, Fut, S, SFut>(
    what: &str,
    timeout: Duration,
    mut check: F,
    mut step: S,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
    S: FnMut() -> SFut,
    SFut: Future<Output = ()>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        step().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
    devnet::process::is_running(pid)
}
