//! The provider stack, built once per command: reqwest client with timeouts, an HTTP transport
//! with a response size cap, the retry layer and the budget layer.
//!
//! The transport is ours rather than alloy's `Http` because it must stop reading a response at
//! the size cap (spec `watchdog.md` §10) instead of buffering whatever a provider sends, and must
//! check that the response id matches the request. [`get_logs`] reads `eth_getLogs` answers over
//! the same stack as they stream, decoding each log as it arrives.

use std::fmt;
use std::task::{Context, Poll};
use std::time::Duration;

use alloy::providers::RootProvider;
use alloy::rpc::client::{ClientBuilder, RpcClientInner};
use alloy::rpc::json_rpc::{
    Id, RequestPacket, Response, ResponsePacket, ResponsePayload, RpcError, SerializedRequest,
};
use alloy::transports::{IntoBoxTransport, TransportError, TransportErrorKind, TransportFut};
use alloy_primitives::Bytes;
use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use tower::Service;

use crate::budget::{BudgetLayer, BudgetService, RequestBudget};
use crate::error::{Error, Result};
use crate::log::{Expect, LogFilter, RawLog};
use crate::page::{Page, PageReader};
use crate::redact::redact;
use crate::retry::{RetryLayer, RetryPolicy, RetryService};

const GET_LOGS: &str = "eth_getLogs";

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

/// A response whose headers are in, its body still to read.
struct Answer {
    response: reqwest::Response,
    status: u16,
    retry_after: Option<Duration>,
    limit: usize,
    read: usize,
}

impl Answer {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The next piece of the body; past the size cap, [`ResponseTooLarge`].
    async fn chunk(&mut self) -> Result<Option<Bytes>, TransportError> {
        let chunk = self
            .response
            .chunk()
            .await
            .map_err(|e| TransportErrorKind::custom(e.without_url()))?;
        if let Some(chunk) = &chunk {
            self.read += chunk.len();
            if self.read > self.limit {
                return Err(TransportErrorKind::custom(ResponseTooLarge {
                    limit: self.limit,
                }));
            }
        }
        Ok(chunk.map(Bytes))
    }

    /// The whole body.
    async fn body(&mut self) -> Result<Vec<u8>, TransportError> {
        let mut buf = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            buf.extend_from_slice(&chunk);
        }
        Ok(buf)
    }

    /// A non-2xx answer with body `buf`: the JSON-RPC error a 4xx body carries, else an HTTP
    /// error (429 and 5xx always, so that the retry layer and the classifier see the status).
    /// `request_id` is `None` for a batch, whose answers are not matched here.
    fn failure(
        &self,
        request_id: Option<&Id>,
        buf: &[u8],
    ) -> Result<ResponsePacket, TransportError> {
        let rpc_error_body = (400..500).contains(&self.status) && self.status != 429;
        if rpc_error_body
            && let Ok(packet) = serde_json::from_slice::<ResponsePacket>(buf)
            && packet.is_error()
        {
            return check_id(request_id, packet);
        }
        Err(TransportErrorKind::http_error_with_retry_after(
            self.status,
            truncated(buf),
            self.retry_after,
        ))
    }
}

impl HttpTransport {
    /// Posts a JSON-RPC request; the answer once its headers are in, refused when it announces
    /// a body over the size cap.
    async fn post(&self, body: Vec<u8>) -> Result<Answer, TransportError> {
        let response = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body)
            .send()
            .await
            .map_err(|e| TransportErrorKind::custom(e.without_url()))?;
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_secs);
        let limit = self.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(TransportErrorKind::custom(ResponseTooLarge { limit }));
        }
        Ok(Answer {
            status: response.status().as_u16(),
            response,
            retry_after,
            limit,
            read: 0,
        })
    }

    async fn send(self, request: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let body = serde_json::to_vec(&request).map_err(TransportError::SerError)?;
        let mut answer = self.post(body).await?;
        let buf = answer.body().await?;
        let id = match &request {
            RequestPacket::Single(req) => Some(req.id()),
            RequestPacket::Batch(_) => None,
        };
        if !answer.is_success() {
            return answer.failure(id, &buf);
        }
        let packet = serde_json::from_slice::<ResponsePacket>(&buf)
            .map_err(|e| TransportError::deser_err(e, truncated(&buf)))?;
        check_id(id, packet)
    }

    /// One `eth_getLogs` attempt whose 2xx body is read into a [`Page`] as it arrives (see
    /// [`crate::response`]); other answers as [`send`](Self::send) reads them, a JSON-RPC
    /// error object becoming [`RpcError::ErrorResp`] as alloy makes it.
    async fn get_logs(
        &self,
        request: &SerializedRequest,
        want: &Expect,
    ) -> Result<Page, TransportError> {
        let body = serde_json::to_vec(request).map_err(TransportError::SerError)?;
        let mut answer = self.post(body).await?;
        if !answer.is_success() {
            let buf = answer.body().await?;
            let packet = answer.failure(Some(request.id()), &buf)?;
            return Err(match packet {
                ResponsePacket::Single(Response {
                    payload: ResponsePayload::Failure(error),
                    ..
                }) => RpcError::ErrorResp(error),
                _ => TransportErrorKind::custom_str("a JSON-RPC error that is not one object"),
            });
        }
        let mut reader = PageReader::new(want);
        while let Some(chunk) = answer.chunk().await? {
            reader.feed(&chunk)?;
        }
        let (envelope, page) = reader.finish()?;
        if envelope.id != *request.id() {
            return Err(TransportErrorKind::custom(IdMismatch {
                expected: request.id().to_string(),
                found: envelope.id.to_string(),
            }));
        }
        match envelope.error {
            Some(error) => Err(RpcError::ErrorResp(error)),
            None => Ok(page),
        }
    }
}

/// The transport [`connect`] builds: budget under retries over [`HttpTransport`].
type HttpStack = RetryService<BudgetService<HttpTransport>>;

/// One `eth_getLogs` request for `filter`, its logs decoded against `want` as they arrive.
///
/// Over the stack [`connect`] builds, the request is sent on the same reqwest client, counted in
/// the same budget and retried by the same policy as any other, but the body is read chunk by
/// chunk: it is never held whole, nor parsed into a JSON tree or a list of logs. Over any other
/// transport (alloy's mock, an in-process fake), the request goes through alloy, which holds
/// the answer whole, and its logs get the same decoding and checks. Either way, errors are the
/// ones alloy's path produces, so classification sees JSON-RPC error objects with their code,
/// message and data.
pub(crate) async fn get_logs(
    client: &RpcClientInner,
    filter: LogFilter,
    want: &Expect,
) -> Result<Page, TransportError> {
    let Some(stack) = client.transport().as_any().downcast_ref::<HttpStack>() else {
        // alloy holds the answer whole anyway: its logs are parsed at once, then decoded.
        let logs: Vec<RawLog> = client.request(GET_LOGS, (filter,)).await?;
        let mut page = Page::new();
        for (seq, log) in logs.into_iter().enumerate() {
            page.push_log(log, seq, want);
        }
        return Ok(page);
    };
    let request = client
        .make_request(GET_LOGS, (filter,))
        .serialize()
        .map_err(TransportError::SerError)?;
    let (budget, http, request) = (stack.inner().budget(), stack.inner().inner(), &request);
    stack
        .policy()
        .run(move || async move {
            budget.acquire().map_err(TransportErrorKind::custom)?;
            http.get_logs(request, want).await
        })
        .await
}

/// Refuses a single answer whose id is not `id` (`None`: a batch, not matched here).
fn check_id(id: Option<&Id>, packet: ResponsePacket) -> Result<ResponsePacket, TransportError> {
    if let (Some(id), ResponsePacket::Single(resp)) = (id, &packet)
        && *id != resp.id
    {
        return Err(TransportErrorKind::custom(IdMismatch {
            expected: id.to_string(),
            found: resp.id.to_string(),
        }));
    }
    Ok(packet)
}

/// The body as text, cut to [`MAX_ERROR_BODY`] bytes with control characters escaped.
pub(crate) fn truncated(body: &[u8]) -> String {
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

#[cfg(test)]
mod tests {
    use alloy::providers::Provider;
    use alloy::transports::mock::Asserter;

    use super::*;

    #[test]
    fn get_logs_streams_over_the_stack_connect_builds_and_only_there() {
        let budget = RequestBudget::new(1);
        let provider = connect("http://127.0.0.1:1/key", &RpcConfig::default(), &budget).unwrap();
        let client = provider.client();
        let stack = client.transport().as_any().downcast_ref::<HttpStack>();
        assert!(
            stack.is_some(),
            "connect's transport is not the streamed stack"
        );
        assert_eq!(stack.unwrap().inner().budget().limit(), 1);
        let mocked = provider_with_transport(
            alloy::transports::mock::MockTransport::new(Asserter::new()),
            true,
            &RpcConfig::default(),
            &budget,
        );
        let client = mocked.client();
        assert!(
            client
                .transport()
                .as_any()
                .downcast_ref::<HttpStack>()
                .is_none()
        );
    }
}
