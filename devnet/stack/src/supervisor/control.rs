//! The supervisor's control API: HTTP/1.1 + JSON on the Unix socket `control.sock` in the state
//! directory (mode 0600, in a 0700 directory), served for the supervisor's whole life and
//! removed at teardown. `devnet status`, `env`, `logs`, `events`, `tx`, `snapshot` and
//! `sequencer restart` are its clients ([`ControlClient`](crate::ControlClient)).
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /v1/status` | `devnet.json` as the supervisor holds it |
//! | `GET /v1/logs/{component}?tail=N` | the last N (default 100) lines of `anvil`, `sequencer` or `supervisor`'s log across its rotated files, as text |
//! | `GET /v1/events?since=SEQ&follow=BOOL` | lifecycle events after SEQ as JSON lines; with `follow`, the stream stays open |
//! | `POST /v1/sequencer/restart` `{"binary": PATH?}` | replaces the sequencer (rolling), the L1 untouched |
//! | `POST /v1/tx/{deposit\|transfer\|withdraw\|input}` [`TxBody`] | sends the transaction and waits as asked; answers its JSON line ([`crate::tx`]) |
//! | `GET /v1/snapshots` | `{"snapshots": [...]}` |
//! | `POST /v1/snapshots/{name}` `{"force": BOOL?}` | saves the running stack as `name`; `{"saved": ...}` |
//! | `POST /v1/snapshots/{name}/restore` | rewinds the running L1 and sequencer to `name`; `{"restored": ...}` |
//! | `DELETE /v1/snapshots/{name}` | removes `name`; `{"removed": name}` |
//! | `POST /v1/l1/mine` `{"blocks": N}` | mines N blocks at once; `{"mined": N, "head": B}` |
//! | `POST /v1/l1/reorg` `{"depth": D}` | replaces the newest D blocks with empty ones; old and new head hashes |
//! | `GET /v1/faults`, `POST /v1/faults` `{"set"\|"add": [SPEC…]}`, `DELETE /v1/faults` | the sequencer's armed faults (until it restarts), as its control listener answers |
//!
//! Errors are `{"error": "...", "code": "..."}`: 400 `bad_request`, 404 `not_found` (unknown
//! component, route or snapshot), 409 `busy` (a restart or restore is under way), 422
//! `refused` (a transaction the devnet refused: nothing was applied), 503 `not_running` (the
//! devnet is not ready) or `stopped` (it stopped while a transaction waited), 504 `timeout`,
//! 500 `internal`.
//!
//! **Adding a route**: a read-only one, or one that only needs the published endpoints (as
//! `tx` and `faults`), needs only the shared [`ControlState`]; one that acts on the stack (as
//! `snapshots`, `l1/mine`) adds a [`ControlRequest`] variant (carrying a reply channel), a
//! handler that sends it with [`ask`], and one arm in the supervision loop's `Runner::handle`
//! (`runner/requests.rs`), which owns the stack. Register the route in [`router`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path as RoutePath, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::UnixListener;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::events::{Event, EventKind, EventLog};
use crate::error::DevnetError;
use crate::snapshot;
use crate::state_file::{RunState, StateFile};
use crate::tx::{OP_KINDS, Stopped, Target, TxBody};

/// The control socket's name in the state directory.
pub const SOCKET_FILE: &str = "control.sock";

/// How long a handler waits for the supervision loop to answer a request.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// What a handler asks of the supervision loop, which owns the stack.
#[derive(Debug)]
#[non_exhaustive]
pub enum ControlRequest {
    /// Replace the sequencer (rolling restart), with `binary` or the same one.
    RestartSequencer {
        /// The new binary, if any.
        binary: Option<PathBuf>,
        /// The answer: a JSON body, or a status and a message.
        reply: oneshot::Sender<Answer>,
    },
    /// Save the running stack as a snapshot.
    SaveSnapshot {
        /// Its name.
        name: String,
        /// Replace one of that name.
        force: bool,
        /// The answer.
        reply: oneshot::Sender<Answer>,
    },
    /// Mine blocks on the L1.
    Mine {
        /// How many.
        blocks: u64,
        /// The answer.
        reply: oneshot::Sender<Answer>,
    },
    /// Replace the newest blocks of the L1 with empty ones.
    Reorg {
        /// How many.
        depth: u64,
        /// The answer.
        reply: oneshot::Sender<Answer>,
    },
    /// Rewind the running stack (L1 and sequencer) to a snapshot.
    RestoreSnapshot {
        /// Its name.
        name: String,
        /// The answer.
        reply: oneshot::Sender<Answer>,
    },
}

/// The loop's answer to a [`ControlRequest`].
pub type Answer = std::result::Result<Value, (StatusCode, String)>;

/// What every handler can read.
#[derive(Clone, Debug)]
pub struct ControlState {
    /// The state directory.
    pub dir: PathBuf,
    /// The supervisor's state, as published.
    pub state: watch::Receiver<StateFile>,
    /// The lifecycle events.
    pub events: EventLog,
    /// Requests to the supervision loop.
    pub requests: mpsc::Sender<ControlRequest>,
}

/// The route table.
pub fn router(state: ControlState) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/logs/{component}", get(logs))
        .route("/v1/events", get(events))
        .route("/v1/sequencer/restart", post(restart_sequencer))
        .route("/v1/tx/{op}", post(tx))
        .route("/v1/snapshots", get(list_snapshots))
        .route(
            "/v1/snapshots/{name}",
            post(save_snapshot).delete(remove_snapshot),
        )
        .route("/v1/snapshots/{name}/restore", post(restore_snapshot))
        .route("/v1/l1/mine", post(mine))
        .route("/v1/l1/reorg", post(reorg))
        .route(
            "/v1/faults",
            get(list_faults).post(change_faults).delete(clear_faults),
        )
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route") })
        .with_state(state)
}

/// The running server; dropping it stops serving (the socket file stays until
/// [`ControlServer::close`]).
#[derive(Debug)]
pub struct ControlServer {
    path: PathBuf,
    task: JoinHandle<()>,
}

impl ControlServer {
    /// Binds `<dir>/control.sock` (replacing a stale one: the caller holds the state
    /// directory's lock), makes it 0600 and serves [`router`].
    pub fn start(state: ControlState) -> Result<Self> {
        let path = state.dir.join(SOCKET_FILE);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
        let listener = UnixListener::bind(&path)
            .with_context(|| format!("binding the control socket {}", path.display()))?;
        set_private(&path)?;
        let app = router(state);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(target: "devnet::control", error = %e, "the control API stopped");
            }
        });
        tracing::debug!(target: "devnet::control", path = %path.display(), "control API listening");
        Ok(Self { path, task })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops serving and removes the socket file.
    pub fn close(self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn set_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} private", path.display()))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    coded(status, code_of(status), message)
}

/// An error answer with an explicit code.
fn coded(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    json_response(status, &json!({"error": message.into(), "code": code}))
}

/// The code an error status carries by default.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::CONFLICT => "busy",
        StatusCode::UNPROCESSABLE_ENTITY => "refused",
        StatusCode::SERVICE_UNAVAILABLE => "stopped",
        StatusCode::GATEWAY_TIMEOUT => "timeout",
        _ => "internal",
    }
}

fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Sends `request` (built around a reply channel) to the loop and waits for its answer.
pub async fn ask(
    state: &ControlState,
    request: impl FnOnce(oneshot::Sender<Answer>) -> ControlRequest,
) -> Response {
    let (reply, answer) = oneshot::channel();
    if state.requests.send(request(reply)).await.is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the supervisor is stopping",
        );
    }
    match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
        Ok(Ok(Ok(value))) => json_response(StatusCode::OK, &value),
        Ok(Ok(Err((status, message)))) => error(status, message),
        Ok(Err(_)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the supervisor is stopping",
        ),
        Err(_) => error(StatusCode::GATEWAY_TIMEOUT, "the supervisor did not answer"),
    }
}

async fn status(State(state): State<ControlState>) -> Response {
    let current = state.state.borrow().clone();
    json_response(StatusCode::OK, &current)
}

#[derive(Debug, Deserialize)]
struct LogQuery {
    tail: Option<usize>,
}

/// The log file of `component` in `dir`: `anvil`, `sequencer` or `supervisor`.
pub fn log_path(dir: &Path, component: &str) -> Option<PathBuf> {
    let name = match component {
        "anvil" => "anvil.log",
        "sequencer" => "sequencer.log",
        "supervisor" => "supervisor.log",
        _ => return None,
    };
    Some(dir.join("logs").join(name))
}

async fn logs(
    State(state): State<ControlState>,
    RoutePath(component): RoutePath<String>,
    Query(query): Query<LogQuery>,
) -> Response {
    let Some(path) = log_path(&state.dir, &component) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no component {component:?} (anvil, sequencer, supervisor)"),
        );
    };
    let lines = query.tail.unwrap_or(100);
    let read = tokio::task::spawn_blocking(move || crate::logs::read_tail(&path, lines)).await;
    match read {
        Ok(Ok(tail)) => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            tail.unwrap_or_default(),
        )
            .into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading the log: {e}"),
        ),
    }
}

#[derive(Debug, Deserialize)]
struct EventQuery {
    since: Option<u64>,
    follow: Option<bool>,
}

fn line(event: &Event) -> String {
    let mut text = serde_json::to_string(event).unwrap_or_default();
    text.push('\n');
    text
}

async fn events(State(state): State<ControlState>, Query(query): Query<EventQuery>) -> Response {
    let (past, rx) = state.events.since(query.since.unwrap_or(0));
    let head: String = past.iter().map(line).collect();
    let ndjson = [(header::CONTENT_TYPE, "application/x-ndjson")];
    if !query.follow.unwrap_or(false) {
        return (ndjson, head).into_response();
    }
    let last = past.last().map_or(query.since.unwrap_or(0), |e| e.seq);
    // The stream ends after `stopped`, the last event of a run.
    let ended = past.iter().any(|e| e.kind == EventKind::Stopped);
    let guard = state.events.follower();
    let first = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) });
    let start = (rx, last, ended, guard);
    let rest = futures_util::stream::unfold(start, |(mut rx, last, ended, guard)| async move {
        if ended {
            return None;
        }
        loop {
            match rx.recv().await {
                // Already sent as part of the history.
                Ok(event) if event.seq <= last => {}
                Ok(event) => {
                    let ended = event.kind == EventKind::Stopped;
                    return Some((Ok(line(&event)), (rx, event.seq, ended, guard)));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    (ndjson, Body::from_stream(first.chain(rest))).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestartBody {
    binary: Option<PathBuf>,
}

async fn restart_sequencer(State(state): State<ControlState>, body: axum::body::Bytes) -> Response {
    let body: RestartBody = match body_or_default(&body) {
        Ok(body) => body,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    ask(&state, |reply| ControlRequest::RestartSequencer {
        binary: body.binary,
        reply,
    })
    .await
}

/// Parses an optional JSON body (empty = the default); the error is the message of a 400.
fn body_or_default<T: Default + serde::de::DeserializeOwned>(
    body: &[u8],
) -> std::result::Result<T, String> {
    if body.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| format!("bad request body: {e}"))
}

async fn tx(
    State(state): State<ControlState>,
    RoutePath(op): RoutePath<String>,
    body: axum::body::Bytes,
) -> Response {
    if !OP_KINDS.contains(&op.as_str()) {
        return error(
            StatusCode::NOT_FOUND,
            format!("no operation {op:?} (deposit, transfer, withdraw, input)"),
        );
    }
    let body: TxBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    let checked = match body.fields.check(&op) {
        Ok(checked) => checked,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("{e:#}")),
    };
    let current = state.state.borrow().clone();
    let watch = state.state.clone();
    // The devnet runs until the supervisor starts tearing down.
    let alive = std::sync::Arc::new(move || {
        Ok(matches!(
            watch.borrow().state,
            RunState::Starting | RunState::Ready | RunState::Degraded
        ))
    });
    let target = match Target::of_state(&current, alive) {
        Ok(target) => target,
        Err(e) => return failed(&e),
    };
    let timeout = Duration::from_secs(body.timeout_secs);
    match target
        .send(&checked, body.wait, timeout, !body.skip_balance_check)
        .await
    {
        Ok(line) => json_response(StatusCode::OK, &line),
        Err(e) => failed(&e),
    }
}

/// The answer to a failed transaction.
fn failed(e: &anyhow::Error) -> Response {
    let message = format!("{e:#}");
    for cause in e.chain() {
        if cause.is::<Stopped>() {
            return coded(StatusCode::SERVICE_UNAVAILABLE, "stopped", message);
        }
        if let Some(DevnetError::NotRunning(_)) = cause.downcast_ref::<DevnetError>() {
            return coded(StatusCode::SERVICE_UNAVAILABLE, "not_running", message);
        }
    }
    error(StatusCode::UNPROCESSABLE_ENTITY, message)
}

async fn list_snapshots(State(state): State<ControlState>) -> Response {
    match snapshot::list(&state.dir) {
        Ok(found) => json_response(StatusCode::OK, &json!({"snapshots": found})),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveBody {
    #[serde(default)]
    force: bool,
}

async fn save_snapshot(
    State(state): State<ControlState>,
    RoutePath(name): RoutePath<String>,
    body: axum::body::Bytes,
) -> Response {
    let body: SaveBody = match body_or_default(&body) {
        Ok(body) => body,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    if let Err(e) = snapshot::check_name(&name) {
        return error(StatusCode::BAD_REQUEST, format!("{e:#}"));
    }
    ask(&state, |reply| ControlRequest::SaveSnapshot {
        name,
        force: body.force,
        reply,
    })
    .await
}

/// `Err` with the answer unless `name` is a valid name of a saved snapshot.
#[allow(clippy::result_large_err)] // The error is the finished answer, returned at once.
fn saved(state: &ControlState, name: &str) -> std::result::Result<(), Response> {
    if let Err(e) = snapshot::check_name(name) {
        return Err(error(StatusCode::BAD_REQUEST, format!("{e:#}")));
    }
    if !snapshot::exists(&state.dir, name) {
        return Err(error(
            StatusCode::NOT_FOUND,
            format!("no snapshot {name:?}"),
        ));
    }
    Ok(())
}

async fn restore_snapshot(
    State(state): State<ControlState>,
    RoutePath(name): RoutePath<String>,
) -> Response {
    if let Err(answer) = saved(&state, &name) {
        return answer;
    }
    ask(&state, |reply| ControlRequest::RestoreSnapshot {
        name,
        reply,
    })
    .await
}

async fn remove_snapshot(
    State(state): State<ControlState>,
    RoutePath(name): RoutePath<String>,
) -> Response {
    if let Err(answer) = saved(&state, &name) {
        return answer;
    }
    match snapshot::remove(&state.dir, &name) {
        Ok(()) => json_response(StatusCode::OK, &json!({"removed": name})),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MineBody {
    blocks: u64,
}

/// The most blocks one request mines.
const MAX_MINE: u64 = 100_000;

async fn mine(State(state): State<ControlState>, body: axum::body::Bytes) -> Response {
    let body: MineBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    if !(1..=MAX_MINE).contains(&body.blocks) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("blocks must be 1 to {MAX_MINE}, not {}", body.blocks),
        );
    }
    ask(&state, |reply| ControlRequest::Mine {
        blocks: body.blocks,
        reply,
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReorgBody {
    depth: u64,
}

async fn reorg(State(state): State<ControlState>, body: axum::body::Bytes) -> Response {
    let body: ReorgBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    if body.depth == 0 {
        return error(StatusCode::BAD_REQUEST, "depth must be at least 1");
    }
    ask(&state, |reply| ControlRequest::Reorg {
        depth: body.depth,
        reply,
    })
    .await
}

/// Forwards a faults request to the running sequencer's control listener.
async fn forward_faults(
    state: &ControlState,
    method: reqwest::Method,
    body: Option<axum::body::Bytes>,
) -> Response {
    let control = state
        .state
        .borrow()
        .components
        .sequencer
        .control_url
        .clone();
    let running = state.state.borrow().components.sequencer.process.is_some();
    let Some(control) = control.filter(|_| running) else {
        return coded(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_running",
            "no devnet sequencer with a control listener runs (the upstream sequencer has none)",
        );
    };
    let client = reqwest::Client::new();
    let mut request = client
        .request(method, format!("{control}/faults"))
        .timeout(Duration::from_secs(10));
    if let Some(body) = body {
        request = request
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
    }
    let reply = match request.send().await {
        Ok(reply) => reply,
        Err(e) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the sequencer's control listener: {}", e.without_url()),
            );
        }
    };
    let status = reply.status();
    let bytes = reply.bytes().await.unwrap_or_default();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status.is_success() {
        return json_response(StatusCode::OK, &value);
    }
    let message = value["message"]
        .as_str()
        .or_else(|| value["error"].as_str())
        .map_or_else(
            || String::from_utf8_lossy(&bytes).into_owned(),
            str::to_owned,
        );
    let status = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    error(status, message)
}

async fn list_faults(State(state): State<ControlState>) -> Response {
    forward_faults(&state, reqwest::Method::GET, None).await
}

async fn change_faults(State(state): State<ControlState>, body: axum::body::Bytes) -> Response {
    forward_faults(&state, reqwest::Method::POST, Some(body)).await
}

async fn clear_faults(State(state): State<ControlState>) -> Response {
    forward_faults(&state, reqwest::Method::DELETE, None).await
}
