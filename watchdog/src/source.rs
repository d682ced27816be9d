//! The sequencer edge of a tick: the spec's injectable `SequencerClient` trait (§1.1), named
//! [`SequencerSource`] here so it does not clash with the concrete
//! [`sequencer_client::SequencerClient`], which implements it.
//!
//! The trait has exactly the requests a tick makes (spec §5 steps 4, 6 and 13.5): the cheap
//! poll, the digest, the streamed state download, and the best-effort evidence download. A
//! test can script the answers (including answers that change between requests) without a
//! server. The tick's use of them lives here too: classifying failures and pinning B (step 6).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use alloy_primitives::B256;
use sequencer_client::{
    Conditional, Error, FinalizedDigest, FinalizedPoint, Result, Route, SequencerClient,
    StateBytes, StateFile,
};

use crate::options::PinMode;
use crate::{Class, Error as WatchdogError, Result as WatchdogResult};

/// The future a [`SequencerSource`] method returns.
pub type SourceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Where a tick reads the sequencer's finalized state (the spec's `SequencerClient` trait).
///
/// Errors are [`sequencer_client::Error`]s, classified by the tick as the spec says: a 404 on
/// the poll is `sequencer_not_ready`, a bad or oversized answer `sequencer_bad_response`,
/// anything else `sequencer_unavailable`; a digest answered 404, 405 or 501 is an absent route
/// ([`Error::is_route_absent`]) and makes `auto` mode download instead.
pub trait SequencerSource: Send + Sync {
    /// `GET /finalized_state/inclusion_block`: P and the informational second field, in either
    /// response shape (`executed_input_count` or the legacy `l2_tx_index`).
    fn inclusion_block(&self) -> SourceFuture<'_, FinalizedPoint>;

    /// `GET /finalized_state/digest`: B, its input count and the SHA-256 of its state bytes.
    fn digest(&self) -> SourceFuture<'_, FinalizedDigest>;

    /// Streams `GET /finalized_state` unconditionally into `path` (created or truncated, 0600,
    /// synced), hashing on the fly, within the source's state cap. An empty body, a body over
    /// the cap or a 304 is a bad response; on error the partial file is removed.
    fn download_state_to_file<'a>(&'a self, path: &'a Path) -> SourceFuture<'a, StateFile>;

    /// `GET /finalized_state` into memory, refusing bodies over `max_bytes` (the evidence
    /// download of a digest-mode divergence).
    fn download_state(&self, max_bytes: u64) -> SourceFuture<'_, StateBytes>;

    /// How many requests this source has sent so far (reported in `last_tick.json`); `0` for
    /// a source that does not count.
    fn requests(&self) -> u64 {
        0
    }
}

/// A 304 to a request without `If-None-Match` is a bad response.
fn unconditional<T>(answer: Conditional<T>) -> Result<T> {
    match answer {
        Conditional::Modified(body) => Ok(body),
        Conditional::NotModified => Err(Error::UnsolicitedNotModified {
            route: Route::FinalizedState,
        }),
    }
}

impl SequencerSource for SequencerClient {
    fn inclusion_block(&self) -> SourceFuture<'_, FinalizedPoint> {
        Box::pin(SequencerClient::inclusion_block(self))
    }

    fn digest(&self) -> SourceFuture<'_, FinalizedDigest> {
        Box::pin(SequencerClient::digest(self))
    }

    fn download_state_to_file<'a>(&'a self, path: &'a Path) -> SourceFuture<'a, StateFile> {
        Box::pin(async move {
            unconditional(SequencerClient::download_state_to_file(self, path, None).await?)
        })
    }

    fn download_state(&self, max_bytes: u64) -> SourceFuture<'_, StateBytes> {
        Box::pin(async move {
            unconditional(SequencerClient::download_state(self, max_bytes, None).await?)
        })
    }

    fn requests(&self) -> u64 {
        SequencerClient::requests(self)
    }
}

/// The sequencer's state at B: its digest, and its bytes when downloaded.
pub(crate) struct Pinned {
    /// B.
    pub(crate) block: u64,
    /// The digest of the state at B.
    pub(crate) sha256: B256,
    /// The downloaded bytes (download mode).
    pub(crate) bytes: Option<PathBuf>,
}

/// The class and reason of a failed sequencer request (spec §5 steps 4 and 6).
pub(crate) fn sequencer_error(error: Error, polling: bool) -> WatchdogError {
    let reason = if polling && matches!(error, Error::NotFound { .. }) {
        "sequencer_not_ready"
    } else if error.is_bad_response() {
        "sequencer_bad_response"
    } else {
        "sequencer_unavailable"
    };
    WatchdogError::fail(Class::Transient, reason, error.to_string())
}

/// Step 6: pins B with the digest route, or by downloading the state into `scratch`.
pub(crate) async fn pin(
    client: &dyn SequencerSource,
    mode: PinMode,
    scratch: &Path,
) -> WatchdogResult<Pinned> {
    if mode != PinMode::Download {
        match client.digest().await {
            Ok(digest) => {
                return Ok(Pinned {
                    block: digest.inclusion_block,
                    sha256: digest.sha256,
                    bytes: None,
                });
            }
            Err(e) if mode == PinMode::Auto && e.is_route_absent() => {
                tracing::info!(target: "watchdog::tick", "no digest route; downloading the state");
            }
            Err(e) => return Err(sequencer_error(e, false)),
        }
    }
    let path = scratch.join("sequencer_state.bin");
    let file = client
        .download_state_to_file(&path)
        .await
        .map_err(|e| sequencer_error(e, false))?;
    Ok(Pinned {
        block: file.meta.inclusion_block,
        sha256: file.sha256,
        bytes: Some(path),
    })
}
