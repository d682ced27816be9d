//! A route-aware HTTP fault proxy (the watchdog → sequencer edge): any request is forwarded to
//! an upstream base URL with its method, path, query, headers and body; the answer comes back
//! with its status, headers (`ETag` included) and body, `Content-Length` recomputed when a
//! rule changed the body.
//!
//! Rules are the same [`RuleSet`] as the JSON-RPC proxy's, matched on the path (`when.path`,
//! a trailing `*` matching a prefix) and the HTTP method (`when.method`); the actions that
//! apply here are `pass`, `http{status,retry_after}`, `delay{ms}`, `hang`, `drop`,
//! `truncate{bytes}`, `invalid_json`, `tamper_body{offset}`, `set_header{name,value}` and
//! `rate_limit` answering with an HTTP status ([`RuleSet::check_http`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::engine::Facts;
use crate::log::{Observed, ProxyOutcome};
use crate::rules::{Action, HttpAction, Limited};
use crate::server::{Server, Shared, dropped, hang};
use crate::{ProxyConfig, ProxyEntry, RuleSet, lock};

/// Largest request body forwarded.
const MAX_BODY: usize = 64 << 20;

/// Headers that describe one hop, never forwarded.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "proxy-connection",
    "host",
];

/// A running HTTP proxy (loopback). Dropping it stops the server.
#[derive(Debug)]
pub struct HttpProxy {
    server: Server,
}

impl HttpProxy {
    /// Starts a proxy on `127.0.0.1:<ephemeral>` in front of `upstream` (a base URL).
    pub async fn start(upstream: &str, rules: RuleSet) -> Result<Self> {
        Self::start_with(upstream, rules, ProxyConfig::default()).await
    }

    /// Starts a proxy with a listen address, an edge name and a JSONL log.
    pub async fn start_with(upstream: &str, rules: RuleSet, config: ProxyConfig) -> Result<Self> {
        rules.check_http()?;
        let routes = Router::new().fallback(handle);
        let server = Server::start(upstream, &rules, &config, routes, RuleSet::check_http).await?;
        Ok(Self { server })
    }

    /// The proxy's base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The proxy's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The address of its remote control ([`ProxyConfig::control`]), if it has one.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.server.control_addr()
    }

    /// Replaces the rules (next request on; scope counters restart).
    pub fn set_rules(&self, rules: RuleSet) -> Result<()> {
        rules.check_http()?;
        self.server.set_rules(&rules);
        Ok(())
    }

    /// A copy of every request recorded so far.
    pub fn entries(&self) -> Vec<ProxyEntry> {
        self.server.entries()
    }

    /// Forgets the recorded requests (the JSONL file keeps them).
    pub fn clear_entries(&self) {
        self.server.clear_entries();
    }

    /// Stops the proxy, releasing hung requests.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let arrived = Instant::now();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| path.clone(), |p| p.as_str().to_owned());
    let mut record = Observed::new(arrived, parts.method.as_str().to_owned());
    record.path = Some(path_and_query.clone());
    let selected = {
        let facts = Facts {
            method: Some(parts.method.as_str()),
            path: Some(&path),
            ..Facts::default()
        };
        lock(&shared.engine).select(&facts)
    };
    let action = match selected {
        Some((index, action)) => {
            record.rule = Some(index);
            record.action = action.name();
            action
        }
        None => Action::Pass,
    };
    let action = match action {
        Action::RateLimit(limit) => {
            let index = record.rule.unwrap_or_default();
            match lock(&shared.engine).take_token(index, &limit, Instant::now()) {
                true => Action::Pass,
                false => match limit.answer {
                    Limited::Http(http) => Action::Http(http),
                    // Rejected by `check_http`; answer as the default limit would.
                    Limited::Error(_) => Action::Http(HttpAction {
                        status: 429,
                        retry_after: Some(1),
                    }),
                },
            }
        }
        action => action,
    };
    let early = match &action {
        Action::Http(http) => {
            record.outcome = ProxyOutcome::HttpStatus {
                status: http.status,
            };
            record.status = Some(http.status);
            Some(crate::http_response(*http))
        }
        Action::InvalidJson => {
            record.outcome = ProxyOutcome::InvalidJson;
            let body = crate::INVALID_JSON_BODY;
            record.bytes = body.len();
            Some(([(CONTENT_TYPE, "application/json")], body).into_response())
        }
        Action::Drop => {
            record.outcome = ProxyOutcome::Dropped;
            record.status = None;
            Some(dropped())
        }
        Action::Hang => {
            record.outcome = ProxyOutcome::Hung;
            record.status = None;
            shared.recorder.record(record);
            return hang(shared.stop.clone()).await;
        }
        _ => None,
    };
    if let Some(response) = early {
        shared.recorder.record(record);
        return response;
    }
    if let Action::Delay { ms } = action {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let response = match forward(&shared, parts, body, &path_and_query).await {
        Ok(upstream) => apply(upstream, &action, &mut record),
        Err(e) => {
            tracing::debug!(target: "devnet::proxy", error = %e, "upstream unreachable");
            record.outcome = ProxyOutcome::Unreachable;
            record.status = Some(502);
            (StatusCode::BAD_GATEWAY, "upstream unreachable").into_response()
        }
    };
    shared.recorder.record(record);
    response
}

/// An upstream answer, buffered.
struct Upstream {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// Forwards a request to the upstream and buffers its answer.
async fn forward(
    shared: &Shared,
    parts: axum::http::request::Parts,
    body: Body,
    path_and_query: &str,
) -> Result<Upstream> {
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .context("reading the request body")?;
    let mut url = shared.upstream.clone();
    let base = url.path().trim_end_matches('/').to_owned();
    let (path, query) = path_and_query
        .split_once('?')
        .map_or((path_and_query, None), |(p, q)| (p, Some(q)));
    url.set_path(&format!("{base}{path}"));
    url.set_query(query);
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    headers.remove(CONTENT_LENGTH);
    let response = shared
        .client
        .request(parts.method, url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .context("forwarding the request")?;
    let status = response.status();
    let mut headers = response.headers().clone();
    strip_hop_by_hop(&mut headers);
    let body = response
        .bytes()
        .await
        .context("reading the upstream body")?;
    Ok(Upstream {
        status,
        headers,
        body,
    })
}

/// Applies a forwarding action to the upstream answer.
fn apply(mut upstream: Upstream, action: &Action, record: &mut Observed) -> Response {
    let mut body = upstream.body.to_vec();
    record.outcome = ProxyOutcome::Forwarded;
    match action {
        Action::Truncate { bytes } if *bytes < body.len() => {
            body.truncate(*bytes);
            record.outcome = ProxyOutcome::Truncated;
        }
        Action::TamperBody { offset } if !body.is_empty() => {
            let at = offset % body.len();
            body[at] ^= 0x01;
            record.outcome = ProxyOutcome::Tampered;
        }
        Action::SetHeader { name, value } => {
            match (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                (Ok(name), Ok(value)) => {
                    upstream.headers.insert(name, value);
                    record.outcome = ProxyOutcome::Rewritten;
                }
                _ => tracing::warn!(target: "devnet::proxy", %name, "invalid header in rule"),
            }
        }
        _ => {}
    }
    record.status = Some(upstream.status.as_u16());
    record.bytes = body.len();
    if body.len() != upstream.body.len() {
        // The body changed size: the upstream length no longer holds (a HEAD answer or a
        // 304 keeps the upstream's).
        upstream
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = upstream.status;
    *response.headers_mut() = upstream.headers;
    response
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}
