//! The finalized-state routes (the watchdog contract), in both response shapes.

use std::{fmt, path::Path};

use alloy_primitives::B256;
use reqwest::header::{ETAG, HeaderMap, IF_NONE_MATCH};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;

use crate::{
    Error, Result, Route, SequencerClient,
    body::{Reply, sanitize},
    client::header_text,
};

/// Header carrying the inclusion block of the served state (required).
pub const X_INCLUSION_BLOCK: &str = "x-inclusion-block";
/// Header carrying the executed-input count (newest builds).
pub const X_EXECUTED_INPUT_COUNT: &str = "x-executed-input-count";
/// Header carrying the legacy feed cursor (older builds).
pub const X_L2_TX_INDEX: &str = "x-l2-tx-index";
/// Header carrying the history era (UUID, newest builds).
pub const X_HISTORY_ERA: &str = "x-history-era";
/// Header carrying the recovery generation (newest builds).
pub const X_RECOVERY_GENERATION: &str = "x-recovery-generation";

/// The second number of a finalized checkpoint, in whichever shape the sequencer served it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputCursor {
    /// `executed_input_count` / `X-Executed-Input-Count` (newest builds).
    ExecutedInputCount(u64),
    /// `l2_tx_index` / `X-L2-Tx-Index` (older builds): an opaque counter.
    L2TxIndex(u64),
}

impl InputCursor {
    /// The number, whatever its shape.
    pub fn value(self) -> u64 {
        match self {
            InputCursor::ExecutedInputCount(v) | InputCursor::L2TxIndex(v) => v,
        }
    }

    /// The JSON field name of the shape.
    pub fn field(self) -> &'static str {
        match self {
            InputCursor::ExecutedInputCount(_) => "executed_input_count",
            InputCursor::L2TxIndex(_) => "l2_tx_index",
        }
    }

    fn from_fields(executed: Option<u64>, legacy: Option<u64>) -> Option<Self> {
        executed
            .map(InputCursor::ExecutedInputCount)
            .or(legacy.map(InputCursor::L2TxIndex))
    }
}

/// The answer of the cheap poll `GET /finalized_state/inclusion_block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinalizedPoint {
    /// P: the L1 block the finalized state is at.
    pub inclusion_block: u64,
    /// The informational second field.
    pub cursor: InputCursor,
}

/// The answer of `GET /finalized_state/digest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinalizedDigest {
    /// B: the L1 block the finalized state is at.
    pub inclusion_block: u64,
    /// The executed-input count of that state.
    pub cursor: InputCursor,
    /// SHA-256 of exactly the bytes `/finalized_state` serves for the same checkpoint.
    pub sha256: B256,
}

/// An entity tag exactly as the sequencer sent it, quotes included (e.g. `"block-7"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ETag(String);

impl ETag {
    /// Wraps a tag; `None` if it is empty, longer than 256 bytes or not printable ASCII.
    pub fn new(tag: impl Into<String>) -> Option<Self> {
        let tag = tag.into();
        (!tag.is_empty() && tag.len() <= 256 && tag.bytes().all(|b| b.is_ascii_graphic()))
            .then_some(Self(tag))
    }

    /// The raw value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The headers that describe a `/finalized_state` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMeta {
    /// `X-Inclusion-Block` (required).
    pub inclusion_block: u64,
    /// `X-Executed-Input-Count`, else `X-L2-Tx-Index`, if present.
    pub cursor: Option<InputCursor>,
    /// `ETag`, if present and well formed.
    pub etag: Option<ETag>,
    /// `X-History-Era`, if present and printable.
    pub history_era: Option<String>,
    /// `X-Recovery-Generation`, if present.
    pub recovery_generation: Option<u64>,
}

/// The answer to a conditional request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conditional<T> {
    /// 200 with a body.
    Modified(T),
    /// 304: the `If-None-Match` tag is still current.
    NotModified,
}

impl<T> Conditional<T> {
    /// The body, if there was one.
    pub fn modified(self) -> Option<T> {
        match self {
            Conditional::Modified(t) => Some(t),
            Conditional::NotModified => None,
        }
    }
}

/// A finalized state streamed to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFile {
    /// What the headers said.
    pub meta: StateMeta,
    /// Bytes written.
    pub len: u64,
    /// SHA-256 of the bytes written, computed while streaming.
    pub sha256: B256,
}

/// A finalized state held in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateBytes {
    /// What the headers said.
    pub meta: StateMeta,
    /// The body.
    pub bytes: Vec<u8>,
    /// SHA-256 of the body.
    pub sha256: B256,
}

#[derive(Deserialize)]
struct RawPoint {
    inclusion_block: u64,
    executed_input_count: Option<u64>,
    l2_tx_index: Option<u64>,
}

#[derive(Deserialize)]
struct RawDigest {
    inclusion_block: u64,
    executed_input_count: Option<u64>,
    l2_tx_index: Option<u64>,
    sha256: String,
}

impl FinalizedPoint {
    /// Decodes a `/finalized_state/inclusion_block` body in either shape. Never panics,
    /// whatever the bytes; this is the entry point of the `finalized_point` fuzz target.
    pub fn from_json(body: &[u8]) -> Result<Self> {
        let route = Route::InclusionBlock;
        Self::from_raw(route, crate::body::decode_json(route, body)?)
    }

    fn from_raw(route: Route, raw: RawPoint) -> Result<Self> {
        let cursor = InputCursor::from_fields(raw.executed_input_count, raw.l2_tx_index)
            .ok_or_else(|| Error::bad(route, "neither executed_input_count nor l2_tx_index"))?;
        Ok(Self {
            inclusion_block: raw.inclusion_block,
            cursor,
        })
    }
}

impl FinalizedDigest {
    /// Decodes a `/finalized_state/digest` body. Never panics, whatever the bytes; this is the
    /// entry point of the `finalized_digest` fuzz target.
    pub fn from_json(body: &[u8]) -> Result<Self> {
        let route = Route::Digest;
        Self::from_raw(route, crate::body::decode_json(route, body)?)
    }

    fn from_raw(route: Route, raw: RawDigest) -> Result<Self> {
        let cursor = InputCursor::from_fields(raw.executed_input_count, raw.l2_tx_index)
            .ok_or_else(|| Error::bad(route, "missing executed_input_count"))?;
        let sha256 = parse_sha256(&raw.sha256)
            .ok_or_else(|| Error::bad(route, "sha256 is not 64 hex digits"))?;
        Ok(Self {
            inclusion_block: raw.inclusion_block,
            cursor,
            sha256,
        })
    }
}

impl SequencerClient {
    /// `GET /finalized_state/inclusion_block`: `{"inclusion_block", "executed_input_count"}` or
    /// the legacy `{"inclusion_block", "l2_tx_index"}`.
    pub async fn inclusion_block(&self) -> Result<FinalizedPoint> {
        let route = Route::InclusionBlock;
        let raw: RawPoint = self.get_json(route, self.get(route)).await?;
        FinalizedPoint::from_raw(route, raw)
    }

    /// `GET /finalized_state/digest`. Builds without the route answer 404 (see
    /// [`Error::is_route_absent`]).
    pub async fn digest(&self) -> Result<FinalizedDigest> {
        let route = Route::Digest;
        let raw: RawDigest = self.get_json(route, self.get(route)).await?;
        FinalizedDigest::from_raw(route, raw)
    }

    /// Streams `GET /finalized_state` into `path` (created or truncated, mode 0600, synced),
    /// hashing on the fly, within the state cap of [`Limits`](crate::Limits).
    ///
    /// On any error the partial file is removed (best effort). An empty 200 body is a
    /// [`Error::BadResponse`]: a wallet snapshot is never empty.
    pub async fn download_state_to_file(
        &self,
        path: &Path,
        if_none_match: Option<&ETag>,
    ) -> Result<Conditional<StateFile>> {
        let (mut reply, meta) = match self.open_state(if_none_match).await? {
            Conditional::Modified(opened) => opened,
            Conditional::NotModified => return Ok(Conditional::NotModified),
        };
        let limit = self.limits().state_bytes;
        let result = stream_to_file(&mut reply, path, limit).await;
        match result {
            Ok((len, sha256)) => Ok(Conditional::Modified(StateFile { meta, len, sha256 })),
            Err(err) => {
                if let Err(e) = tokio::fs::remove_file(path).await {
                    tracing::debug!(target: "sequencer_client", error = %e, "partial state not removed");
                }
                Err(err)
            }
        }
    }

    /// `GET /finalized_state` into memory, refusing bodies over `max_bytes`.
    pub async fn download_state(
        &self,
        max_bytes: u64,
        if_none_match: Option<&ETag>,
    ) -> Result<Conditional<StateBytes>> {
        let (mut reply, meta) = match self.open_state(if_none_match).await? {
            Conditional::Modified(opened) => opened,
            Conditional::NotModified => return Ok(Conditional::NotModified),
        };
        let bytes = reply.read_capped(max_bytes).await?;
        if bytes.is_empty() {
            return Err(Error::bad(reply.route, "empty state body"));
        }
        let sha256 = B256::from(<[u8; 32]>::from(Sha256::digest(&bytes)));
        Ok(Conditional::Modified(StateBytes {
            meta,
            bytes,
            sha256,
        }))
    }

    /// Sends the request and checks status and headers, leaving the body unread.
    async fn open_state(
        &self,
        if_none_match: Option<&ETag>,
    ) -> Result<Conditional<(Reply, StateMeta)>> {
        let route = Route::FinalizedState;
        let mut request = self.get(route);
        if let Some(tag) = if_none_match {
            request = request.header(IF_NONE_MATCH, tag.as_str());
        }
        let reply = self.send(route, request).await?;
        match reply.status() {
            200..=299 => {}
            304 if if_none_match.is_some() => return Ok(Conditional::NotModified),
            _ => return Err(self.refuse(reply).await),
        }
        let meta = state_meta(route, reply.response.headers())?;
        Ok(Conditional::Modified((reply, meta)))
    }
}

async fn stream_to_file(reply: &mut Reply, path: &Path, limit: u64) -> Result<(u64, B256)> {
    let route = reply.route;
    if reply
        .response
        .content_length()
        .is_some_and(|len| len > limit)
    {
        return Err(Error::BodyTooLarge { route, limit });
    }
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .await
        .map_err(io)?;
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    while let Some(chunk) = reply.chunk().await? {
        len += chunk.len() as u64;
        if len > limit {
            return Err(Error::BodyTooLarge { route, limit });
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(io)?;
    }
    if len == 0 {
        return Err(Error::bad(route, "empty state body"));
    }
    file.flush().await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    Ok((len, B256::from(<[u8; 32]>::from(hasher.finalize()))))
}

fn state_meta(route: Route, headers: &HeaderMap) -> Result<StateMeta> {
    let number = |name: &str| -> Result<Option<u64>> {
        match headers.get(name) {
            None => Ok(None),
            Some(value) => value
                .to_str()
                .ok()
                .and_then(|text| parse_u64(text.trim()))
                .map(Some)
                .ok_or_else(|| {
                    Error::bad(
                        route,
                        format!(
                            "header {name} is not a u64: {}",
                            sanitize(value.as_bytes(), 64)
                        ),
                    )
                }),
        }
    };
    let inclusion_block =
        number(X_INCLUSION_BLOCK)?.ok_or_else(|| Error::bad(route, "missing X-Inclusion-Block"))?;
    let cursor = InputCursor::from_fields(number(X_EXECUTED_INPUT_COUNT)?, number(X_L2_TX_INDEX)?);
    Ok(StateMeta {
        inclusion_block,
        cursor,
        etag: headers
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .and_then(ETag::new),
        history_era: headers.get(X_HISTORY_ERA).and_then(|v| header_text(v, 128)),
        recovery_generation: number(X_RECOVERY_GENERATION)?,
    })
}

/// A decimal u64 without sign, spaces or leading `+`.
fn parse_u64(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_sha256(text: &str) -> Option<B256> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(B256::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_prefers_the_newest_shape() {
        assert_eq!(
            InputCursor::from_fields(Some(3), Some(9)),
            Some(InputCursor::ExecutedInputCount(3))
        );
        assert_eq!(
            InputCursor::from_fields(None, Some(9)),
            Some(InputCursor::L2TxIndex(9))
        );
        assert_eq!(InputCursor::from_fields(None, None), None);
    }

    #[test]
    fn numbers_and_digests_are_strict() {
        assert_eq!(parse_u64("42"), Some(42));
        for bad in ["", "+1", "-1", "0x10", "1 2", "18446744073709551616"] {
            assert_eq!(parse_u64(bad), None, "{bad}");
        }
        assert!(parse_sha256(&"ab".repeat(32)).is_some());
        assert!(parse_sha256(&format!("0x{}", "ab".repeat(31))).is_none());
        assert!(parse_sha256(&"zz".repeat(32)).is_none());
    }

    #[test]
    fn etags_must_be_printable() {
        assert!(ETag::new("\"block-7\"").is_some());
        assert!(ETag::new("").is_none());
        assert!(ETag::new("a b").is_none());
        assert!(ETag::new("é").is_none());
    }
}
