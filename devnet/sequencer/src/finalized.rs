//! The finalized-state routes (`protocol.md` §6.4), in the newest or the legacy shape, with the
//! served-state faults (`tamper-state`, `tamper-body`, `regress-inclusion`,
//! `freeze-finalized`) applied.

use std::convert::Infallible;
use std::sync::Arc;

use alloy::primitives::{Bytes, hex};
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::config::ResponseShape;
use super::faults::flip_byte;
use super::node::Shared;
use super::replica::sha256;
use super::reply::{ApiError, Code, json_response};

/// What one finalized request serves.
struct Served {
    inclusion_block: u64,
    executed_input_count: u64,
    /// The state bytes the digest covers.
    state: Bytes,
    /// The `/finalized_state` body (differs from `state` under `tamper-body`).
    body: Bytes,
}

impl Served {
    fn etag(&self) -> String {
        format!("\"block-{}\"", self.inclusion_block)
    }
}

/// The checkpoint to serve, or the refusal (divergence marker → 503).
fn served(shared: &Shared) -> Result<Served, ApiError> {
    let node = shared.lock();
    if let Some(why) = &node.replica.divergence {
        return Err(ApiError::new(
            Code::Unavailable,
            format!("finalized history diverges from local batches: {why}"),
        ));
    }
    let checkpoint = match node.faults.frozen() {
        Some(len) => node
            .replica
            .checkpoint_back_from(len, node.faults.regress()),
        None => node.replica.checkpoint_back(node.faults.regress()),
    };
    let mut state = checkpoint.bytes.to_vec();
    if let Some(offset) = node.faults.tamper_state() {
        flip_byte(&mut state, offset);
    }
    let mut body = state.clone();
    if let Some(offset) = node.faults.tamper_body() {
        flip_byte(&mut body, offset);
    }
    Ok(Served {
        inclusion_block: checkpoint.inclusion_block,
        executed_input_count: checkpoint.executed_input_count,
        state: state.into(),
        body: body.into(),
    })
}

fn number(n: u64) -> HeaderValue {
    HeaderValue::from(n)
}

/// `GET /finalized_state/inclusion_block`.
pub(crate) async fn inclusion_block(State(shared): State<Arc<Shared>>) -> Response {
    let served = match served(&shared) {
        Ok(served) => served,
        Err(refusal) => return refusal.into_response(),
    };
    let value = match shared.shape {
        ResponseShape::Newest => json!({
            "inclusion_block": served.inclusion_block,
            "executed_input_count": served.executed_input_count,
        }),
        ResponseShape::Legacy => json!({
            "inclusion_block": served.inclusion_block,
            "l2_tx_index": served.executed_input_count,
        }),
    };
    json_response(StatusCode::OK, &value)
}

/// `GET /finalized_state/digest` (absent, 404, in the legacy shape).
pub(crate) async fn digest(State(shared): State<Arc<Shared>>) -> Response {
    if shared.shape == ResponseShape::Legacy {
        return StatusCode::NOT_FOUND.into_response();
    }
    let served = match served(&shared) {
        Ok(served) => served,
        Err(refusal) => return refusal.into_response(),
    };
    json_response(
        StatusCode::OK,
        &json!({
            "inclusion_block": served.inclusion_block,
            "executed_input_count": served.executed_input_count,
            "sha256": hex::encode(sha256(&served.state)),
        }),
    )
}

/// `GET /finalized_state`: the snapshot bytes, streamed (no `Content-Length`).
pub(crate) async fn state(State(shared): State<Arc<Shared>>, request: HeaderMap) -> Response {
    let served = match served(&shared) {
        Ok(served) => served,
        Err(refusal) => return refusal.into_response(),
    };
    let etag = served.etag();
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, value);
    }
    let unchanged = request
        .get(IF_NONE_MATCH)
        .is_some_and(|tag| tag.as_bytes() == etag.as_bytes());
    if unchanged {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        HeaderName::from_static("x-inclusion-block"),
        number(served.inclusion_block),
    );
    match shared.shape {
        ResponseShape::Newest => {
            headers.insert(
                HeaderName::from_static("x-executed-input-count"),
                number(served.executed_input_count),
            );
            if let Ok(era) = HeaderValue::from_str(&shared.era) {
                headers.insert(HeaderName::from_static("x-history-era"), era);
            }
            headers.insert(HeaderName::from_static("x-recovery-generation"), number(0));
        }
        ResponseShape::Legacy => {
            headers.insert(
                HeaderName::from_static("x-l2-tx-index"),
                number(served.executed_input_count),
            );
        }
    }
    let chunk = futures_util::stream::once(std::future::ready(Ok::<_, Infallible>(served.body)));
    (StatusCode::OK, headers, Body::from_stream(chunk)).into_response()
}
