//! The per-command request budget, enforced by a transport layer under the retry layer so that
//! every attempt counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use alloy::rpc::json_rpc::{RequestPacket, ResponsePacket};
use alloy::transports::{TransportError, TransportErrorKind, TransportFut};
use tower::{Layer, Service};

/// A shared counter of requests with a limit. Clones share the counter.
///
/// Every HTTP attempt made through a provider built with [`connect`](crate::connect) or
/// [`provider_with_transport`](crate::provider_with_transport) takes one unit, retries included;
/// once the limit is reached, requests fail without being sent and the scan reports
/// [`Error::BudgetExhausted`](crate::Error::BudgetExhausted).
#[derive(Debug, Clone)]
pub struct RequestBudget {
    inner: Arc<Counter>,
}

#[derive(Debug)]
struct Counter {
    used: AtomicU64,
    limit: u64,
}

impl RequestBudget {
    /// A budget of `limit` requests.
    pub fn new(limit: u64) -> Self {
        Self {
            inner: Arc::new(Counter {
                used: AtomicU64::new(0),
                limit,
            }),
        }
    }

    /// A budget that never runs out.
    pub fn unlimited() -> Self {
        Self::new(u64::MAX)
    }

    /// Requests sent so far (attempts, retries included).
    pub fn used(&self) -> u64 {
        self.inner.used.load(Ordering::Relaxed)
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.inner.limit
    }

    /// Requests still allowed.
    pub fn remaining(&self) -> u64 {
        self.limit().saturating_sub(self.used())
    }

    /// Takes one unit, or fails when none is left.
    pub(crate) fn acquire(&self) -> Result<(), BudgetExhaustedError> {
        let limit = self.inner.limit;
        self.inner
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                (used < limit).then_some(used + 1)
            })
            .map(drop)
            .map_err(|_| BudgetExhaustedError { limit })
    }
}

/// The transport error a spent budget produces; [`crate::Error::BudgetExhausted`] to callers.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request budget of {limit} requests is exhausted")]
pub(crate) struct BudgetExhaustedError {
    pub(crate) limit: u64,
}

/// Counts each request against a [`RequestBudget`].
#[derive(Debug, Clone)]
pub(crate) struct BudgetLayer {
    budget: RequestBudget,
}

impl BudgetLayer {
    pub(crate) fn new(budget: RequestBudget) -> Self {
        Self { budget }
    }
}

impl<S> Layer<S> for BudgetLayer {
    type Service = BudgetService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BudgetService {
            inner,
            budget: self.budget.clone(),
        }
    }
}

/// The service of [`BudgetLayer`].
#[derive(Debug, Clone)]
pub(crate) struct BudgetService<S> {
    inner: S,
    budget: RequestBudget,
}

impl<S> BudgetService<S> {
    /// The budget.
    pub(crate) fn budget(&self) -> &RequestBudget {
        &self.budget
    }

    /// The wrapped service.
    pub(crate) fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S> Service<RequestPacket> for BudgetService<S>
where
    S: Service<
            RequestPacket,
            Response = ResponsePacket,
            Error = TransportError,
            Future = TransportFut<'static>,
        >,
{
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        match self.budget.acquire() {
            Ok(()) => self.inner.call(request),
            Err(spent) => Box::pin(std::future::ready(Err(TransportErrorKind::custom(spent)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_counts_until_the_limit() {
        let budget = RequestBudget::new(2);
        let shared = budget.clone();
        assert!(budget.acquire().is_ok());
        assert!(shared.acquire().is_ok());
        assert_eq!(budget.acquire().unwrap_err().limit, 2);
        assert_eq!((budget.used(), budget.remaining()), (2, 0));
        assert_eq!(RequestBudget::unlimited().remaining(), u64::MAX);
    }
}
