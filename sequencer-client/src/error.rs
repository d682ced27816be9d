//! Typed errors: every failure names its route and has a class.

use std::{path::PathBuf, time::Duration};

use crate::Route;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Who can fix a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Likely to pass on a later run: the sequencer is down, slow, not ready or misbehaving.
    Transient,
    /// Needs an operator: a refused request, a bad URL, a wrong deployment.
    Operator,
    /// A local failure: the file system, or a bug.
    Internal,
}

impl Class {
    /// The lowercase name used in summaries and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Class::Transient => "transient",
            Class::Operator => "operator",
            Class::Internal => "internal",
        }
    }
}

/// The JSON error body of the sequencer: `{"ok":false,"code":"…","message":"…"}`.
///
/// Both strings come from the peer: they are truncated and have control characters escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The machine-readable code, e.g. `EXECUTION_REJECTED`.
    pub code: String,
    /// The human-readable message.
    pub message: String,
}

impl ApiError {
    /// Whether the code equals `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// A sequencer request failed.
///
/// `Display` never contains the base URL: only the route, the status and sanitized peer text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 404: the route has nothing to serve (no comparable checkpoint yet, or an absent route).
    #[error("{route}: not found (404)")]
    NotFound {
        /// The route.
        route: Route,
    },
    /// 503: the sequencer is unavailable; on finalized routes usually its divergence marker.
    #[error("{route}: unavailable (503){}", detail_suffix(.api))]
    Unavailable {
        /// The route.
        route: Route,
        /// The JSON error body, when there was one.
        api: Option<ApiError>,
    },
    /// A 4xx answer carrying the sequencer's JSON error body (e.g. a rejected `POST /tx`).
    #[error("{route}: rejected with HTTP {status}: {api}")]
    Rejected {
        /// The route.
        route: Route,
        /// The HTTP status code.
        status: u16,
        /// The JSON error body.
        api: ApiError,
    },
    /// Any other unexpected status.
    #[error("{route}: unexpected HTTP {status}{}", snippet_suffix(.body))]
    Status {
        /// The route.
        route: Route,
        /// The HTTP status code.
        status: u16,
        /// The start of the body, sanitized (empty if none).
        body: String,
    },
    /// The request did not finish within the route's timeout.
    #[error("{route}: timed out after {}", human(*.after))]
    Timeout {
        /// The route.
        route: Route,
        /// The configured total timeout.
        after: Duration,
    },
    /// The connection could not be established.
    #[error("{route}: cannot connect")]
    Connect {
        /// The route.
        route: Route,
        /// The client error, URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// The exchange broke after connecting (reset, truncated body, protocol error).
    #[error("{route}: transport error")]
    Transport {
        /// The route.
        route: Route,
        /// The client error, URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// The body is larger than the cap.
    #[error("{route}: response body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The route.
        route: Route,
        /// The cap in bytes.
        limit: u64,
    },
    /// A 2xx answer that does not have the documented shape (bad JSON, missing header, …).
    #[error("{route}: bad response: {detail}")]
    BadResponse {
        /// The route.
        route: Route,
        /// What was wrong, sanitized.
        detail: String,
    },
    /// A 304 answered a request that carried no `If-None-Match`.
    #[error("{route}: unsolicited 304 Not Modified")]
    UnsolicitedNotModified {
        /// The route.
        route: Route,
    },
    /// Writing the downloaded state failed.
    #[error("cannot write {}", .path.display())]
    Io {
        /// The file being written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP client could not be built (TLS backend initialisation).
    #[error("cannot build the HTTP client")]
    Build {
        /// The client error.
        #[source]
        source: reqwest::Error,
    },
}

fn detail_suffix(api: &Option<ApiError>) -> String {
    api.as_ref().map(|a| format!(": {a}")).unwrap_or_default()
}

fn snippet_suffix(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

impl Error {
    /// Who can fix it.
    pub fn class(&self) -> Class {
        match self {
            Error::NotFound { .. }
            | Error::Unavailable { .. }
            | Error::Timeout { .. }
            | Error::Connect { .. }
            | Error::Transport { .. }
            | Error::BodyTooLarge { .. }
            | Error::BadResponse { .. }
            | Error::UnsolicitedNotModified { .. } => Class::Transient,
            Error::Status { status, .. } | Error::Rejected { status, .. } => {
                if *status == 429 || *status >= 500 {
                    Class::Transient
                } else {
                    Class::Operator
                }
            }
            Error::Io { .. } | Error::Build { .. } => Class::Internal,
        }
    }

    /// The route of the failed request, when there was one.
    pub fn route(&self) -> Option<Route> {
        match self {
            Error::NotFound { route }
            | Error::Unavailable { route, .. }
            | Error::Rejected { route, .. }
            | Error::Status { route, .. }
            | Error::Timeout { route, .. }
            | Error::Connect { route, .. }
            | Error::Transport { route, .. }
            | Error::BodyTooLarge { route, .. }
            | Error::BadResponse { route, .. }
            | Error::UnsolicitedNotModified { route } => Some(*route),
            Error::Io { .. } | Error::Build { .. } => None,
        }
    }

    /// The HTTP status, when the failure was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::NotFound { .. } => Some(404),
            Error::Unavailable { .. } => Some(503),
            Error::UnsolicitedNotModified { .. } => Some(304),
            Error::Rejected { status, .. } | Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the route is absent on this sequencer build (404, 405 or 501), so a caller
    /// may fall back (e.g. from `/finalized_state/digest` to the full download).
    pub fn is_route_absent(&self) -> bool {
        matches!(self.status(), Some(404 | 405 | 501))
    }

    /// Whether the peer answered with something malformed or oversized.
    pub fn is_bad_response(&self) -> bool {
        matches!(
            self,
            Error::BadResponse { .. }
                | Error::BodyTooLarge { .. }
                | Error::UnsolicitedNotModified { .. }
        )
    }

    /// The peer's JSON error body, if it sent one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Rejected { api, .. } => Some(api),
            Error::Unavailable { api, .. } => api.as_ref(),
            _ => None,
        }
    }

    pub(crate) fn from_reqwest(route: Route, after: Duration, err: reqwest::Error) -> Self {
        let err = err.without_url();
        if err.is_timeout() {
            Error::Timeout { route, after }
        } else if err.is_connect() {
            Error::Connect { route, source: err }
        } else {
            Error::Transport { route, source: err }
        }
    }

    pub(crate) fn bad(route: Route, detail: impl Into<String>) -> Self {
        Error::BadResponse {
            route,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_exit_contract() {
        let r = Route::Tx;
        assert_eq!(Error::NotFound { route: r }.class(), Class::Transient);
        let status = |status| Error::Status {
            route: r,
            status,
            body: String::new(),
        };
        assert_eq!(status(500).class(), Class::Transient);
        assert_eq!(status(429).class(), Class::Transient);
        assert_eq!(status(400).class(), Class::Operator);
        let io = Error::Io {
            path: "x".into(),
            source: std::io::Error::other("disk"),
        };
        assert_eq!(io.class(), Class::Internal);
        assert!(status(405).is_route_absent());
        assert!(status(501).is_route_absent());
        assert!(!status(500).is_route_absent());
    }

    #[test]
    fn display_names_route_and_detail() {
        let e = Error::Unavailable {
            route: Route::Digest,
            api: Some(ApiError {
                code: "UNAVAILABLE".into(),
                message: "diverged".into(),
            }),
        };
        assert_eq!(
            e.to_string(),
            "GET /finalized_state/digest: unavailable (503): UNAVAILABLE: diverged"
        );
        let t = Error::Timeout {
            route: Route::InclusionBlock,
            after: Duration::from_millis(250),
        };
        assert_eq!(
            t.to_string(),
            "GET /finalized_state/inclusion_block: timed out after 250 ms"
        );
    }
}
