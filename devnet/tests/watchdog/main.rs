//! The watchdog against a real devnet: anvil, the Rollups contracts and the devnet sequencer.
//! init from genesis, agreement after real deposits and transfers, then a tampered sequencer
//! state latched as `state_mismatch`, and the latch holding on the next tick.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U256};
use canonical::{InputBuilder, Method, WalletConfig};
use devnet::Devnet;
use devnet::pins::{ANVIL_ADDRESSES, ANVIL_KEYS, roles};
use devnet::sequencer::{Sequencer, SequencerConfig, SequencerHandle};
use sequencer_client::{RedactedUrl, SequencerClient, TxRequest};
use watchdog::options::{Backend, PinMode, Settings};
use watchdog::settings::Deadline;
use watchdog::{InitOptions, Summary, Watchdog};

fn settings(
    devnet: &Devnet,
    seq: &SequencerHandle,
    state: &std::path::Path,
    pin: PinMode,
) -> Settings {
    let d = devnet.deployment();
    Settings {
        state_dir: Some(state.to_path_buf()),
        rpc_url: Some(RedactedUrl::parse(devnet.rpc_url()).unwrap()),
        confirm_rpc_url: None,
        sequencer_url: Some(RedactedUrl::parse(&seq.url()).unwrap()),
        chain_id: Some(31337),
        app_address: Some(d.application),
        input_box_address: None,
        machine_backend: Some(Backend::Native),
        state_source: None,
        libcartesi_path: None,
        range_codes: None,
        l1_head_tag: None,
        metrics_file: None,
        state_pin: pin,
        max_state_bytes: 1 << 30,
        deadline: Deadline(Some(Duration::from_secs(120))),
        max_rpc_requests: 5000,
        progress: false,
    }
}

/// Runs a blocking watchdog command off the async runtime.
async fn tick(wd: &Arc<Watchdog>) -> (Summary, String) {
    let wd = wd.clone();
    tokio::task::spawn_blocking(move || {
        let mut events = Vec::new();
        let summary = wd.tick(&mut events);
        (summary, String::from_utf8(events).unwrap())
    })
    .await
    .unwrap()
}

fn signed(from: usize, nonce: u32, method: &Method, app: Address) -> TxRequest {
    let key: B256 = ANVIL_KEYS[from];
    let op = InputBuilder::new(WalletConfig::devnet(), app)
        .sign(&key, nonce, 1400, method)
        .unwrap();
    TxRequest {
        nonce,
        max_fee: 1400,
        data: op.data,
        signature: op.signature,
        sender: ANVIL_ADDRESSES[from],
    }
}

/// Submits `tx` (retrying while the op's deposit is not drained yet) and mines until the
/// finalized inclusion block passes `after`.
async fn finalize(devnet: &Devnet, client: &SequencerClient, tx: &TxRequest, after: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut accepted = false;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing finalized past block {after}"
        );
        if !accepted {
            accepted = client.submit_tx(tx).await.is_ok();
        }
        let point = client.inclusion_block().await.unwrap();
        if accepted && point.inclusion_block > after {
            return point.inclusion_block;
        }
        devnet.mine(1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn set_fault(seq: &SequencerHandle, fault: &str) {
    let response = reqwest::Client::new()
        .post(format!("{}/faults", seq.control_url()))
        .json(&serde_json::json!({"set": [fault]}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

#[tokio::test]
async fn agreement_then_a_tampered_state_latches() {
    let devnet = Devnet::start().await.unwrap();
    let d = *devnet.deployment();
    let mut config = SequencerConfig::devnet(devnet.rpc_url(), d.application);
    config.input_box = Some(d.input_box);
    config.poll_interval = Duration::from_millis(50);
    config.batch_interval = Duration::from_millis(100);
    let seq = Sequencer::start(config).await.unwrap();
    let client = SequencerClient::new(RedactedUrl::parse(&seq.url()).unwrap()).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    // B0: a safe block after the deployment, before any input.
    devnet.mine(2).await.unwrap();
    let b0 = devnet.block_number().await.unwrap() - 1;
    let wd = Arc::new(Watchdog::open(
        &state,
        settings(&devnet, &seq, &state, PinMode::Auto),
    ));
    let init = {
        let wd = wd.clone();
        tokio::task::spawn_blocking(move || {
            wd.init(&InitOptions {
                snapshot: Some("genesis:devnet".into()),
                snapshot_block: Some(b0),
                ..InitOptions::default()
            })
        })
        .await
        .unwrap()
        .unwrap()
    };
    assert_eq!(init.exit_code(), 0, "{}", init.line());
    assert_eq!(init.outcome().as_str(), "initialized");

    // The sequencer serves genesis at block 0: behind the never-agreed bootstrap.
    let (summary, events) = tick(&wd).await;
    assert_eq!(summary.outcome().as_str(), "idle", "{}", summary.line());
    assert!(events.is_empty());

    // Real deposits and a transfer; the watchdog replays them and agrees.
    let alice = ANVIL_ADDRESSES[roles::ALICE];
    let bob = ANVIL_ADDRESSES[roles::BOB];
    devnet
        .deposit_erc20(alice, U256::from(1_000_000u64), Bytes::new())
        .await
        .unwrap();
    let transfer = Method::Transfer {
        amount: U256::from(1000),
        to: bob,
    };
    let finalized = finalize(
        &devnet,
        &client,
        &signed(roles::ALICE, 0, &transfer, d.application),
        b0,
    )
    .await;
    let (summary, events) = tick(&wd).await;
    assert_eq!(summary.exit_code(), 0, "{}", summary.line());
    assert_eq!(summary.outcome().as_str(), "agreed", "{}", summary.line());
    assert!(events.is_empty());
    assert!(
        summary
            .line()
            .contains(&format!("\"head_block\":{finalized}")),
        "{}",
        summary.line()
    );
    assert!(state.join("head.json").exists());
    assert!(state.join("status.prom").exists());

    // Idempotent: nothing new, idle.
    let (summary, _) = tick(&wd).await;
    assert_eq!(summary.outcome().as_str(), "idle", "{}", summary.line());

    // Tamper with what the sequencer serves; the next finalized block diverges.
    set_fault(&seq, "tamper-state").await;
    let again = finalize(
        &devnet,
        &client,
        &signed(roles::ALICE, 1, &transfer, d.application),
        finalized,
    )
    .await;
    let (summary, events) = tick(&wd).await;
    assert_eq!(summary.exit_code(), 2, "{}", summary.line());
    assert_eq!(summary.outcome().as_str(), "diverged");
    assert!(
        events.starts_with("watchdog_event {\"kind\":\"state_mismatch\""),
        "{events}"
    );
    assert_eq!(events.lines().count(), 1);
    assert!(
        events.contains(&format!("\"sequencer_inclusion_block\":{again}")),
        "{events}"
    );
    assert!(state.join("incident/divergence.json").exists());
    assert!(state.join("incident/evidence.json").exists());

    // The latch holds: exit 2 with no new event.
    let (summary, events) = tick(&wd).await;
    assert_eq!(summary.exit_code(), 2);
    assert_eq!(summary.outcome().as_str(), "latched");
    assert!(events.is_empty());

    seq.shutdown().await.unwrap();
    devnet.shutdown().await.unwrap();
}
