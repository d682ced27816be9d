//! A bounded HTTP retry layer: connect errors, 5xx and 429, exponential backoff with jitter,
//! `Retry-After` honoured up to a cap (spec `watchdog.md` §7).
//!
//! alloy's `RetryBackoffLayer` is not used: its default policy also retries JSON-RPC `-32005`
//! answers, which are range errors here and must never be repeated unchanged, and it replaces
//! the final error with a string, which would hide the HTTP status from classification.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::task::{Context, Poll};
use std::time::Duration;

use alloy::rpc::json_rpc::{RequestPacket, ResponsePacket};
use alloy::transports::{RpcError, TransportError, TransportFut};
use tower::{Layer, Service};

/// Retry parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Retries after the first attempt.
    pub(crate) max_retries: u32,
    /// First backoff; doubles on each retry.
    pub(crate) backoff: Duration,
    /// Upper bound for a server's `Retry-After`.
    pub(crate) max_retry_after: Duration,
}

impl RetryPolicy {
    /// The delay before retry number `retry` (0-based), or `None` if `err` is not retryable.
    fn delay(&self, err: &TransportError, retry: u32) -> Option<Duration> {
        let RpcError::Transport(kind) = err else {
            return None;
        };
        if let Some(http) = kind.as_http_error() {
            if http.status != 429 && !(500..600).contains(&http.status) {
                return None;
            }
            if let Some(after) = kind.retry_after() {
                return Some(after.min(self.max_retry_after));
            }
        } else {
            let connect = kind
                .as_custom()
                .and_then(|e| e.downcast_ref::<reqwest::Error>())
                .is_some_and(reqwest::Error::is_connect);
            if !connect {
                return None;
            }
        }
        let base = self.backoff.saturating_mul(1u32 << retry.min(16));
        Some(jitter(base))
    }
}

/// `base` ±20 %.
fn jitter(base: Duration) -> Duration {
    let random = RandomState::new().hash_one(base);
    // A factor in [0.8, 1.2] with 1/1000 resolution.
    let permille = 800 + (random % 401) as u32;
    base.saturating_mul(permille) / 1000
}

/// Retries failed requests following a [`RetryPolicy`].
#[derive(Debug, Clone)]
pub(crate) struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        Self { policy }
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = RetryService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RetryService {
            inner,
            policy: self.policy,
        }
    }
}

/// The service of [`RetryLayer`].
#[derive(Debug, Clone)]
pub(crate) struct RetryService<S> {
    inner: S,
    policy: RetryPolicy,
}

impl<S> Service<RequestPacket> for RetryService<S>
where
    S: Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        > + Clone
        + Send
        + 'static,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let inner = self.inner.clone();
        let policy = self.policy;
        Box::pin(policy.run(move || {
            let (mut inner, request) = (inner.clone(), request.clone());
            async move {
                std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
                inner.call(request).await
            }
        }))
    }
}

impl<S> RetryService<S> {
    /// The policy.
    pub(crate) fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The wrapped service.
    pub(crate) fn inner(&self) -> &S {
        &self.inner
    }
}

impl RetryPolicy {
    /// Runs `attempt` until it succeeds, fails with an error that is not retried, or the retries
    /// are spent; the last result is returned as is.
    pub(crate) async fn run<T, F, Fut>(self, mut attempt: F) -> Result<T, TransportError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, TransportError>>,
    {
        let mut retry = 0;
        loop {
            let result = attempt().await;
            let delay = match &result {
                Err(err) if retry < self.max_retries => self.delay(err, retry),
                _ => None,
            };
            let Some(delay) = delay else { return result };
            tracing::debug!(target: "l1::retry", retry, ?delay, "retrying request");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use alloy::rpc::json_rpc::{Id, Request};
    use alloy::transports::TransportErrorKind;

    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_retries: 3,
        backoff: Duration::from_millis(1),
        max_retry_after: Duration::from_millis(5),
    };

    fn request() -> RequestPacket {
        RequestPacket::Single(
            Request::new("eth_chainId", Id::Number(1), ())
                .serialize()
                .unwrap(),
        )
    }

    /// Calls a service that fails with `make_err` and counts the attempts.
    async fn attempts(make_err: fn() -> TransportError) -> (u32, TransportError) {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let failing = tower::service_fn(move |_req: RequestPacket| -> TransportFut<'static> {
            counter.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { Err(make_err()) })
        });
        let mut service = RetryLayer::new(POLICY).layer(failing);
        let err = service.call(request()).await.unwrap_err();
        (calls.load(Ordering::SeqCst), err)
    }

    #[tokio::test]
    async fn retries_429_and_5xx_three_times_and_keeps_the_last_error() {
        let (calls, err) =
            attempts(|| TransportErrorKind::http_error(429, "slow down".into())).await;
        assert_eq!(calls, 4);
        let RpcError::Transport(kind) = err else {
            panic!("{err}")
        };
        assert_eq!(kind.as_http_error().unwrap().status, 429);
        let (calls, _) = attempts(|| TransportErrorKind::http_error(502, String::new())).await;
        assert_eq!(calls, 4);
    }

    #[tokio::test]
    async fn does_not_retry_client_errors_or_json_rpc_errors() {
        let (calls, _) = attempts(|| TransportErrorKind::http_error(400, String::new())).await;
        assert_eq!(calls, 1);
        let (calls, _) = attempts(|| {
            TransportError::ErrorResp(alloy::rpc::json_rpc::ErrorPayload {
                code: -32005,
                message: "query returned more than 10000 results".into(),
                data: None,
            })
        })
        .await;
        assert_eq!(calls, 1);
        let (calls, _) = attempts(|| TransportErrorKind::custom_str("boom")).await;
        assert_eq!(calls, 1);
    }

    #[test]
    fn retry_after_is_capped_and_backoff_doubles_with_jitter() {
        let err = TransportErrorKind::http_error_with_retry_after(
            429,
            String::new(),
            Some(Duration::from_secs(3600)),
        );
        assert_eq!(POLICY.delay(&err, 0), Some(Duration::from_millis(5)));
        let policy = RetryPolicy {
            backoff: Duration::from_millis(500),
            ..POLICY
        };
        let err = TransportErrorKind::http_error(503, String::new());
        for (retry, base) in [(0, 500), (1, 1000), (2, 2000)] {
            let delay = policy.delay(&err, retry).unwrap().as_millis();
            assert!(
                (base * 8 / 10..=base * 12 / 10).contains(&delay),
                "{retry}: {delay}"
            );
        }
    }
}
