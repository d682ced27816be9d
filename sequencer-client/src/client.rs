//! The client: one `reqwest::Client`, a redacted base URL, timeouts, caps and a request count.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use reqwest::{RequestBuilder, Url, header::HeaderValue, redirect};
use serde::de::DeserializeOwned;

use crate::{
    Error, Limits, RedactedUrl, Result, Route, Timeouts,
    body::{Reply, decode_api_error, decode_json, sanitize},
};

/// The `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("sequencer-client/", env!("CARGO_PKG_VERSION"));

/// A typed client for one sequencer.
///
/// Cheap to clone: clones share the connection pool and the request counter. Built once, with
/// a connect timeout, a client-wide total timeout and a per-route timeout on every request.
/// Redirects are not followed.
#[derive(Clone)]
pub struct SequencerClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: RedactedUrl,
    timeouts: Timeouts,
    limits: Limits,
    requests: AtomicU64,
}

/// Builds a [`SequencerClient`].
#[derive(Debug)]
pub struct ClientBuilder {
    base: RedactedUrl,
    timeouts: Timeouts,
    limits: Limits,
    http: Option<reqwest::Client>,
}

impl ClientBuilder {
    /// Replaces the timeouts.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Replaces the size caps.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Uses an existing `reqwest::Client` (shared with the L1 transport) instead of building one.
    /// Per-route timeouts still apply; its connect timeout and redirect policy are its own.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<SequencerClient> {
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .connect_timeout(self.timeouts.connect)
                .timeout(self.timeouts.longest())
                .redirect(redirect::Policy::none())
                .user_agent(USER_AGENT)
                .build()
                .map_err(|source| Error::Build {
                    source: source.without_url(),
                })?,
        };
        Ok(SequencerClient {
            inner: Arc::new(Inner {
                http,
                base: self.base,
                timeouts: self.timeouts,
                limits: self.limits,
                requests: AtomicU64::new(0),
            }),
        })
    }
}

impl SequencerClient {
    /// A builder with default timeouts and caps.
    pub fn builder(base: RedactedUrl) -> ClientBuilder {
        ClientBuilder {
            base,
            timeouts: Timeouts::default(),
            limits: Limits::default(),
            http: None,
        }
    }

    /// A client with default timeouts and caps.
    pub fn new(base: RedactedUrl) -> Result<Self> {
        Self::builder(base).build()
    }

    /// The base URL (renders redacted).
    pub fn base_url(&self) -> &RedactedUrl {
        &self.inner.base
    }

    /// The timeouts in force.
    pub fn timeouts(&self) -> &Timeouts {
        &self.inner.timeouts
    }

    /// The caps in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// How many requests this client (and its clones) has sent.
    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    pub(crate) fn url(&self, route: Route) -> Url {
        self.inner.base.join_route(route.path())
    }

    pub(crate) fn get(&self, route: Route) -> RequestBuilder {
        self.inner.http.get(self.url(route))
    }

    pub(crate) fn get_url(&self, url: Url) -> RequestBuilder {
        self.inner.http.get(url)
    }

    pub(crate) fn post(&self, route: Route) -> RequestBuilder {
        self.inner.http.post(self.url(route))
    }

    /// Sends with the route's timeout; every attempt is counted.
    pub(crate) async fn send(&self, route: Route, request: RequestBuilder) -> Result<Reply> {
        let after = self.inner.timeouts.for_route(route);
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let response = request
            .timeout(after)
            .send()
            .await
            .map_err(|e| Error::from_reqwest(route, after, e))?;
        tracing::debug!(
            target: "sequencer_client",
            %route,
            status = response.status().as_u16(),
            "response"
        );
        Ok(Reply {
            route,
            after,
            response,
        })
    }

    /// Turns a non-2xx reply into its typed error (reading a small, best-effort error body).
    pub(crate) async fn refuse(&self, mut reply: Reply) -> Error {
        let route = reply.route;
        let status = reply.status();
        if status == 404 {
            return Error::NotFound { route };
        }
        let max = self.inner.limits.error_snippet_bytes;
        let body = reply
            .read_capped(self.inner.limits.json_bytes)
            .await
            .unwrap_or_default();
        let api = decode_api_error(&body, max);
        match (status, api) {
            (304, _) => Error::UnsolicitedNotModified { route },
            (503, api) => Error::Unavailable { route, api },
            (400..=499, Some(api)) => Error::Rejected { route, status, api },
            (_, _) => Error::Status {
                route,
                status,
                body: sanitize(&body, max),
            },
        }
    }

    /// GET a JSON route: 2xx, body within the JSON cap, decoded into `T`.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        route: Route,
        request: RequestBuilder,
    ) -> Result<T> {
        let reply = self.send(route, request).await?;
        self.json_reply(reply).await
    }

    /// Decodes a 2xx JSON reply; anything else is refused.
    pub(crate) async fn json_reply<T: DeserializeOwned>(&self, mut reply: Reply) -> Result<T> {
        if !(200..300).contains(&reply.status()) {
            return Err(self.refuse(reply).await);
        }
        let body = reply.read_capped(self.inner.limits.json_bytes).await?;
        decode_json(reply.route, &body)
    }
}

/// A header value as printable ASCII of at most `max` bytes, else `None`.
pub(crate) fn header_text(value: &HeaderValue, max: usize) -> Option<String> {
    let text = value.to_str().ok()?;
    (text.len() <= max && text.bytes().all(|b| b.is_ascii_graphic() || b == b' '))
        .then(|| text.to_owned())
}

impl fmt::Debug for SequencerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SequencerClient")
            .field("base", &self.inner.base)
            .field("timeouts", &self.inner.timeouts)
            .field("limits", &self.inner.limits)
            .field("requests", &self.requests())
            .finish()
    }
}
