//! A loopback JSON-RPC proxy in front of an L1 node that refuses `eth_getLogs` ranges the way
//! hosted providers do, and records every request so tests can check how a client scanned.
//!
//! anvil answers any `eth_getLogs` range; hosted providers cap the block span or the number of
//! results and answer with provider-specific errors. The proxy reproduces that: with
//! [`GetLogsCap::max_range`] a range wider than the cap is refused without reaching the node;
//! with [`GetLogsCap::max_results`] the request is forwarded and a result with more logs than
//! the cap is replaced by the error. Block tags are resolved at the node. Batches are handled
//! element by element; every other method passes through unchanged.
//!
//! Further actions reproduce other provider failures: an HTTP status for every request
//! ([`ProxyRules::http_status`]), a body that is not JSON ([`ProxyRules::invalid_json`]), a
//! JSON-RPC error for one method ([`ProxyRules::rpc_error_for`]), another chain id
//! ([`ProxyRules::chain_id`]) and a head that lags behind the node ([`ProxyRules::head_lag`]).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::range::BlockRange;

mod cap;

use cap::fitting_prefix;
pub use cap::{GetLogsCap, RangeErrorProfile};

/// What the proxy does to requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyRules {
    /// The `eth_getLogs` cap, if any.
    pub get_logs_cap: Option<GetLogsCap>,
    /// Answer every request with this HTTP status and, if given, this `Retry-After` (seconds);
    /// nothing reaches the node.
    pub http_status: Option<(u16, Option<u64>)>,
    /// Answer every request for this method with this JSON-RPC error code and message; the node
    /// is not asked.
    pub rpc_error_for: Option<(String, i64, String)>,
    /// Answer `eth_chainId` with this chain id.
    pub chain_id: Option<u64>,
    /// Answer `eth_getBlockByNumber` for `latest`, `safe` and `finalized` with the block this
    /// many below the tagged one (block 0 at least), as a node behind the chain would.
    pub head_lag: Option<u64>,
    /// Answer every request with a body that is not JSON (HTTP 200).
    pub invalid_json: bool,
}

/// What happened to one JSON-RPC request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyOutcome {
    /// Forwarded; the node answered with a result.
    Forwarded,
    /// Refused by the proxy with this JSON-RPC error code.
    Refused {
        /// The error code sent to the client.
        code: i64,
    },
    /// Forwarded; the node answered with an error.
    NodeError {
        /// The node's error code.
        code: i64,
    },
    /// The node could not be reached or answered something that is not JSON.
    Unreachable,
    /// Answered by the proxy with this HTTP status (no JSON-RPC answer).
    HttpStatus {
        /// The HTTP status sent to the client.
        status: u16,
    },
    /// Answered by the proxy with a body that is not JSON.
    InvalidJson,
    /// Forwarded; the proxy rewrote the node's answer (chain id or lagging head).
    Rewritten,
}

/// One recorded JSON-RPC request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyEntry {
    /// Arrival order, from 0.
    pub seq: u64,
    /// The JSON-RPC method.
    pub method: String,
    /// For `eth_getLogs`: the requested range with tags resolved.
    pub range: Option<BlockRange>,
    /// For `eth_getLogs`: the number of logs the node returned (also when refused for it).
    pub result_count: Option<usize>,
    /// What the proxy did.
    pub outcome: ProxyOutcome,
}

struct Shared {
    upstream: reqwest::Url,
    client: reqwest::Client,
    rules: Mutex<ProxyRules>,
    log: Mutex<Vec<ProxyEntry>>,
}

/// A running proxy on `127.0.0.1:<ephemeral>`. Dropping it stops the server.
#[derive(Debug)]
pub struct RpcProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("upstream", &self.upstream.as_str())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values stay consistent even if a holder panicked (plain pushes and swaps).
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RpcProxy {
    /// Starts a proxy in front of `upstream` (an HTTP JSON-RPC endpoint).
    pub async fn start(upstream: &str, rules: ProxyRules) -> Result<Self> {
        let upstream: reqwest::Url = upstream
            .parse()
            .with_context(|| format!("parsing upstream URL {upstream:?}"))?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .context("building the proxy's HTTP client")?;
        let shared = Arc::new(Shared {
            upstream,
            client,
            rules: Mutex::new(rules),
            log: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding the proxy on 127.0.0.1")?;
        let addr = listener.local_addr().context("reading the proxy address")?;
        let app = Router::new()
            .route("/", post(handle))
            .with_state(Arc::clone(&shared));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            shared,
            shutdown: Some(shutdown),
            task,
        })
    }

    /// The proxy's endpoint, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The proxy's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the rules (takes effect for the next request).
    pub fn set_rules(&self, rules: ProxyRules) {
        *lock(&self.shared.rules) = rules;
    }

    /// A copy of every request recorded so far.
    pub fn entries(&self) -> Vec<ProxyEntry> {
        lock(&self.shared.log).clone()
    }

    /// The recorded `eth_getLogs` requests.
    pub fn get_logs_entries(&self) -> Vec<ProxyEntry> {
        lock(&self.shared.log)
            .iter()
            .filter(|e| e.method == "eth_getLogs")
            .cloned()
            .collect()
    }

    /// The ranges of the `eth_getLogs` requests that returned logs, in arrival order.
    pub fn served_get_logs_ranges(&self) -> Vec<BlockRange> {
        self.get_logs_entries()
            .into_iter()
            .filter(|e| e.outcome == ProxyOutcome::Forwarded)
            .filter_map(|e| e.range)
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_entries(&self) {
        lock(&self.shared.log).clear();
    }
}

impl Drop for RpcProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.abort();
    }
}

/// A body cut short inside a JSON object.
const INVALID_JSON: &str = r#"{"jsonrpc":"2.0","id":1,"result":"#;

async fn handle(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body);
    let (http_status, invalid_json) = {
        let rules = lock(&shared.rules);
        (rules.http_status, rules.invalid_json)
    };
    if let Some((status, retry_after)) = http_status {
        shared.record_all(&parsed, &ProxyOutcome::HttpStatus { status });
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut response = (status, status.canonical_reason().unwrap_or_default()).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(RETRY_AFTER, seconds.into());
        }
        return response;
    }
    if invalid_json {
        shared.record_all(&parsed, &ProxyOutcome::InvalidJson);
        return ([(CONTENT_TYPE, "application/json")], INVALID_JSON).into_response();
    }
    let answer = match parsed {
        Ok(Value::Array(items)) => {
            let mut answers = Vec::with_capacity(items.len());
            for item in items {
                answers.push(shared.handle_one(item).await);
            }
            Value::Array(answers)
        }
        Ok(item) => shared.handle_one(item).await,
        Err(_) => json!({"jsonrpc": "2.0", "id": null,
                          "error": {"code": -32700, "message": "parse error"}}),
    };
    ([(CONTENT_TYPE, "application/json")], answer.to_string()).into_response()
}

fn method_of(request: &Value) -> String {
    request
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl Shared {
    /// Records every request of a body answered as a whole.
    fn record_all(&self, parsed: &serde_json::Result<Value>, outcome: &ProxyOutcome) {
        match parsed {
            Ok(Value::Array(items)) => {
                for item in items {
                    self.record(method_of(item), None, None, outcome.clone());
                }
            }
            Ok(item) => self.record(method_of(item), None, None, outcome.clone()),
            Err(_) => self.record(String::new(), None, None, outcome.clone()),
        }
    }

    async fn handle_one(&self, request: Value) -> Value {
        let method = method_of(&request);
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let rules = lock(&self.rules).clone();
        if let Some((_, code, message)) = rules.rpc_error_for.as_ref().filter(|r| r.0 == method) {
            self.record(method, None, None, ProxyOutcome::Refused { code: *code });
            return error_response(id, *code, message);
        }
        if let Some(chain_id) = rules.chain_id.filter(|_| method == "eth_chainId") {
            self.record(method, None, None, ProxyOutcome::Rewritten);
            return json!({"jsonrpc": "2.0", "id": id, "result": format!("{chain_id:#x}")});
        }
        if let Some(lag) = rules.head_lag.filter(|_| method == "eth_getBlockByNumber")
            && let Some(request) = self.lagging(&request, lag).await
        {
            let Some(answer) = self.forward(&request).await else {
                self.record(method, None, None, ProxyOutcome::Unreachable);
                return error_response(id, -32603, "upstream unreachable");
            };
            self.record(method, None, None, ProxyOutcome::Rewritten);
            return answer;
        }
        let cap = rules.get_logs_cap.filter(|_| method == "eth_getLogs");
        let range = match cap {
            Some(_) => self.requested_range(&request).await,
            None => None,
        };
        if let (Some(cap), Some(range)) = (cap, range)
            && let Some(limit) = cap.max_range.filter(|&max| range.len() > max)
        {
            let suggestion = cap
                .suggest
                .then(|| BlockRange::new(range.from, range.from + limit - 1));
            let (code, message) = cap.profile.error(limit, suggestion);
            self.record(method, Some(range), None, ProxyOutcome::Refused { code });
            return error_response(id, code, &message);
        }
        let answer = self.forward(&request).await;
        let Some(answer) = answer else {
            self.record(method, range, None, ProxyOutcome::Unreachable);
            return error_response(id, -32603, "upstream unreachable");
        };
        if let Some(code) = answer.pointer("/error/code").and_then(Value::as_i64) {
            self.record(method, range, None, ProxyOutcome::NodeError { code });
            return answer;
        }
        let logs = range.and(answer.get("result").and_then(Value::as_array));
        let count = logs.map(Vec::len);
        if let (Some(cap), Some(range), Some(logs)) = (cap, range, logs)
            && let Some(max) = cap.max_results.filter(|&max| logs.len() > max)
        {
            let suggestion = cap
                .suggest
                .then(|| fitting_prefix(range, logs, max))
                .flatten();
            let (code, message) = cap.profile.error(max as u64, suggestion);
            self.record(method, Some(range), count, ProxyOutcome::Refused { code });
            return error_response(id, code, &message);
        }
        self.record(method, range, count, ProxyOutcome::Forwarded);
        answer
    }

    fn record(
        &self,
        method: String,
        range: Option<BlockRange>,
        result_count: Option<usize>,
        outcome: ProxyOutcome,
    ) {
        let mut log = lock(&self.log);
        let seq = log.len() as u64;
        log.push(ProxyEntry {
            seq,
            method,
            range,
            result_count,
            outcome,
        });
    }

    async fn forward(&self, request: &Value) -> Option<Value> {
        let response = self
            .client
            .post(self.upstream.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(request.to_string())
            .send()
            .await
            .ok()?;
        let bytes = response.bytes().await.ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// For an `eth_getBlockByNumber` of `latest`, `safe` or `finalized`: the same request for
    /// the block `lag` below the tagged one; `None` for other requests or an unresolvable tag.
    async fn lagging(&self, request: &Value, lag: u64) -> Option<Value> {
        let tag = request.pointer("/params/0")?;
        if !matches!(tag.as_str()?, "latest" | "safe" | "finalized") {
            return None;
        }
        let number = self.resolve_block(Some(tag)).await?.saturating_sub(lag);
        let mut request = request.clone();
        *request.pointer_mut("/params/0")? = Value::String(format!("{number:#x}"));
        Some(request)
    }

    /// The inclusive block range of an `eth_getLogs` request, tags resolved at the node;
    /// `None` for block-hash filters or anything unresolvable.
    async fn requested_range(&self, request: &Value) -> Option<BlockRange> {
        let filter = request.get("params")?.get(0)?;
        if filter.get("blockHash").is_some() {
            return None;
        }
        let from = self.resolve_block(filter.get("fromBlock")).await?;
        let to = self.resolve_block(filter.get("toBlock")).await?;
        Some(BlockRange::new(from, to))
    }

    async fn resolve_block(&self, tag: Option<&Value>) -> Option<u64> {
        let tag = tag.and_then(Value::as_str).unwrap_or("latest");
        if let Some(hex) = tag.strip_prefix("0x") {
            return u64::from_str_radix(hex, 16).ok();
        }
        if tag == "earliest" {
            return Some(0);
        }
        let request = json!({"jsonrpc": "2.0", "id": 0, "method": "eth_getBlockByNumber",
                             "params": [tag, false]});
        let answer = self.forward(&request).await?;
        let number = answer
            .pointer("/result/number")?
            .as_str()?
            .strip_prefix("0x")?;
        u64::from_str_radix(number, 16).ok()
    }
}

fn error_response(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}
