//! Small in-test upstreams for the proxy tests: a JSON-RPC node with a settable head and one
//! log per block, and an HTTP service with an ETag, an echo and a status route. Included by the
//! fault-proxy and devnet tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// What the fake node knows: its head and how many requests it answered.
#[derive(Debug, Default)]
pub(crate) struct NodeState {
    pub(crate) head: AtomicU64,
    pub(crate) requests: AtomicU64,
}

/// A running fake upstream; aborted on drop.
pub(crate) struct Fake<S> {
    pub(crate) url: String,
    pub(crate) state: Arc<S>,
    task: JoinHandle<()>,
}

impl<S> Drop for Fake<S> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve<S: Send + Sync + 'static>(app: Router, state: Arc<S>) -> Fake<S> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Fake { url, state, task }
}

/// A JSON-RPC node at head 100 (`safe` = head − 10, `finalized` = head − 20), chain 31337,
/// one log per block (`data` = `0xab`).
pub(crate) async fn node() -> Fake<NodeState> {
    let state = Arc::new(NodeState {
        head: AtomicU64::new(100),
        requests: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/", post(node_handler))
        .with_state(Arc::clone(&state));
    serve(app, state).await
}

fn hex(n: u64) -> String {
    format!("{n:#x}")
}

fn number(state: &NodeState, tag: &Value) -> u64 {
    let head = state.head.load(Ordering::SeqCst);
    match tag.as_str().unwrap_or("latest") {
        "latest" | "pending" => head,
        "safe" => head.saturating_sub(10),
        "finalized" => head.saturating_sub(20),
        "earliest" => 0,
        other => u64::from_str_radix(other.trim_start_matches("0x"), 16).unwrap_or(0),
    }
}

fn answer(state: &NodeState, request: &Value) -> Value {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let id = request["id"].clone();
    let params = &request["params"];
    let result = match request["method"].as_str().unwrap_or_default() {
        "eth_chainId" => json!("0x7a69"),
        "eth_blockNumber" => json!(hex(state.head.load(Ordering::SeqCst))),
        "eth_getBlockByNumber" => json!({"number": hex(number(state, &params[0]))}),
        "eth_getLogs" => {
            let from = number(state, &params[0]["fromBlock"]);
            let to = number(state, &params[0]["toBlock"]);
            let logs: Vec<Value> = (from..=to)
                .map(|b| json!({"blockNumber": hex(b), "data": "0xab", "topics": ["0x01"]}))
                .collect();
            json!(logs)
        }
        _ => {
            return json!({"jsonrpc": "2.0", "id": id,
                          "error": {"code": -32601, "message": "method not found"}});
        }
    };
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

async fn node_handler(State(state): State<Arc<NodeState>>, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = match request {
        Value::Array(items) => Value::Array(items.iter().map(|r| answer(&state, r)).collect()),
        request => answer(&state, &request),
    };
    ([("content-type", "application/json")], answer.to_string()).into_response()
}

/// The fake HTTP service's state.
#[derive(Debug, Default)]
pub(crate) struct ServiceState {
    pub(crate) requests: AtomicU64,
}

/// The JSON body of `GET /finalized_state`.
pub(crate) const STATE_BODY: &str = r#"{"block":7,"digest":"0x0123456789abcdef"}"#;

/// An HTTP service: `GET /finalized_state` (ETag `"v7"`, 304 on a match), `POST /echo`
/// (echoes query and body), `GET /status/{code}`.
pub(crate) async fn service() -> Fake<ServiceState> {
    let state = Arc::new(ServiceState::default());
    let app = Router::new()
        .route("/finalized_state", get(finalized_state))
        .route("/echo", post(echo))
        .route("/status/{code}", get(status))
        .with_state(Arc::clone(&state));
    serve(app, state).await
}

async fn finalized_state(State(state): State<Arc<ServiceState>>, headers: HeaderMap) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    if headers.get("if-none-match").is_some_and(|v| v == "\"v7\"") {
        return (StatusCode::NOT_MODIFIED, [("etag", "\"v7\"")]).into_response();
    }
    (
        [("content-type", "application/json"), ("etag", "\"v7\"")],
        STATE_BODY,
    )
        .into_response()
}

async fn echo(State(state): State<Arc<ServiceState>>, uri: Uri, body: Bytes) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let text = format!(
        "{}|{}",
        uri.query().unwrap_or_default(),
        String::from_utf8_lossy(&body)
    );
    ([("x-upstream", "yes")], text).into_response()
}

async fn status(
    State(state): State<Arc<ServiceState>>,
    axum::extract::Path(code): axum::extract::Path<u16>,
) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    StatusCode::from_u16(code).unwrap().into_response()
}
