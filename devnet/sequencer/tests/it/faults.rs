//! Each fault's visible effect, and the control API that arms them.

use std::time::{Duration, Instant};

use alloy::primitives::U256;
use canonical::{WalletSnapshot, fee_to_linear};
use sequencer_client::Error;
use serde_json::{Value, json};

use crate::support::{ALICE, BOB, Harness, address, harness, replay};

/// Alice funded, one transfer to Bob finalized; returns the checkpoint block.
async fn one_transfer(h: &Harness) -> u64 {
    h.fund(ALICE, 1_000_000).await;
    h.transfer(ALICE, BOB, 1000, 0).await;
    h.finalize_past(0).await
}

fn sha(bytes: &[u8]) -> alloy::primitives::B256 {
    use sha2::Digest as _;
    alloy::primitives::B256::from(<[u8; 32]>::from(sha2::Sha256::digest(bytes)))
}

#[tokio::test]
async fn the_control_api_arms_lists_and_clears_faults() {
    let h = harness(|c| c.faults = vec!["skip-op:2".parse().unwrap()]).await;
    let (status, list) = h.control(reqwest::Method::GET, "/faults", "").await;
    assert_eq!((status, list), (200, json!({"faults": ["skip-op:2"]})));
    let (status, list) = h
        .control(
            reqwest::Method::POST,
            "/faults",
            r#"{"add": ["tamper-state", "slow:5:user,/livez"]}"#,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        list,
        json!({"faults": ["skip-op:2", "tamper-state", "slow:5:user,/livez"]})
    );
    let (status, list) = h
        .control(
            reqwest::Method::POST,
            "/faults",
            r#"{"set": ["unavailable"]}"#,
        )
        .await;
    assert_eq!(
        (status, list),
        (200, json!({"faults": ["unavailable:finalized"]}))
    );
    for bad in [
        r#"{"set": ["explode"]}"#,
        r#"{"set": [], "add": []}"#,
        r#"{"sett": []}"#,
        "not json",
    ] {
        let (status, answer) = h.control(reqwest::Method::POST, "/faults", bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(answer["code"], json!("BAD_REQUEST"), "{bad}");
    }
    let (_, list) = h.control(reqwest::Method::GET, "/faults", "").await;
    assert_eq!(
        list,
        json!({"faults": ["unavailable:finalized"]}),
        "bad requests change nothing"
    );
    let (status, list) = h.control(reqwest::Method::DELETE, "/faults", "").await;
    assert_eq!((status, list), (200, json!({"faults": []})));
    assert_eq!(h.status().await["faults"], json!([]));
    // The control routes are not on the public listener.
    assert_eq!(h.get(&h.seq.url(), "/faults").await.status(), 404);
}

#[tokio::test]
async fn tampering_changes_the_served_bytes_with_or_without_the_digest() {
    let h = harness(|_| {}).await;
    let block = one_transfer(&h).await;
    let honest = h.replay(block).encode();
    assert_eq!(h.served_state().await, honest);

    h.arm(&["tamper-state"]).await;
    let body = h.served_state().await;
    assert_ne!(body, honest);
    assert_eq!(body.len(), honest.len());
    assert_eq!(
        body[..body.len() - 1],
        honest[..honest.len() - 1],
        "last byte flipped"
    );
    let digest = h.client.digest().await.unwrap();
    assert_eq!(
        digest.sha256,
        sha(&body),
        "the digest covers the tampered bytes"
    );
    assert_eq!(digest.inclusion_block, block);

    h.arm(&["tamper-body:0"]).await;
    let body = h.served_state().await;
    assert_ne!(body[0], honest[0]);
    assert_eq!(body[1..], honest[1..]);
    let digest = h.client.digest().await.unwrap();
    assert_eq!(digest.sha256, sha(&honest), "the digest stays honest");
}

#[tokio::test]
async fn regress_inclusion_serves_an_older_checkpoint() {
    let h = harness(|_| {}).await;
    let first = one_transfer(&h).await;
    h.transfer(ALICE, BOB, 1, 1).await;
    let second = h.finalize_past(first).await;
    h.arm(&["regress-inclusion:1"]).await;
    let point = h.client.inclusion_block().await.unwrap();
    assert_eq!(point.inclusion_block, first);
    assert_eq!(h.served_state().await, h.replay(first).encode());
    h.arm(&["regress-inclusion:5"]).await;
    assert_eq!(
        h.client.inclusion_block().await.unwrap().inclusion_block,
        0,
        "genesis"
    );
    h.arm(&[]).await;
    assert_eq!(
        h.client.inclusion_block().await.unwrap().inclusion_block,
        second
    );
}

#[tokio::test]
async fn freeze_finalized_keeps_serving_the_armed_checkpoint_while_the_sequencer_reads_on() {
    let h = harness(|_| {}).await;
    let first = one_transfer(&h).await;
    h.arm(&["freeze-finalized"]).await;
    h.transfer(ALICE, BOB, 1, 1).await;
    // The sequencer keeps reading L1 and accepting its batches: its own checkpoint moves on.
    let second = h.finalize_past(first).await;
    // The finalized routes do not.
    let point = h.client.inclusion_block().await.unwrap();
    assert_eq!(point.inclusion_block, first);
    assert_eq!(h.served_state().await, h.replay(first).encode());
    let (_, list) = h.control(reqwest::Method::GET, "/faults", "").await;
    assert_eq!(list, json!({"faults": ["freeze-finalized"]}));
    h.arm(&[]).await;
    assert_eq!(
        h.client.inclusion_block().await.unwrap().inclusion_block,
        second
    );
}

/// Arms `spec` at start, runs a deposit and a transfer, and returns the served snapshot with
/// the honest replay at the same block.
async fn replica_fault(spec: &str) -> (WalletSnapshot, WalletSnapshot) {
    let h = harness(|c| c.faults = vec![spec.parse().unwrap()]).await;
    let block = one_transfer(&h).await;
    let served = WalletSnapshot::decode(&h.served_state().await).unwrap();
    let honest = replay(&h.l1.inputs_up_to(block));
    assert_ne!(served, honest, "{spec}");
    assert_eq!(h.status().await["replica_faulted"], json!(true));
    (served, honest)
}

#[tokio::test]
async fn drop_deposit_skips_the_deposit_in_the_served_state() {
    let (served, honest) = replica_fault("drop-deposit").await;
    assert_eq!(
        honest.balance_of(address(ALICE)),
        Some(U256::from(1_000_000 - 38_276 - 1000))
    );
    assert_eq!(served.balance_of(address(ALICE)), None);
    assert_eq!(
        served.executed_input_count, 0,
        "no deposit, and the op cannot pay"
    );
}

#[tokio::test]
async fn wrong_fee_charges_another_fee_in_the_served_state() {
    let (served, honest) = replica_fault("wrong-fee:1").await;
    let seq = honest.sequencer_address;
    assert_eq!(honest.balance_of(seq), Some(fee_to_linear(1356)));
    assert_eq!(served.balance_of(seq), Some(fee_to_linear(1357)));
    assert_eq!(served.executed_input_count, honest.executed_input_count);
}

#[tokio::test]
async fn skip_op_leaves_the_op_out_of_the_served_state() {
    let (served, honest) = replica_fault("skip-op").await;
    assert_eq!(honest.nonce_of(address(ALICE)), Some(1));
    assert_eq!(served.nonce_of(address(ALICE)), None);
    assert_eq!(
        served.balance_of(address(ALICE)),
        Some(U256::from(1_000_000))
    );
    assert_eq!(served.executed_input_count + 1, honest.executed_input_count);
}

async fn status_and_code(h: &Harness, path: &str) -> (u16, Value) {
    let response = h.get(&h.seq.url(), path).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn unavailable_slow_and_stall_hold_back_the_chosen_routes() {
    let h = harness(|_| {}).await;
    h.arm(&["unavailable"]).await;
    for path in [
        "/finalized_state",
        "/finalized_state/digest",
        "/finalized_state/inclusion_block",
    ] {
        let (status, body) = status_and_code(&h, path).await;
        assert_eq!(
            (status, &body["code"]),
            (503, &json!("UNAVAILABLE")),
            "{path}"
        );
    }
    assert!(matches!(
        h.client.inclusion_block().await.unwrap_err(),
        Error::Unavailable { .. }
    ));
    assert_eq!(status_and_code(&h, "/fee").await.0, 200);
    h.arm(&["unavailable:all"]).await;
    assert_eq!(status_and_code(&h, "/fee").await.0, 503);

    h.arm(&["slow:300"]).await;
    let started = Instant::now();
    h.client.digest().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));

    h.arm(&["stall:/finalized_state/inclusion_block"]).await;
    let stalled = h
        .http
        .get(format!("{}/finalized_state/inclusion_block", h.seq.url()))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(stalled.unwrap_err().is_timeout());
    assert_eq!(status_and_code(&h, "/finalized_state/digest").await.0, 200);
    // A stalled request is answered once the fault is cleared.
    let url = format!("{}/finalized_state/inclusion_block", h.seq.url());
    let waiting = tokio::spawn({
        let http = h.http.clone();
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while !waiting.is_finished() && Instant::now() < deadline {
        let (status, _) = h.control(reqwest::Method::DELETE, "/faults", "").await;
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(waiting.await.unwrap(), 200);
}
