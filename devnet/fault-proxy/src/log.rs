//! The proxies' request log: one [`ProxyEntry`] per request (per element of a batch), kept in
//! memory and, when a path is given, appended to a JSONL file.

use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::{Value, json};

use super::lock;
use crate::range::BlockRange;

/// What happened to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyOutcome {
    /// Forwarded; upstream answered with a result (or, in HTTP mode, any status).
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
    /// Upstream could not be reached or answered something that is not JSON.
    Unreachable,
    /// Answered by the proxy with this HTTP status (no JSON-RPC answer).
    HttpStatus {
        /// The HTTP status sent to the client.
        status: u16,
    },
    /// Answered by the proxy with a body that is not JSON.
    InvalidJson,
    /// Forwarded; the proxy rewrote the answer (chain id, head, tags, header).
    Rewritten,
    /// Forwarded; the proxy removed or altered data in the answer (`drop_log`, `tamper_log`,
    /// `tamper_body`).
    Tampered,
    /// Forwarded; the body was cut short.
    Truncated,
    /// Never answered (`hang`).
    Hung,
    /// The connection was closed without an answer (`drop`).
    Dropped,
}

impl ProxyOutcome {
    /// Whether the client received a JSON-RPC result (possibly rewritten or tampered).
    pub fn is_result(&self) -> bool {
        matches!(self, Self::Forwarded | Self::Rewritten | Self::Tampered)
    }

    /// The JSON-RPC error code the client received, if any.
    pub fn error_code(&self) -> Option<i64> {
        match self {
            Self::Refused { code } | Self::NodeError { code } => Some(*code),
            _ => None,
        }
    }
}

/// One recorded request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyEntry {
    /// Recording order, from 0: a request is recorded when answered, or when the proxy decides
    /// to hang or drop it (the same as arrival order for a client that waits for answers).
    pub seq: u64,
    /// The JSON-RPC method, or in HTTP mode the HTTP method.
    pub method: String,
    /// For `eth_getLogs`: the requested range with tags resolved.
    pub range: Option<BlockRange>,
    /// For `eth_getLogs`: the number of logs the node returned (also when refused for it).
    pub result_count: Option<usize>,
    /// What the proxy did.
    pub outcome: ProxyOutcome,
    /// Milliseconds since the proxy started, when the request arrived.
    pub t_ms: u64,
    /// The edge the proxy sits on (empty when unnamed).
    pub edge: String,
    /// HTTP mode: the request path (with query).
    pub path: Option<String>,
    /// The index of the rule that took the request, if one did.
    pub rule: Option<usize>,
    /// The name of the action applied (`pass` when no rule took it).
    pub action: String,
    /// The HTTP status sent (none for `hang` and `drop`).
    pub status: Option<u16>,
    /// Bytes of the answer (of this element, for a batch element).
    pub bytes: usize,
    /// Milliseconds from arrival to the answer.
    pub latency_ms: u64,
}

impl ProxyEntry {
    /// The JSON-RPC error code the client received, if any.
    pub fn error_code(&self) -> Option<i64> {
        self.outcome.error_code()
    }

    /// The record as one JSON object (the JSONL line).
    pub fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "t_ms": self.t_ms,
            "edge": self.edge,
            "method": self.method,
            "path": self.path,
            "from": self.range.map(|r| r.from),
            "to": self.range.map(|r| r.to),
            "rule": self.rule,
            "action": self.action,
            "outcome": outcome_name(&self.outcome),
            "status": self.status,
            "result_count": self.result_count,
            "bytes": self.bytes,
            "latency_ms": self.latency_ms,
            "error_code": self.error_code(),
        })
    }
}

/// A JSON record that is not one [`ProxyEntry::to_json`] writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid proxy record: {0}")]
pub struct EntryError(String);

impl ProxyEntry {
    /// Reads back a record [`to_json`](Self::to_json) wrote.
    pub fn from_json(value: &Value) -> Result<Self, EntryError> {
        let bad = |what: &str| EntryError(format!("{what} in {value}"));
        let u64_at = |key: &str| value.get(key).and_then(Value::as_u64);
        let number = |key: &str| u64_at(key).ok_or_else(|| bad(key));
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(key))
        };
        let optional = |key: &str| match value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| bad(key)),
        };
        let size = |n: u64| usize::try_from(n).map_err(|_| bad("a size"));
        let range = match (optional("from")?, optional("to")?) {
            (Some(from), Some(to)) => Some(BlockRange::new(from, to)),
            (None, None) => None,
            _ => return Err(bad("a half range")),
        };
        let status = optional("status")?
            .map(|s| u16::try_from(s).map_err(|_| bad("status")))
            .transpose()?;
        let code = match value.get("error_code") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_i64().ok_or_else(|| bad("error_code"))?),
        };
        let outcome = match (text("outcome")?.as_str(), code, status) {
            ("forwarded", _, _) => ProxyOutcome::Forwarded,
            ("refused", Some(code), _) => ProxyOutcome::Refused { code },
            ("node_error", Some(code), _) => ProxyOutcome::NodeError { code },
            ("unreachable", _, _) => ProxyOutcome::Unreachable,
            ("http_status", _, Some(status)) => ProxyOutcome::HttpStatus { status },
            ("invalid_json", _, _) => ProxyOutcome::InvalidJson,
            ("rewritten", _, _) => ProxyOutcome::Rewritten,
            ("tampered", _, _) => ProxyOutcome::Tampered,
            ("truncated", _, _) => ProxyOutcome::Truncated,
            ("hung", _, _) => ProxyOutcome::Hung,
            ("dropped", _, _) => ProxyOutcome::Dropped,
            _ => return Err(bad("outcome")),
        };
        let path = match value.get("path") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_str().ok_or_else(|| bad("path"))?.to_owned()),
        };
        Ok(Self {
            seq: number("seq")?,
            method: text("method")?,
            range,
            result_count: optional("result_count")?.map(size).transpose()?,
            outcome,
            t_ms: number("t_ms")?,
            edge: text("edge")?,
            path,
            rule: optional("rule")?.map(size).transpose()?,
            action: text("action")?,
            status,
            bytes: size(number("bytes")?)?,
            latency_ms: number("latency_ms")?,
        })
    }
}

fn outcome_name(outcome: &ProxyOutcome) -> &'static str {
    match outcome {
        ProxyOutcome::Forwarded => "forwarded",
        ProxyOutcome::Refused { .. } => "refused",
        ProxyOutcome::NodeError { .. } => "node_error",
        ProxyOutcome::Unreachable => "unreachable",
        ProxyOutcome::HttpStatus { .. } => "http_status",
        ProxyOutcome::InvalidJson => "invalid_json",
        ProxyOutcome::Rewritten => "rewritten",
        ProxyOutcome::Tampered => "tampered",
        ProxyOutcome::Truncated => "truncated",
        ProxyOutcome::Hung => "hung",
        ProxyOutcome::Dropped => "dropped",
    }
}

/// What a handler knows about a request when it records it; the recorder adds `seq`, `edge`.
#[derive(Clone, Debug)]
pub(crate) struct Observed {
    pub(crate) arrived: Instant,
    pub(crate) method: String,
    pub(crate) path: Option<String>,
    pub(crate) range: Option<BlockRange>,
    pub(crate) result_count: Option<usize>,
    pub(crate) rule: Option<usize>,
    pub(crate) action: &'static str,
    pub(crate) outcome: ProxyOutcome,
    pub(crate) status: Option<u16>,
    pub(crate) bytes: usize,
}

impl Observed {
    /// A request that arrived at `arrived`, not yet answered.
    pub(crate) fn new(arrived: Instant, method: String) -> Self {
        Self {
            arrived,
            method,
            path: None,
            range: None,
            result_count: None,
            rule: None,
            action: "pass",
            outcome: ProxyOutcome::Forwarded,
            status: Some(200),
            bytes: 0,
        }
    }
}

/// The in-memory log plus the optional JSONL file.
#[derive(Debug)]
pub(crate) struct Recorder {
    started: Instant,
    edge: String,
    entries: Mutex<Vec<ProxyEntry>>,
    file: Option<Mutex<File>>,
}

impl Recorder {
    /// A recorder for `edge`, appending to `path` when given (created if missing).
    pub(crate) fn new(edge: String, path: Option<&Path>) -> std::io::Result<Self> {
        let file = match path {
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            )),
            None => None,
        };
        Ok(Self {
            started: Instant::now(),
            edge,
            entries: Mutex::new(Vec::new()),
            file,
        })
    }

    /// Appends one record.
    pub(crate) fn record(&self, o: Observed) {
        let t_ms = millis(o.arrived.saturating_duration_since(self.started));
        let latency_ms = millis(o.arrived.elapsed());
        let mut entries = lock(&self.entries);
        let entry = ProxyEntry {
            seq: entries.len() as u64,
            method: o.method,
            range: o.range,
            result_count: o.result_count,
            outcome: o.outcome,
            t_ms,
            edge: self.edge.clone(),
            path: o.path,
            rule: o.rule,
            action: o.action.to_owned(),
            status: o.status,
            bytes: o.bytes,
            latency_ms,
        };
        if let Some(file) = &self.file {
            // A full disk must not take the proxy down; the in-memory copy stays complete.
            let mut file = lock(file);
            if let Err(e) = writeln!(file, "{}", entry.to_json()) {
                tracing::warn!(target: "devnet::proxy", error = %e, "writing the proxy log");
            }
        }
        entries.push(entry);
    }

    /// A copy of every record.
    pub(crate) fn entries(&self) -> Vec<ProxyEntry> {
        lock(&self.entries).clone()
    }

    /// Forgets the in-memory records (the file keeps them).
    pub(crate) fn clear(&self) {
        lock(&self.entries).clear();
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
