//! The provider stack, built once per command: reqwest client with timeouts, an HTTP transport
//! with a response size cap, the retry layer and the budget layer.
//!
//! The transport is ours rather than alloy's `Http` because it must stop reading a response at
//! the size cap (spec `watchdog.md` §10) instead of buffering whatever a provider sends, and must
//! check that the response id matches the request.

use std::fmt;
use std::task::{Context, Poll};
use std::time::Duration;

use alloy::providers::RootProvider;
use alloy::rpc::client::ClientBuilder;
use alloy::rpc::json_rpc::{RequestPacket, ResponsePacket};
use alloy::transports::{IntoBoxTransport, TransportError, TransportErrorKind, TransportFut};
use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use tower::Service;

use crate::budget::{BudgetLayer, RequestBudget};
use crate::error::{Error, Result};
use crate::redact::redact;
use crate::retry::{RetryLayer, RetryPolicy};

/// The provider type this crate builds: alloy's type-erased root provider.
pub type L1Provider = RootProvider;

/// Timeouts, retries and caps of the provider stack. The defaults follow the spec.
#[derive(Debug, Clone)]
pub struct RpcConfig {
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Total time for one HTTP attempt, body included.
    pub request_timeout: Duration,
    /// Retries after the first attempt on connect errors, 5xx and 429.
    pub max_retries: u32,
    /// First retry delay; it doubles on each retry and varies by ±20 %.
    pub backoff: Duration,
    /// Upper bound for a server's `Retry-After`.
    pub max_retry_after: Duration,
    /// Largest response body read; a larger one counts as "range too large".
    pub max_response_bytes: usize,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(10),
            max_response_bytes: 32 << 20,
        }
    }
}

impl RpcConfig {
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max_retries,
            backoff: self.backoff,
            max_retry_after: self.max_retry_after,
        }
    }
}

/// Builds the provider for an `http(s)` JSON-RPC endpoint: reqwest client with the configured
/// timeouts, size-capped transport, bounded retries, and every attempt counted in `budget`.
///
/// Build it once per command and share it; the URL is never logged unredacted.
pub fn connect(url: &str, config: &RpcConfig, budget: &RequestBudget) -> Result<L1Provider> {
    let parsed = Url::parse(url).map_err(|e| Error::Config {
        reason: format!("RPC URL is not a URL: {e}"),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Config {
            reason: format!("RPC URL scheme {:?} is not http(s)", parsed.scheme()),
        });
    }
    let client = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .build()
        .map_err(|e| Error::Config {
            reason: format!("HTTP client: {}", e.without_url()),
        })?;
    let is_local = parsed
        .host_str()
        .is_some_and(|h| h == "localhost" || h == "127.0.0.1");
    let transport = HttpTransport {
        client,
        url: parsed,
        max_response_bytes: config.max_response_bytes,
    };
    Ok(provider_with_transport(transport, is_local, config, budget))
}

/// Wraps any alloy transport (alloy's mock transport, an in-process fake) in the same retry and
/// budget layers as [`connect`], so tests and benchmarks exercise the production stack.
pub fn provider_with_transport<T: IntoBoxTransport>(
    transport: T,
    is_local: bool,
    config: &RpcConfig,
    budget: &RequestBudget,
) -> L1Provider {
    let client = ClientBuilder::default()
        .layer(RetryLayer::new(config.retry_policy()))
        .layer(BudgetLayer::new(budget.clone()))
        .transport(transport, is_local);
    RootProvider::new(client)
}

/// A response body larger than [`RpcConfig::max_response_bytes`].
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("response larger than {limit} bytes")]
pub(crate) struct ResponseTooLarge {
    pub(crate) limit: usize,
}

/// A response whose id is not the request's.
#[derive(Debug, thiserror::Error)]
#[error("response id {found} does not match request id {expected}")]
struct IdMismatch {
    expected: String,
    found: String,
}

/// Logged error bodies are cut to this many bytes.
const MAX_ERROR_BODY: usize = 2048;

/// JSON-RPC over HTTP POST with a body size cap.
#[derive(Clone)]
struct HttpTransport {
    client: reqwest::Client,
    url: Url,
    max_response_bytes: usize,
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransport")
            .field("url", &redact(&self.url))
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    async fn send(self, request: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let body = serde_json::to_vec(&request).map_err(TransportError::SerError)?;
        let mut response = self
            .client
            .post(self.url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body)
            .send()
            .await
            .map_err(|e| TransportErrorKind::custom(e.without_url()))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_secs);
        let too_large = ResponseTooLarge {
            limit: self.max_response_bytes,
        };
        if response
            .content_length()
            .is_some_and(|len| len > self.max_response_bytes as u64)
        {
            return Err(TransportErrorKind::custom(too_large));
        }
        let mut buf = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| TransportErrorKind::custom(e.without_url()))?
        {
            if buf.len() + chunk.len() > self.max_response_bytes {
                return Err(TransportErrorKind::custom(too_large));
            }
            buf.extend_from_slice(&chunk);
        }
        let success = (200..300).contains(&status);
        // 4xx bodies may carry a JSON-RPC error object; 429 and 5xx stay HTTP errors so that the
        // retry layer and the classifier see the status.
        let rpc_error_body = (400..500).contains(&status) && status != 429;
        if !success {
            if rpc_error_body
                && let Ok(packet) = serde_json::from_slice::<ResponsePacket>(&buf)
                && packet.is_error()
            {
                return check_id(&request, packet);
            }
            return Err(TransportErrorKind::http_error_with_retry_after(
                status,
                truncated(&buf),
                retry_after,
            ));
        }
        let packet = serde_json::from_slice::<ResponsePacket>(&buf)
            .map_err(|e| TransportError::deser_err(e, truncated(&buf)))?;
        check_id(&request, packet)
    }
}

fn check_id(
    request: &RequestPacket,
    packet: ResponsePacket,
) -> Result<ResponsePacket, TransportError> {
    if let (RequestPacket::Single(req), ResponsePacket::Single(resp)) = (request, &packet)
        && req.id() != &resp.id
    {
        return Err(TransportErrorKind::custom(IdMismatch {
            expected: req.id().to_string(),
            found: resp.id.to_string(),
        }));
    }
    Ok(packet)
}

/// The body as text, cut to [`MAX_ERROR_BODY`] bytes with control characters escaped.
fn truncated(body: &[u8]) -> String {
    let cut = &body[..body.len().min(MAX_ERROR_BODY)];
    String::from_utf8_lossy(cut).escape_debug().to_string()
}

impl Service<RequestPacket> for HttpTransport {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        Box::pin(self.clone().send(request))
    }
}
