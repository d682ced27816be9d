//! Deposits, transfers, batches and finalized checkpoints against a canonical replay of the
//! fake L1; divergence, re-submission and restarts.

use alloy::primitives::{Address, U256};
use canonical::{Batch, WalletSnapshot};
use sequencer_client::{Conditional, ETag, Error, InputCursor};
use serde_json::json;

use crate::support::{
    ALICE, BOB, FEE, address, config_for, harness, on, replay, settle, signed, transfer_to,
};

#[tokio::test]
async fn a_transfer_is_finalized_exactly_as_the_canonical_machine_computes_it() {
    let h = harness(|_| {}).await;
    // A direct input that is not a deposit: ignored by the wallet, counted all the same.
    h.l1.direct(Address::repeat_byte(0x42), b"hello");
    h.fund(ALICE, 1_000_000).await;
    h.transfer(ALICE, BOB, 1000, 0).await;
    assert_eq!(
        h.client
            .next_nonce(address(ALICE))
            .await
            .unwrap()
            .next_nonce,
        1
    );
    // The same nonce again is a 422 now.
    let again = h
        .client
        .submit_tx(&signed(ALICE, 0, 1400, &transfer_to(BOB, 1)))
        .await
        .unwrap_err();
    assert!(
        matches!(&again, Error::Rejected { status: 422, api, .. } if api.message == "bad nonce: expected 1, got 0"),
        "{again}"
    );

    let block = h.finalize_past(0).await;
    let served = h.served_state().await;
    let expected = h.replay(block);
    assert_eq!(served, expected.encode(), "byte-identical to the replay");
    let snapshot = WalletSnapshot::decode(&served).unwrap();
    assert_eq!(
        snapshot.balance_of(address(ALICE)),
        Some(U256::from(1_000_000 - FEE - 1000))
    );
    assert_eq!(snapshot.balance_of(address(BOB)), Some(U256::from(1000)));
    assert_eq!(
        snapshot.balance_of(snapshot.sequencer_address),
        Some(U256::from(FEE))
    );
    assert_eq!(snapshot.nonce_of(address(ALICE)), Some(1));
    assert_eq!(snapshot.executed_input_count, 3);

    let point = h.client.inclusion_block().await.unwrap();
    assert_eq!(point.inclusion_block, block);
    assert_eq!(point.cursor, InputCursor::ExecutedInputCount(3));
    let digest = h.client.digest().await.unwrap();
    assert_eq!(digest.sha256, snapshot.digest());
    let tag = ETag::new(format!("\"block-{block}\"")).unwrap();
    assert_eq!(
        h.client.download_state(1 << 20, Some(&tag)).await.unwrap(),
        Conditional::NotModified
    );
    let status = h.status().await;
    assert_eq!(status["batches"]["accepted"], json!(1));
    assert_eq!(status["divergence"], json!(null));
}

#[tokio::test]
async fn the_batch_op_limit_and_the_close_request_seal_batches() {
    let h = harness(|c| {
        c.batch_max_ops = 2;
        c.batch_interval = std::time::Duration::from_secs(3600);
    })
    .await;
    h.fund(ALICE, 10_000_000).await;
    h.transfer(ALICE, BOB, 1, 0).await;
    assert_eq!(h.status().await["batches"]["sealed"], json!(0));
    h.transfer(ALICE, BOB, 1, 1).await;
    assert_eq!(
        h.status().await["batches"]["sealed"],
        json!(1),
        "two ops seal"
    );
    h.transfer(ALICE, BOB, 1, 2).await;
    let (status, answer) = h.control(reqwest::Method::POST, "/batches/close", "").await;
    assert_eq!((status, answer), (200, json!({"sealed": true})));
    let (_, answer) = h.control(reqwest::Method::POST, "/batches/close", "").await;
    assert_eq!(answer, json!({"sealed": false}), "nothing left to seal");
    settle(&h.l1, "both batches accepted", || async {
        h.status().await["batches"]["accepted"] == json!(2)
    })
    .await;
    let block = h.finalize_past(0).await;
    assert_eq!(h.served_state().await, h.replay(block).encode());
}

#[tokio::test]
async fn a_foreign_batch_from_the_submitter_marks_divergence() {
    let h = harness(|_| {}).await;
    let submitter = canonical::WalletConfig::devnet().sequencer_address;
    let foreign = Batch {
        nonce: 0,
        frames: Vec::new(),
    };
    h.l1.direct(submitter, &foreign.encode());
    settle(&h.l1, "the divergence marker", || async {
        h.status().await["divergence"] != json!(null)
    })
    .await;
    for path in [
        "/finalized_state",
        "/finalized_state/inclusion_block",
        "/finalized_state/digest",
    ] {
        let response = h.get(&h.seq.url(), path).await;
        assert_eq!(response.status(), 503, "{path}");
        let body: serde_json::Value =
            serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(body["code"], json!("UNAVAILABLE"), "{path}");
    }
    let err = h.client.inclusion_block().await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert!(h.client.fee().await.is_ok(), "the user API keeps serving");
}

#[tokio::test]
async fn a_forgotten_batch_transaction_is_sent_again() {
    let h = harness(|c| c.resubmit_after_blocks = 2).await;
    h.fund(ALICE, 1_000_000).await;
    h.transfer(ALICE, BOB, 7, 0).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.l1.sends() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "batch never sent");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(h.l1.drop_pending(), 1);
    let block = h.finalize_past(0).await;
    assert!(h.l1.sends() >= 2);
    assert_eq!(h.status().await["batches"]["resent"], json!(1));
    assert_eq!(h.served_state().await, h.replay(block).encode());
}

#[tokio::test]
async fn a_restart_serves_the_same_finalized_state() {
    let dir = tempfile::tempdir().unwrap();
    let h = harness(|c| {
        c.state_dir = Some(dir.path().to_owned());
        c.faults = vec!["wrong-fee:1".parse().unwrap()];
    })
    .await;
    h.fund(ALICE, 1_000_000).await;
    h.transfer(ALICE, BOB, 10, 0).await;
    let block = h.finalize_past(0).await;
    let faulty = h.served_state().await;
    assert_ne!(
        faulty,
        h.replay(block).encode(),
        "wrong-fee changed the served state"
    );
    let crate::support::Harness { l1, seq, .. } = h;
    seq.shutdown().await.unwrap();

    // Same state dir, no faults: the persisted (faulty) replica is resumed.
    let mut config = config_for(&l1);
    config.state_dir = Some(dir.path().to_owned());
    let h = on(l1, config).await;
    assert_eq!(h.checkpoint_block().await, block);
    assert_eq!(h.served_state().await, faulty);
    assert_eq!(
        h.client
            .next_nonce(address(ALICE))
            .await
            .unwrap()
            .next_nonce,
        1,
        "the lane is rebuilt from L1"
    );
    let crate::support::Harness { l1, seq, .. } = h;
    seq.shutdown().await.unwrap();

    // No state dir: rebuilt from L1, honest.
    let config = config_for(&l1);
    let h = on(l1, config).await;
    assert_eq!(h.checkpoint_block().await, block);
    assert_eq!(
        h.served_state().await,
        replay(&h.l1.inputs_up_to(block)).encode()
    );
}
