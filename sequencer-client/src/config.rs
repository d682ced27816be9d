//! Timeouts and size caps, fixed when the client is built.

use std::time::Duration;

use crate::Route;

/// Per-route total timeouts (connect, send, headers and the whole body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP and TLS connect timeout, shared by every route.
    pub connect: Duration,
    /// `GET /finalized_state/inclusion_block` (default 10 s).
    pub poll: Duration,
    /// `GET /finalized_state/digest` (default 300 s: the sequencer may hash a large state).
    pub digest: Duration,
    /// `GET /finalized_state`, body included (default 600 s).
    pub download: Duration,
    /// The user API: `POST /tx`, `/fee`, `/nonce`, `/domain` (default 10 s).
    pub user: Duration,
    /// `/livez`, `/readyz`, `/healthz` (default 5 s).
    pub health: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            poll: Duration::from_secs(10),
            digest: Duration::from_secs(300),
            download: Duration::from_secs(600),
            user: Duration::from_secs(10),
            health: Duration::from_secs(5),
        }
    }
}

impl Timeouts {
    /// The total timeout of one request on `route`.
    pub fn for_route(&self, route: Route) -> Duration {
        match route {
            Route::InclusionBlock => self.poll,
            Route::Digest => self.digest,
            Route::FinalizedState => self.download,
            Route::Tx | Route::Fee | Route::Nonce | Route::Domain => self.user,
            Route::Livez | Route::Readyz | Route::Healthz => self.health,
        }
    }

    /// The longest per-route timeout: the client-wide total timeout.
    pub fn longest(&self) -> Duration {
        Route::ALL
            .iter()
            .map(|r| self.for_route(*r))
            .max()
            .unwrap_or(self.download)
    }
}

/// Response size caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest JSON body accepted from any route (default 64 KiB).
    pub json_bytes: u64,
    /// Largest `/finalized_state` body accepted by the streaming download (default 1 GiB).
    pub state_bytes: u64,
    /// How much of an error body is kept, with control characters escaped (default 2 KiB).
    pub error_snippet_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            json_bytes: 64 * 1024,
            state_bytes: 1024 * 1024 * 1024,
            error_snippet_bytes: 2048,
        }
    }
}
