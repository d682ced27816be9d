//! An in-process sequencer double on 127.0.0.1 serving the finalized-state routes the watchdog
//! reads: the cheap poll in both response shapes, the digest route (or a 404 where a build has
//! none), the state download with its headers, and chosen failure statuses.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use sha2::{Digest, Sha256};

use super::spawn_server;

/// The second field of the poll answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `executed_input_count` / `X-Executed-Input-Count`.
    Executed,
    /// The legacy `l2_tx_index` / `X-L2-Tx-Index`.
    Legacy,
}

/// What the double serves; tests change it between ticks.
#[derive(Debug, Clone)]
pub struct Served {
    /// The finalized inclusion block.
    pub block: u64,
    /// Inputs executed up to it.
    pub count: u64,
    /// The state bytes.
    pub state: Vec<u8>,
    /// The poll's response shape.
    pub shape: Shape,
    /// Whether `/finalized_state/digest` exists.
    pub digest_route: bool,
    /// A status every finalized-state route answers with instead (404, 503, …).
    pub status: Option<u16>,
}

impl Served {
    /// `state` at `block` after `count` inputs, newest shape, digest route present.
    pub fn at(block: u64, count: u64, state: Vec<u8>) -> Self {
        Self {
            block,
            count,
            state,
            shape: Shape::Executed,
            digest_route: true,
            status: None,
        }
    }
}

/// A running double.
#[derive(Debug, Clone)]
pub struct FakeSequencer {
    /// Where it listens.
    pub addr: SocketAddr,
    served: Arc<Mutex<Served>>,
}

impl FakeSequencer {
    /// Starts serving `served` on an ephemeral loopback port for the rest of the process.
    pub fn start(served: Served) -> Self {
        let served = Arc::new(Mutex::new(served));
        let router = Router::new()
            .route("/finalized_state/inclusion_block", get(poll))
            .route("/finalized_state/digest", get(digest))
            .route("/finalized_state", get(download))
            .with_state(served.clone());
        Self {
            addr: spawn_server(router),
            served,
        }
    }

    /// The base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes what is served.
    pub fn set(&self, change: impl FnOnce(&mut Served)) {
        change(&mut self.served.lock().expect("served lock"));
    }
}

type Shared = State<Arc<Mutex<Served>>>;

fn failure(served: &Served) -> Option<Response> {
    let status = StatusCode::from_u16(served.status?).expect("an HTTP status");
    Some((status, format!("{{\"error\":\"{}\"}}", status.as_u16())).into_response())
}

fn json(body: String) -> Response {
    ([("content-type", "application/json")], body).into_response()
}

async fn poll(State(served): Shared) -> Response {
    let served = served.lock().expect("served lock").clone();
    if let Some(response) = failure(&served) {
        return response;
    }
    let field = match served.shape {
        Shape::Executed => "executed_input_count",
        Shape::Legacy => "l2_tx_index",
    };
    json(format!(
        "{{\"inclusion_block\":{},\"{field}\":{}}}",
        served.block, served.count
    ))
}

async fn digest(State(served): Shared) -> Response {
    let served = served.lock().expect("served lock").clone();
    if let Some(response) = failure(&served) {
        return response;
    }
    if !served.digest_route {
        return (StatusCode::NOT_FOUND, "no such route").into_response();
    }
    json(format!(
        "{{\"inclusion_block\":{},\"executed_input_count\":{},\"sha256\":\"{}\"}}",
        served.block,
        served.count,
        hex::encode(Sha256::digest(&served.state))
    ))
}

async fn download(State(served): Shared) -> Response {
    let served = served.lock().expect("served lock").clone();
    if let Some(response) = failure(&served) {
        return response;
    }
    let mut headers = HeaderMap::new();
    headers.insert("x-inclusion-block", HeaderValue::from(served.block));
    let count_header = match served.shape {
        Shape::Executed => "x-executed-input-count",
        Shape::Legacy => "x-l2-tx-index",
    };
    headers.insert(count_header, HeaderValue::from(served.count));
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/octet-stream"),
    );
    (headers, served.state).into_response()
}
