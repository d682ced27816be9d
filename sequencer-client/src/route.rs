//! The sequencer routes this client speaks.

use std::fmt;

/// One sequencer HTTP route. Errors name the route, never the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// `GET /finalized_state/inclusion_block`: the cheap poll.
    InclusionBlock,
    /// `GET /finalized_state/digest`: block, count and SHA-256 of the finalized state.
    Digest,
    /// `GET /finalized_state`: the finalized `WalletSnapshot` bytes.
    FinalizedState,
    /// `POST /tx`: submit a signed user operation.
    Tx,
    /// `GET /fee`: fee exponents of the open frame.
    Fee,
    /// `GET /nonce?sender=…`: next nonce of a sender.
    Nonce,
    /// `GET /domain`: the EIP-712 domain.
    Domain,
    /// `GET /livez`: process liveness.
    Livez,
    /// `GET /readyz`: readiness.
    Readyz,
    /// `GET /healthz`: readiness with details.
    Healthz,
}

impl Route {
    /// Every route, in declaration order.
    pub const ALL: [Route; 10] = [
        Route::InclusionBlock,
        Route::Digest,
        Route::FinalizedState,
        Route::Tx,
        Route::Fee,
        Route::Nonce,
        Route::Domain,
        Route::Livez,
        Route::Readyz,
        Route::Healthz,
    ];

    /// The path appended to the base URL.
    pub const fn path(self) -> &'static str {
        match self {
            Route::InclusionBlock => "/finalized_state/inclusion_block",
            Route::Digest => "/finalized_state/digest",
            Route::FinalizedState => "/finalized_state",
            Route::Tx => "/tx",
            Route::Fee => "/fee",
            Route::Nonce => "/nonce",
            Route::Domain => "/domain",
            Route::Livez => "/livez",
            Route::Readyz => "/readyz",
            Route::Healthz => "/healthz",
        }
    }

    /// The HTTP method as text.
    pub const fn method(self) -> &'static str {
        match self {
            Route::Tx => "POST",
            _ => "GET",
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method(), self.path())
    }
}
