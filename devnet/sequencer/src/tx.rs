//! `POST /tx` (`protocol.md` §6.2): ingress checks in the reference order, sender recovery,
//! then validation and soft execution in the lane.

use std::sync::Arc;
use std::time::Instant;

use alloy::primitives::{Address, Bytes, U256, hex};
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use canonical::{SIGNATURE_LEN, UserOp, recover_sender, signing_hash};
use serde::Deserialize;
use serde_json::json;

use super::frames::OpError;
use super::node::Shared;
use super::reply::{ApiError, Code, json_response};

/// Largest request body.
pub(crate) const MAX_TX_BODY: usize = 4096;
/// `MAX_METHOD_PAYLOAD_BYTES`.
pub(crate) const MAX_METHOD_PAYLOAD_BYTES: usize = 53;

/// secp256k1 group order `n`.
const CURVE_ORDER: U256 = U256::from_limbs([
    0xBFD2_5E8C_D036_4141,
    0xBAAE_DCE6_AF48_A03B,
    0xFFFF_FFFF_FFFF_FFFE,
    0xFFFF_FFFF_FFFF_FFFF,
]);

#[derive(Deserialize)]
struct WireTx {
    message: WireMessage,
    signature: String,
    sender: String,
}

#[derive(Deserialize)]
struct WireMessage {
    nonce: u32,
    max_fee: u16,
    data: Bytes,
}

/// A request that passed the ingress checks.
#[derive(Debug)]
pub(crate) struct SignedOp {
    pub(crate) sender: Address,
    pub(crate) op: UserOp,
    pub(crate) signature: Bytes,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::BadRequest, message)
}

fn invalid_signature(message: &str) -> ApiError {
    ApiError::new(Code::InvalidSignature, message)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// `0x`-prefixed hex.
fn parse_hex(text: &str) -> Result<Vec<u8>, ApiError> {
    let digits = text
        .strip_prefix("0x")
        .ok_or_else(|| bad("hex string must start with 0x"))?;
    hex::decode(digits).map_err(|e| bad(format!("invalid hex: {e}")))
}

/// Steps 1–7 of §6.2 for a request to application `app` on chain `chain_id`.
pub(crate) async fn ingress(
    headers: &HeaderMap,
    body: Body,
    chain_id: u64,
    app: Address,
) -> Result<SignedOp, ApiError> {
    if !is_json(headers) {
        return Err(bad("missing content type"));
    }
    let too_large = || ApiError::new(Code::PayloadTooLarge, "request body too large");
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_TX_BODY as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, MAX_TX_BODY)
        .await
        .map_err(|_| too_large())?;
    let wire: WireTx = serde_json::from_slice(&bytes).map_err(|_| bad("invalid JSON"))?;
    if wire.signature.len() != 2 + 2 * SIGNATURE_LEN {
        return Err(bad("signature must be 132 hex chars (0x + 65 bytes)"));
    }
    if wire.sender.len() != 42 {
        return Err(bad("sender must be 42 hex chars (0x + 20 bytes)"));
    }
    let data = wire.message.data;
    if data.len() > MAX_METHOD_PAYLOAD_BYTES {
        return Err(bad(format!(
            "user op payload too large: max {MAX_METHOD_PAYLOAD_BYTES} bytes, got {} bytes",
            data.len()
        )));
    }
    let signature = parse_hex(&wire.signature)?;
    let sender = Address::from_slice(&parse_hex(&wire.sender)?);
    let v = signature[64];
    if !matches!(v, 0 | 1 | 27 | 28) && v < 35 {
        return Err(invalid_signature("invalid signature parity"));
    }
    let r = U256::from_be_slice(&signature[..32]);
    let s = U256::from_be_slice(&signature[32..64]);
    if r.is_zero() || s.is_zero() || r >= CURVE_ORDER || s >= CURVE_ORDER {
        return Err(invalid_signature("invalid signature"));
    }
    let op = UserOp {
        nonce: wire.message.nonce,
        max_fee: wire.message.max_fee,
        data,
    };
    let recovered = recover_sender(&signing_hash(chain_id, app, &op), &signature)
        .ok_or_else(|| invalid_signature("cannot recover sender"))?;
    if recovered != sender {
        return Err(invalid_signature("sender mismatch"));
    }
    Ok(SignedOp {
        sender,
        op,
        signature: signature.into(),
    })
}

/// The `POST /tx` handler.
pub(crate) async fn submit(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let signed = match ingress(&headers, body, shared.chain_id, shared.app).await {
        Ok(signed) => signed,
        Err(err) => return err.into_response(),
    };
    if shared.is_shutting_down() {
        return ApiError::new(Code::Unavailable, "sequencer shutting down").into_response();
    }
    let sender = signed.sender;
    let (result, sealed) = {
        let mut node = shared.lock();
        let result = node.lane.include(sender, signed.op, signed.signature);
        let sealed = result.is_ok() && node.seal_if_due(Instant::now());
        (result, sealed)
    };
    if sealed {
        shared.wake.notify_one();
    }
    match result {
        Ok(nonce) => json_response(
            StatusCode::OK,
            &json!({"ok": true, "sender": sender.to_checksum(None), "nonce": nonce}),
        ),
        Err(OpError::Rejected(rejection)) => {
            ApiError::new(Code::ExecutionRejected, rejection.to_string()).into_response()
        }
        Err(OpError::Fatal(fatal)) => {
            tracing::error!(target: "devnet::sequencer", %fatal, "op cannot execute");
            ApiError::new(Code::InternalError, "inclusion lane unavailable").into_response()
        }
    }
}
