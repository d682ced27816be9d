//! The client of a supervisor's control API ([`control`](crate::control)): HTTP/1.1
//! over the Unix socket `control.sock` of a state directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::Value;

use crate::error::Class;

use crate::state_file::supervisor_alive;
use crate::supervisor::control::SOCKET_FILE;

/// Any host name will do: the connection goes to the socket.
const BASE: &str = "http://devnet";

/// How long a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A failed control API request, typed so callers can tell "nothing was sent" from "sent, no
/// answer" from "answered with an error".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// No connection was made: the request never reached the supervisor.
    #[error("{what} through {}: {source}", socket.display())]
    Unreachable {
        /// The request.
        what: String,
        /// The socket.
        socket: PathBuf,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The request was sent but no (complete) answer came back.
    #[error("{what} through {}: {source}", socket.display())]
    NoAnswer {
        /// The request.
        what: String,
        /// The socket.
        socket: PathBuf,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The supervisor answered with an error: `{"error": message, "code": code}`.
    #[error("{what}: the supervisor answered {status}: {message}")]
    Answered {
        /// The request.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The error's code (`bad_request`, `not_found`, `not_running`, `refused`, `stopped`,
        /// `busy`, `timeout`, `internal`), when the answer has one.
        code: Option<String>,
        /// The supervisor's words.
        message: String,
    },
}

impl ControlError {
    /// `not_running` (the devnet is not ready for the request) is environmental, like
    /// [`DevnetError::NotRunning`](crate::DevnetError::NotRunning); anything else a failure.
    pub fn class(&self) -> Class {
        match self {
            Self::Answered { code, .. } if code.as_deref() == Some("not_running") => {
                Class::Environment
            }
            _ => Class::Failure,
        }
    }

    /// Whether the request certainly never reached the supervisor (so sending it another way
    /// cannot apply it twice).
    pub fn unsent(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
    }

    /// The error's code, if the supervisor answered one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Answered { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// A client of one state directory's control API.
#[derive(Clone, Debug)]
pub struct ControlClient {
    socket: PathBuf,
    http: reqwest::Client,
}

impl ControlClient {
    /// A client of the supervisor of `dir`, if one runs (holds the lock) and its socket exists;
    /// `None` otherwise (the caller falls back to `devnet.json`).
    pub fn connect(dir: &Path) -> Result<Option<Self>> {
        let socket = dir.join(SOCKET_FILE);
        if !supervisor_alive(dir)? || !socket.exists() {
            return Ok(None);
        }
        let http = reqwest::Client::builder()
            .unix_socket(socket.as_path())
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .context("building the control API client")?;
        Ok(Some(Self { socket, http }))
    }

    /// The socket's path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<reqwest::Response, ControlError> {
        let reply = request.send().await.map_err(|source| {
            let (what, socket) = (what.to_owned(), self.socket.clone());
            if source.is_connect() {
                ControlError::Unreachable {
                    what,
                    socket,
                    source,
                }
            } else {
                ControlError::NoAnswer {
                    what,
                    socket,
                    source,
                }
            }
        })?;
        let status = reply.status();
        if status.is_success() {
            return Ok(reply);
        }
        let body = reply.text().await.unwrap_or_default();
        let parsed = serde_json::from_str::<Value>(&body).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(name).and_then(Value::as_str).map(str::to_owned))
        };
        Err(ControlError::Answered {
            what: what.to_owned(),
            status: status.as_u16(),
            code: field("code"),
            message: field("error").unwrap_or(body),
        })
    }

    /// `DELETE path`, answered with JSON within `timeout`.
    pub async fn delete_json(&self, path: &str, timeout: Duration) -> Result<Value> {
        let request = self.http.delete(format!("{BASE}{path}")).timeout(timeout);
        let reply = self.send(request, &format!("DELETE {path}")).await?;
        parse(reply, &format!("DELETE {path}")).await
    }

    /// `GET path` as JSON, within `timeout`.
    pub async fn get_json(&self, path: &str, timeout: Duration) -> Result<Value> {
        let request = self.http.get(format!("{BASE}{path}")).timeout(timeout);
        let reply = self.send(request, &format!("GET {path}")).await?;
        parse(reply, &format!("GET {path}")).await
    }

    /// `GET path` as text, within `timeout`.
    pub async fn get_text(&self, path: &str, timeout: Duration) -> Result<String> {
        let request = self.http.get(format!("{BASE}{path}")).timeout(timeout);
        let reply = self.send(request, &format!("GET {path}")).await?;
        reply
            .text()
            .await
            .with_context(|| format!("reading the answer to GET {path}"))
    }

    /// `POST path` with a JSON body, answered with JSON within `timeout`.
    pub async fn post_json(&self, path: &str, body: &Value, timeout: Duration) -> Result<Value> {
        let request = self
            .http
            .post(format!("{BASE}{path}"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .timeout(timeout);
        let reply = self.send(request, &format!("POST {path}")).await?;
        parse(reply, &format!("POST {path}")).await
    }

    /// `GET path` as a stream of lines, each handed to `each` as it arrives, until the
    /// supervisor ends the stream (or `each` returns `false`).
    pub async fn follow_lines(
        &self,
        path: &str,
        mut each: impl FnMut(&str) -> Result<bool>,
    ) -> Result<()> {
        let request = self.http.get(format!("{BASE}{path}"));
        let mut reply = self.send(request, &format!("GET {path}")).await?;
        let mut pending = Vec::new();
        loop {
            let chunk = match reply.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                // The supervisor went away mid-stream: the stream ends.
                Err(e) => {
                    tracing::debug!(target: "devnet::control", error = %e, "the event stream ended");
                    break;
                }
            };
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line[..end]);
                if !each(&text)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

async fn parse(reply: reqwest::Response, what: &str) -> Result<Value> {
    let body = reply
        .bytes()
        .await
        .with_context(|| format!("reading the answer to {what}"))?;
    serde_json::from_slice(&body).with_context(|| format!("parsing the answer to {what}"))
}
