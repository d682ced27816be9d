//! Loopback test servers: an axum sequencer double and a raw TCP server for hostile answers.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Bytes,
    extract::RawQuery,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use sequencer_client::{Limits, RedactedUrl, SequencerClient, Timeouts};
use sha2::{Digest, Sha256};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// Which response shape the double serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `executed_input_count` / `X-Executed-Input-Count`, digest route present.
    Newest,
    /// `l2_tx_index` / `X-L2-Tx-Index`, no digest route.
    Legacy,
}

/// What the finalized routes answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// 200 with the configured state.
    Serving,
    /// 404, empty body: no comparable checkpoint.
    NotReady,
    /// 503: the sequencer knows it diverged (JSON body when newest, empty when legacy).
    Diverged,
}

/// The sequencer double's configuration.
#[derive(Clone, Debug)]
pub(crate) struct Mock {
    pub(crate) shape: Shape,
    pub(crate) mode: Mode,
    pub(crate) block: u64,
    pub(crate) count: u64,
    pub(crate) state: Vec<u8>,
}

impl Mock {
    pub(crate) fn new(shape: Shape) -> Self {
        Self {
            shape,
            mode: Mode::Serving,
            block: 7_000_123,
            count: 45,
            state: (0..=255u8).cycle().take(5_000).collect(),
        }
    }

    pub(crate) fn etag(&self) -> String {
        format!("\"block-{}\"", self.block)
    }

    pub(crate) fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(&self.state))
    }

    fn count_field(&self) -> &'static str {
        match self.shape {
            Shape::Newest => "executed_input_count",
            Shape::Legacy => "l2_tx_index",
        }
    }

    fn refusal(&self) -> Option<Response> {
        match (self.mode, self.shape) {
            (Mode::Serving, _) => None,
            (Mode::NotReady, _) => Some(StatusCode::NOT_FOUND.into_response()),
            (Mode::Diverged, Shape::Newest) => Some(json(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"ok":false,"code":"UNAVAILABLE","message":"finalized state diverged"}"#.into(),
            )),
            (Mode::Diverged, Shape::Legacy) => {
                Some(StatusCode::SERVICE_UNAVAILABLE.into_response())
            }
        }
    }
}

pub(crate) fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn inclusion_block(m: &Mock) -> Response {
    if let Some(r) = m.refusal() {
        return r;
    }
    json(
        StatusCode::OK,
        format!(
            r#"{{"inclusion_block":{},"{}":{}}}"#,
            m.block,
            m.count_field(),
            m.count
        ),
    )
}

fn digest(m: &Mock) -> Response {
    if m.shape == Shape::Legacy {
        return StatusCode::NOT_FOUND.into_response();
    }
    if let Some(r) = m.refusal() {
        return r;
    }
    json(
        StatusCode::OK,
        format!(
            r#"{{"inclusion_block":{},"executed_input_count":{},"sha256":"{}"}}"#,
            m.block,
            m.count,
            m.sha256_hex()
        ),
    )
}

fn finalized_state(m: &Mock, headers: &HeaderMap) -> Response {
    if let Some(r) = m.refusal() {
        return r;
    }
    let etag = m.etag();
    if headers
        .get(header::IF_NONE_MATCH)
        .map(HeaderValue::as_bytes)
        == Some(etag.as_bytes())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = (StatusCode::OK, m.state.clone()).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ETAG, HeaderValue::from_str(&etag).unwrap());
    h.insert("x-inclusion-block", m.block.into());
    match m.shape {
        Shape::Newest => {
            h.insert("x-executed-input-count", m.count.into());
            h.insert(
                "x-history-era",
                HeaderValue::from_static("0b7e6f0c-3f5e-4d7a-9a37-2f1d3b1c9e11"),
            );
            h.insert("x-recovery-generation", 2u64.into());
        }
        Shape::Legacy => {
            h.insert("x-l2-tx-index", m.count.into());
        }
    }
    response
}

/// The address the double reports as the sender of every accepted op (EIP-55).
pub(crate) const SENDER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

async fn submit(headers: HeaderMap, body: Bytes) -> Response {
    if headers.get(header::CONTENT_TYPE).map(HeaderValue::as_bytes) != Some(b"application/json") {
        return api_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "missing content type",
        );
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return api_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "invalid JSON");
    };
    let sig = v["signature"].as_str().unwrap_or_default();
    let sender = v["sender"].as_str().unwrap_or_default();
    let data = v["message"]["data"].as_str().unwrap_or_default();
    if sig.len() != 132 || !sig.starts_with("0x") {
        return api_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "signature must be 132 hex chars (0x + 65 bytes)",
        );
    }
    if sender.len() != 42 || !data.starts_with("0x") {
        return api_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "invalid JSON");
    }
    let nonce = v["message"]["nonce"].as_u64().unwrap_or(u64::MAX);
    match v["message"]["max_fee"].as_u64() {
        Some(0) => api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "EXECUTION_REJECTED",
            "max fee below frame fee",
        ),
        Some(1) => api_error(StatusCode::TOO_MANY_REQUESTS, "OVERLOADED", "queue full"),
        Some(2) => api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "sequencer shutting down",
        ),
        _ => json(
            StatusCode::OK,
            format!(r#"{{"ok":true,"sender":"{SENDER}","nonce":{nonce},"tx_hash":"0x00"}}"#),
        ),
    }
}

pub(crate) fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    json(
        status,
        format!(r#"{{"ok":false,"code":"{code}","message":"{message}"}}"#),
    )
}

async fn nonce(RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    match query.strip_prefix("sender=") {
        Some(sender) if sender.len() == 42 && sender == sender.to_lowercase() => json(
            StatusCode::OK,
            format!(r#"{{"sender":"{SENDER}","next_nonce":7}}"#),
        ),
        _ => api_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "expected ?sender=<0x-prefixed 20-byte hex address>",
        ),
    }
}

/// The full sequencer double.
pub(crate) fn app(mock: Mock) -> Router {
    let m = Arc::new(mock);
    let (m1, m2, m3) = (m.clone(), m.clone(), m.clone());
    let ready = m.mode == Mode::Serving;
    Router::new()
        .route("/finalized_state/inclusion_block", get(move || async move { inclusion_block(&m1) }))
        .route("/finalized_state/digest", get(move || async move { digest(&m2) }))
        .route(
            "/finalized_state",
            get(move |h: HeaderMap| async move { finalized_state(&m3, &h) }),
        )
        .route("/tx", post(submit))
        .route(
            "/fee",
            get(|| async {
                json(StatusCode::OK, r#"{"fee":12,"recommended_fee":14,"suggested_max_fee":67}"#.into())
            }),
        )
        .route("/nonce", get(nonce))
        .route(
            "/domain",
            get(move || async move {
                json(
                    StatusCode::OK,
                    r#"{"name":"CartesiAppSequencer","version":"1","chainId":31337,"verifyingContract":"0x4ce6aAC3fdD6E1D6E0D5d3fA2D44a4E2e7a1E083"}"#.into(),
                )
            }),
        )
        .route("/livez", get(|| async { StatusCode::OK }))
        .route(
            "/readyz",
            get(move || async move {
                if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }
            }),
        )
        .route(
            "/healthz",
            get(move || async move {
                if ready {
                    json(StatusCode::OK, r#"{"status":"ok","inclusion_lane":"ok"}"#.into())
                } else {
                    json(
                        StatusCode::SERVICE_UNAVAILABLE,
                        r#"{"status":"degraded","inclusion_lane":"stopped"}"#.into(),
                    )
                }
            }),
        )
}

/// Serves `router` on an ephemeral loopback port until the test's runtime ends.
pub(crate) async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// One scripted step of a raw answer.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// Write these bytes.
    Write(Vec<u8>),
    /// Wait (simulates a slow peer; never used to synchronise the test).
    Pause(Duration),
    /// Keep the connection open without answering.
    Hang,
}

/// Answers every connection with `steps`, after reading the request head.
pub(crate) async fn serve_raw(steps: Vec<Step>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let steps = steps.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                for step in steps {
                    match step {
                        Step::Write(bytes) => {
                            if socket.write_all(&bytes).await.is_err() {
                                return;
                            }
                        }
                        Step::Pause(d) => tokio::time::sleep(d).await,
                        Step::Hang => std::future::pending::<()>().await,
                    }
                }
            });
        }
    });
    addr
}

/// A raw HTTP/1.1 answer with a chunked body.
pub(crate) fn chunked(head: &str, chunks: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {head}\r\ntransfer-encoding: chunked\r\n\r\n").into_bytes();
    for chunk in chunks {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// A client for `addr` with default settings.
pub(crate) fn client(addr: SocketAddr) -> SequencerClient {
    SequencerClient::new(base(addr)).unwrap()
}

/// A client for `addr` with short timeouts and the given caps.
pub(crate) fn tight_client(addr: SocketAddr, limits: Limits) -> SequencerClient {
    let t = Duration::from_millis(300);
    let timeouts = Timeouts {
        connect: t,
        poll: t,
        digest: t,
        download: t,
        user: t,
        health: t,
    };
    SequencerClient::builder(base(addr))
        .timeouts(timeouts)
        .limits(limits)
        .build()
        .unwrap()
}

pub(crate) fn base(addr: SocketAddr) -> RedactedUrl {
    RedactedUrl::parse(&format!("http://{addr}")).unwrap()
}
