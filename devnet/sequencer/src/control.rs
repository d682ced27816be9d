//! The control API, on its own loopback listener (never the public port).
//!
//! | Route | Body | Effect |
//! |---|---|---|
//! | `GET /faults` | — | `{"faults": [spec…]}`: the armed faults with their remaining counts |
//! | `POST /faults` | `{"set": [spec…]}` or `{"add": [spec…]}` | replace or extend the armed faults; answers like `GET` |
//! | `DELETE /faults` | — | disarm every fault; answers like `GET` |
//! | `POST /batches/close` | — | seal the open batch now if it holds anything |
//! | `GET /status` | — | safe block, input cursor, open batch, batches sealed/sent, checkpoint, divergence |
//!
//! A bad spec answers `400 {"ok": false, "code": "BAD_REQUEST", "message"}` and changes nothing.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::faults::Fault;
use super::node::Shared;
use super::reply::{ApiError, Code, json_response};

/// `POST /faults` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultChange {
    #[serde(default)]
    set: Option<Vec<String>>,
    #[serde(default)]
    add: Option<Vec<String>>,
}

/// The control router.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/faults",
            get(list_faults).post(change_faults).delete(clear_faults),
        )
        .route("/batches/close", post(close_batch))
        .route("/status", get(status))
        .with_state(shared)
}

fn fault_list(shared: &Shared) -> Response {
    let faults: Vec<String> = shared
        .lock()
        .faults
        .list()
        .iter()
        .map(Fault::to_string)
        .collect();
    json_response(StatusCode::OK, &json!({"faults": faults}))
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Response {
    fault_list(&shared)
}

async fn change_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let change: FaultChange = match serde_json::from_slice(&body) {
        Ok(change) => change,
        Err(e) => {
            return ApiError::new(
                Code::BadRequest,
                format!("expected {{\"set\": [spec…]}} or {{\"add\": [spec…]}}: {e}"),
            )
            .into_response();
        }
    };
    let (specs, replace) = match (change.set, change.add) {
        (Some(specs), None) => (specs, true),
        (None, Some(specs)) => (specs, false),
        _ => {
            return ApiError::new(Code::BadRequest, "give exactly one of \"set\" and \"add\"")
                .into_response();
        }
    };
    let parsed: Result<Vec<Fault>, _> = specs.iter().map(|spec| spec.parse()).collect();
    match parsed {
        Ok(faults) => {
            shared.lock().set_faults(faults, replace);
            shared.notify_changed();
            fault_list(&shared)
        }
        Err(e) => ApiError::new(Code::BadRequest, e.to_string()).into_response(),
    }
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.lock().set_faults(Vec::new(), true);
    shared.notify_changed();
    fault_list(&shared)
}

async fn close_batch(State(shared): State<Arc<Shared>>) -> Response {
    let sealed = {
        let mut node = shared.lock();
        node.lane.request_close();
        node.seal_if_due(Instant::now())
    };
    if sealed {
        shared.wake.notify_one();
    }
    json_response(StatusCode::OK, &json!({"sealed": sealed}))
}

async fn status(State(shared): State<Arc<Shared>>) -> Response {
    let node = shared.lock();
    let (nonce, frames, ops) = node.lane.open_batch();
    let checkpoint = node.replica.checkpoint();
    let value = json!({
        "safe_block": node.safe_block,
        "scanned_block": node.replica.scanned_block,
        "next_input_index": node.replica.next_index,
        "open_batch": {
            "nonce": nonce,
            "frames": frames,
            "ops": ops,
            "safe_block": node.lane.frame_safe_block(),
            "fee": node.lane.fee(),
        },
        "batches": {
            "sealed": node.sealed,
            "sent": node.submit.sent,
            "resent": node.submit.resent,
            "in_flight": node.submit.in_flight + node.outbox.len(),
            "accepted": node.replica.expected,
        },
        "checkpoint": {
            "inclusion_block": checkpoint.inclusion_block,
            "executed_input_count": checkpoint.executed_input_count,
        },
        "replica_faulted": node.replica.is_faulted(),
        "divergence": node.replica.divergence,
        "l1_error": node.l1_error,
        "faults": node.faults.list().iter().map(Fault::to_string).collect::<Vec<_>>(),
        "held_requests": shared.held.load(std::sync::atomic::Ordering::SeqCst),
    });
    drop(node);
    json_response(StatusCode::OK, &value)
}
