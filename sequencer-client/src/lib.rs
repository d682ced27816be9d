//! Typed async HTTP client for the Cartesi wallet sequencer.
//!
//! * The finalized-state routes the watchdog polls, in both response shapes the sequencer has
//!   served (`executed_input_count` / `X-Executed-Input-Count` and the legacy `l2_tx_index` /
//!   `X-L2-Tx-Index`), the digest route, and `/finalized_state` either streamed to a file with
//!   its SHA-256 computed on the fly or read into memory under a cap; `ETag` / `If-None-Match`
//!   answered by 304 becomes [`Conditional::NotModified`].
//! * The user API (`POST /tx`, `GET /fee`, `/nonce`, `/domain`) and the health routes.
//! * One `reqwest` client built once with a connect timeout and a total timeout; every request
//!   also carries its route's timeout ([`Timeouts`]) and every body a size cap ([`Limits`]).
//! * Base URLs live in [`RedactedUrl`], which never prints userinfo, paths or queries, and
//!   client errors are stripped of their URL: no [`Error`] ever shows a secret.
//! * 404 and 503 are distinct [`Error`] variants; every error has a [`Class`]. Hostile answers
//!   (bad JSON, missing headers, oversized or slow bodies) are errors, never panics.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod body;
mod client;
mod config;
mod error;
mod finalized;
mod route;
mod url;
mod user;

pub use client::{ClientBuilder, SequencerClient, USER_AGENT};
pub use config::{Limits, Timeouts};
pub use error::{ApiError, Class, Error, Result};
pub use finalized::{
    Conditional, ETag, FinalizedDigest, FinalizedPoint, InputCursor, StateBytes, StateFile,
    StateMeta, X_EXECUTED_INPUT_COUNT, X_HISTORY_ERA, X_INCLUSION_BLOCK, X_L2_TX_INDEX,
    X_RECOVERY_GENERATION,
};
pub use route::Route;
pub use url::{RedactedUrl, UrlError};
pub use user::{Domain, FeeQuote, Health, NextNonce, TxAccepted, TxRequest};

/// The URL type of the underlying HTTP client.
pub use reqwest::Url;
