//! The supervisor's control API: HTTP/1.1 + JSON on the Unix socket `control.sock` in the state
//! directory (mode 0600, in a 0700 directory), served for the supervisor's whole life and
//! removed at teardown. `devnet status`, `env`, `logs`, `events` and `sequencer restart` are
//! its clients ([`ControlClient`](crate::ControlClient)).
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /v1/status` | `devnet.json` as the supervisor holds it |
//! | `GET /v1/logs/{component}?tail=N` | the last N (default 100) lines of `anvil`, `sequencer` or `supervisor`'s log, as text |
//! | `GET /v1/events?since=SEQ&follow=BOOL` | lifecycle events after SEQ as JSON lines; with `follow`, the stream stays open |
//! | `POST /v1/sequencer/restart` `{"binary": PATH?}` | replaces the sequencer (rolling), the L1 untouched |
//!
//! Errors are `{"error": "..."}` with 400 (bad request), 404 (unknown component or route),
//! 409 (the supervisor is busy restarting something) or 500.
//!
//! **Adding a route** (e.g. `snapshot`, `tx`): a read-only one needs only the shared
//! [`ControlState`]; one that acts on the stack adds a [`ControlRequest`] variant (carrying a
//! reply channel), a handler that sends it with [`ask`], and one arm in the supervision loop's
//! `Runner::handle`, which owns the stack. Register the route in [`router`].

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
use crate::state_file::StateFile;

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
    json_response(status, &json!({"error": message.into()}))
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
    let text = match tokio::fs::read(&path).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading {}: {e}", path.display()),
            );
        }
    };
    let mut tail = crate::process::last_lines(&text, query.tail.unwrap_or(100)).join("\n");
    if !tail.is_empty() {
        tail.push('\n');
    }
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], tail).into_response()
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
    let body: RestartBody = if body.is_empty() {
        RestartBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(body) => body,
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
        }
    };
    ask(&state, |reply| ControlRequest::RestartSequencer {
        binary: body.binary,
        reply,
    })
    .await
}
