//! Routes at genesis, both response shapes, CORS, and the `POST /tx` ingress order.

use alloy::primitives::{Bytes, hex};
use canonical::{WalletConfig, WalletSnapshot, recover_sender, signing_hash};
use devnet_sequencer::ResponseShape;
use sequencer_client::{Conditional, ETag, Error, InputCursor};
use serde_json::{Value, json};

use crate::fake_l1::APP;
use crate::support::{ALICE, BOB, address, harness, signed, transfer_to, tx_json};

fn genesis() -> Vec<u8> {
    WalletSnapshot::genesis(&WalletConfig::devnet()).encode()
}

#[tokio::test]
async fn genesis_is_comparable_at_once_in_the_newest_shape() {
    let h = harness(|_| {}).await;
    let point = h.client.inclusion_block().await.unwrap();
    assert_eq!(point.inclusion_block, 0);
    assert_eq!(point.cursor, InputCursor::ExecutedInputCount(0));

    let state = h.client.download_state(1 << 20, None).await.unwrap();
    let state = state.modified().unwrap();
    assert_eq!(state.bytes, genesis());
    assert_eq!(state.meta.inclusion_block, 0);
    assert_eq!(state.meta.cursor, Some(InputCursor::ExecutedInputCount(0)));
    assert_eq!(state.meta.etag.as_ref().unwrap().as_str(), "\"block-0\"");
    assert_eq!(state.meta.recovery_generation, Some(0));
    assert_eq!(state.meta.history_era.as_ref().unwrap().len(), 36);

    let digest = h.client.digest().await.unwrap();
    assert_eq!(digest.inclusion_block, 0);
    assert_eq!(digest.sha256, state.sha256);

    let same = ETag::new("\"block-0\"").unwrap();
    let other = ETag::new("\"block-7\"").unwrap();
    assert_eq!(
        h.client.download_state(1 << 20, Some(&same)).await.unwrap(),
        Conditional::NotModified
    );
    assert!(matches!(
        h.client
            .download_state(1 << 20, Some(&other))
            .await
            .unwrap(),
        Conditional::Modified(_)
    ));

    let raw = h.get(&h.seq.url(), "/finalized_state").await;
    assert_eq!(raw.headers()["content-type"], "application/octet-stream");
    assert!(
        raw.headers().get("content-length").is_none(),
        "the body is streamed"
    );

    let domain = h.client.domain().await.unwrap();
    assert_eq!(
        (domain.name.as_str(), domain.version.as_str()),
        ("CartesiAppSequencer", "1")
    );
    assert_eq!((domain.chain_id, domain.verifying_contract), (31337, APP));
    let fee = h.client.fee().await.unwrap();
    assert_eq!(
        (fee.fee, fee.recommended_fee, fee.suggested_max_fee),
        (1356, 1356, 1408)
    );
    let nonce = h.client.next_nonce(address(ALICE)).await.unwrap();
    assert_eq!((nonce.sender, nonce.next_nonce), (address(ALICE), 0));
    let raw = h.get(&h.seq.url(), "/nonce?sender=0x12").await;
    assert_eq!(raw.status(), 400);
    let body: Value = serde_json::from_str(&raw.text().await.unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"ok": false, "code": "BAD_REQUEST", "message": "expected ?sender=<0x-prefixed 20-byte hex address>"})
    );
    let raw = h.get(&h.seq.url(), "/fee").await;
    assert_eq!(raw.headers()["cache-control"], "no-store");
    assert_eq!(raw.headers()["access-control-allow-origin"], "*");

    let preflight = h
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/tx", h.seq.url()))
        .header("origin", "http://example.invalid")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    assert_eq!(preflight.headers()["access-control-max-age"], "3600");
    assert_eq!(
        preflight.headers()["access-control-allow-headers"],
        "content-type"
    );

    h.client.livez().await.unwrap();
    assert!(h.client.readyz().await.unwrap());
    let health = h.client.healthz().await.unwrap();
    assert!(health.ready);
    assert_eq!(
        (health.status.as_str(), health.inclusion_lane.as_str()),
        ("ok", "ok")
    );
    h.seq.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_legacy_shape_serves_l2_tx_index_and_no_digest() {
    let h = harness(|c| c.shape = ResponseShape::Legacy).await;
    let point = h.client.inclusion_block().await.unwrap();
    assert_eq!(point.cursor, InputCursor::L2TxIndex(0));
    let err = h.client.digest().await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    let state = h.client.download_state(1 << 20, None).await.unwrap();
    let state = state.modified().unwrap();
    assert_eq!(state.bytes, genesis());
    assert_eq!(state.meta.cursor, Some(InputCursor::L2TxIndex(0)));
    assert_eq!(state.meta.history_era, None);
    let raw = h
        .get(&h.seq.url(), "/finalized_state/inclusion_block")
        .await;
    let body: Value = serde_json::from_str(&raw.text().await.unwrap()).unwrap();
    assert_eq!(body, json!({"inclusion_block": 0, "l2_tx_index": 0}));
}

/// A signature that parses but whose `r` is not the x coordinate of a curve point.
fn unrecoverable_signature() -> Vec<u8> {
    let hash = signing_hash(
        31337,
        APP,
        &canonical::UserOp {
            nonce: 0,
            max_fee: 1400,
            data: Bytes::new(),
        },
    );
    (1u8..=255)
        .map(|r| {
            let mut sig = vec![0u8; 65];
            sig[31] = r;
            sig[63] = 1;
            sig[64] = 27;
            sig
        })
        .find(|sig| recover_sender(&hash, sig).is_none())
        .unwrap()
}

#[tokio::test]
async fn post_tx_checks_in_the_reference_order_with_the_reference_messages() {
    let h = harness(|_| {}).await;
    let good = signed(ALICE, 0, 1400, &transfer_to(BOB, 5));
    let body = |edit: &dyn Fn(&mut Value)| {
        let mut value = tx_json(&good);
        edit(&mut value);
        value.to_string()
    };
    let sig_hex = |sig: &[u8]| format!("0x{}", hex::encode(sig));
    let mut high_v = good.signature.to_vec();
    high_v[64] = 5;
    let mut zero_r = good.signature.to_vec();
    zero_r[..32].fill(0);
    let unrecoverable = unrecoverable_signature();
    let empty_data = json!({"nonce": 0, "max_fee": 1400, "data": "0x"});

    let json_type = Some("application/json");
    let cases: Vec<(Option<&str>, String, u16, &str, String)> = vec![
        (
            None,
            body(&|_| {}),
            400,
            "BAD_REQUEST",
            "missing content type".into(),
        ),
        (
            Some("text/plain"),
            body(&|_| {}),
            400,
            "BAD_REQUEST",
            "missing content type".into(),
        ),
        (
            json_type,
            "x".repeat(5000),
            413,
            "PAYLOAD_TOO_LARGE",
            "request body too large".into(),
        ),
        (
            json_type,
            "{".into(),
            400,
            "BAD_REQUEST",
            "invalid JSON".into(),
        ),
        (
            json_type,
            body(&|v| v["message"]["nonce"] = json!(-1)),
            400,
            "BAD_REQUEST",
            "invalid JSON".into(),
        ),
        (
            json_type,
            body(&|v| v["message"]["max_fee"] = json!(70000)),
            400,
            "BAD_REQUEST",
            "invalid JSON".into(),
        ),
        (
            json_type,
            body(&|v| v["signature"] = json!("0x12")),
            400,
            "BAD_REQUEST",
            "signature must be 132 hex chars (0x + 65 bytes)".into(),
        ),
        (
            json_type,
            body(&|v| v["sender"] = json!("0x12")),
            400,
            "BAD_REQUEST",
            "sender must be 42 hex chars (0x + 20 bytes)".into(),
        ),
        (
            json_type,
            body(&|v| v["message"]["data"] = json!(format!("0x{}", "00".repeat(54)))),
            400,
            "BAD_REQUEST",
            "user op payload too large: max 53 bytes, got 54 bytes".into(),
        ),
        (
            json_type,
            body(&|v| v["signature"] = json!(format!("00{}", &sig_hex(&good.signature)[2..]))),
            400,
            "BAD_REQUEST",
            "hex string must start with 0x".into(),
        ),
        (
            json_type,
            body(&|v| v["sender"] = json!(format!("0X{}", &v["sender"].as_str().unwrap()[2..]))),
            400,
            "BAD_REQUEST",
            "hex string must start with 0x".into(),
        ),
        (
            json_type,
            body(&|v| v["signature"] = json!(format!("0xzz{}", &sig_hex(&good.signature)[4..]))),
            400,
            "BAD_REQUEST",
            "invalid hex: ".into(),
        ),
        (
            json_type,
            body(&|v| v["signature"] = json!(sig_hex(&high_v))),
            400,
            "INVALID_SIGNATURE",
            "invalid signature parity".into(),
        ),
        (
            json_type,
            body(&|v| v["signature"] = json!(sig_hex(&zero_r))),
            400,
            "INVALID_SIGNATURE",
            "invalid signature".into(),
        ),
        (
            json_type,
            body(&|v| {
                v["signature"] = json!(sig_hex(&unrecoverable));
                v["message"] = empty_data.clone();
            }),
            400,
            "INVALID_SIGNATURE",
            "cannot recover sender".into(),
        ),
        (
            json_type,
            body(&|v| v["sender"] = json!(address(BOB))),
            400,
            "INVALID_SIGNATURE",
            "sender mismatch".into(),
        ),
        (
            json_type,
            tx_json(&signed(ALICE, 0, 1000, &transfer_to(BOB, 5))).to_string(),
            422,
            "EXECUTION_REJECTED",
            "max fee 1000 below base fee 1356".into(),
        ),
        (
            json_type,
            tx_json(&signed(ALICE, 3, 1400, &transfer_to(BOB, 5))).to_string(),
            422,
            "EXECUTION_REJECTED",
            "bad nonce: expected 0, got 3".into(),
        ),
        (
            Some("application/json; charset=utf-8"),
            body(&|_| {}),
            422,
            "EXECUTION_REJECTED",
            "insufficient balance for fee: required 38276, available 0".into(),
        ),
    ];
    for (content_type, request, status, code, message) in cases {
        let (got_status, answer) = h.post_tx(content_type, request.clone()).await;
        let context = format!("{request:.80} → {answer}");
        assert_eq!(got_status, status, "{context}");
        assert_eq!(answer["ok"], json!(false), "{context}");
        assert_eq!(answer["code"], json!(code), "{context}");
        let text = answer["message"].as_str().unwrap();
        if message.ends_with(": ") {
            assert!(text.starts_with(&message), "{context}");
        } else {
            assert_eq!(text, message, "{context}");
        }
    }
    // Nothing was executed.
    assert_eq!(
        h.client
            .next_nonce(address(ALICE))
            .await
            .unwrap()
            .next_nonce,
        0
    );
    assert_eq!(h.status().await["open_batch"]["ops"], json!(0));
}
