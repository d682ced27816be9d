//! The remote control of a proxy: HTTP/JSON on a port of its own, next to the proxied one, for
//! a proxy in another process or container (the compose backend's).
//!
//! - `PUT /rules` with a [`RuleSet`] as JSON: replaces the rules (scope counters restart);
//!   `204`, or `400` with `{"error": …}` for a body that is not a rule set the proxy's mode
//!   can apply;
//! - `GET /entries`: every record so far, as a JSON array of [`ProxyEntry::to_json`] objects;
//! - `DELETE /entries`: forgets the records (the JSONL file keeps them); `204`.
//!
//! Anything else is `404`/`405`. [`RemoteProxy`] is the client.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde_json::{Value, json};

use super::engine::Engine;
use super::lock;
use super::log::{EntryError, ProxyEntry};
use super::rules::{RuleSet, RulesError};
use super::server::Shared;

/// The largest rule set the control port reads.
const MAX_RULES_BYTES: usize = 1 << 20;

/// The mode check a proxy applies to new rules.
pub(crate) type Check = fn(&RuleSet) -> Result<(), RulesError>;

/// The control routes of a proxy whose rules pass `check`.
pub(crate) fn routes(shared: Arc<Shared>, check: Check) -> Router {
    Router::new()
        .route("/rules", put(set_rules))
        .route("/entries", get(entries).delete(clear))
        .with_state((shared, check))
}

type Ctl = State<(Arc<Shared>, Check)>;

async fn set_rules(State((shared, check)): Ctl, body: Bytes) -> Response {
    if body.len() > MAX_RULES_BYTES {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "the rule set is too large");
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "the rule set is not UTF-8");
    };
    let set = match RuleSet::from_json(text).and_then(|set| check(&set).map(|()| set)) {
        Ok(set) => set,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    *lock(&shared.engine) = Engine::new(&set);
    StatusCode::NO_CONTENT.into_response()
}

async fn entries(State((shared, _)): Ctl) -> Response {
    let list: Vec<Value> = shared
        .recorder
        .entries()
        .iter()
        .map(ProxyEntry::to_json)
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

async fn clear(State((shared, _)): Ctl) -> Response {
    shared.recorder.clear();
    StatusCode::NO_CONTENT.into_response()
}

fn refuse(status: StatusCode, error: &str) -> Response {
    json_response(status, &json!({ "error": error }))
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// Why a call to a proxy's control port failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The control URL is not an `http://` URL.
    #[error("invalid control URL {url:?}")]
    Url {
        /// The URL given.
        url: String,
    },
    /// The control port could not be reached, or the answer could not be read.
    #[error("{what} at the proxy's control port: {source}")]
    Transport {
        /// The call.
        what: &'static str,
        /// The HTTP client's error.
        source: reqwest::Error,
    },
    /// The proxy refused the call.
    #[error("{what}: the proxy answered {status}: {message}")]
    Refused {
        /// The call.
        what: &'static str,
        /// The HTTP status.
        status: u16,
        /// The proxy's `error`, or the body.
        message: String,
    },
    /// The answer is not what the control port sends.
    #[error("{what}: unexpected answer from the proxy's control port: {reason}")]
    Answer {
        /// The call.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A record in the answer could not be read.
    #[error("reading the proxy's records: {0}")]
    Entry(#[from] EntryError),
}

/// A client of a proxy's control port (the proxy runs elsewhere: another process, a container).
#[derive(Clone, Debug)]
pub struct RemoteProxy {
    control: reqwest::Url,
    url: String,
    client: reqwest::Client,
}

impl RemoteProxy {
    /// A client of the control port at `control` (`http://HOST:PORT`) of the proxy clients
    /// reach at `url`.
    pub fn new(control: &str, url: &str) -> Result<Self, ControlError> {
        let bad = || ControlError::Url {
            url: control.to_owned(),
        };
        let parsed: reqwest::Url = control.parse().map_err(|_| bad())?;
        if parsed.scheme() != "http" || parsed.host().is_none() {
            return Err(bad());
        }
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| ControlError::Transport {
                what: "building the client",
                source,
            })?;
        Ok(Self {
            control: parsed,
            url: url.to_owned(),
            client,
        })
    }

    /// The URL clients of the proxy use.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The control port's URL.
    pub fn control_url(&self) -> &str {
        self.control.as_str()
    }

    fn at(&self, path: &str) -> reqwest::Url {
        let mut url = self.control.clone();
        url.set_path(path);
        url
    }

    async fn call(
        &self,
        what: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<Bytes, ControlError> {
        let transport = |source| ControlError::Transport { what, source };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(ControlError::Refused {
                what,
                status: status.as_u16(),
                message,
            });
        }
        Ok(body)
    }

    /// Replaces the proxy's rules (scope counters restart).
    pub async fn set_rules(&self, rules: &RuleSet) -> Result<(), ControlError> {
        let body = serde_json::to_vec(rules).map_err(|e| ControlError::Answer {
            what: "setting rules",
            reason: e.to_string(),
        })?;
        let request = self.client.put(self.at("/rules")).body(body);
        self.call("setting rules", request).await.map(drop)
    }

    /// Every record so far.
    pub async fn entries(&self) -> Result<Vec<ProxyEntry>, ControlError> {
        const WHAT: &str = "reading records";
        let body = self
            .call(WHAT, self.client.get(self.at("/entries")))
            .await?;
        let value: Value = serde_json::from_slice(&body).map_err(|e| ControlError::Answer {
            what: WHAT,
            reason: e.to_string(),
        })?;
        let Value::Array(items) = value else {
            return Err(ControlError::Answer {
                what: WHAT,
                reason: "not a JSON array".to_owned(),
            });
        };
        Ok(items
            .iter()
            .map(ProxyEntry::from_json)
            .collect::<Result<_, _>>()?)
    }

    /// Forgets the recorded requests (the proxy's JSONL file keeps them).
    pub async fn clear_entries(&self) -> Result<(), ControlError> {
        let request = self.client.delete(self.at("/entries"));
        self.call("clearing records", request).await.map(drop)
    }
}
