//! Reading untrusted bodies: size caps, JSON decoding and sanitized snippets.

use std::time::Duration;

use reqwest::Response;
use serde::de::DeserializeOwned;

use crate::{ApiError, Error, Result, Route};

/// A response in flight, with the route and timeout it was sent with.
pub(crate) struct Reply {
    pub(crate) route: Route,
    pub(crate) after: Duration,
    pub(crate) response: Response,
}

impl Reply {
    /// The HTTP status code.
    pub(crate) fn status(&self) -> u16 {
        self.response.status().as_u16()
    }

    /// The next body chunk, client errors mapped (the send timeout also bounds the body).
    pub(crate) async fn chunk(&mut self) -> Result<Option<alloy_primitives::bytes::Bytes>> {
        let (route, after) = (self.route, self.after);
        self.response
            .chunk()
            .await
            .map_err(|e| Error::from_reqwest(route, after, e))
    }

    /// Reads the whole body, refusing it as soon as it passes `limit` bytes.
    pub(crate) async fn read_capped(&mut self, limit: u64) -> Result<Vec<u8>> {
        let route = self.route;
        if self
            .response
            .content_length()
            .is_some_and(|len| len > limit)
        {
            return Err(Error::BodyTooLarge { route, limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = self.chunk().await? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(Error::BodyTooLarge { route, limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// Decodes a JSON body into `T`; failures become [`Error::BadResponse`] with a sanitized detail.
pub(crate) fn decode_json<T: DeserializeOwned>(route: Route, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Error::bad(
            route,
            format!("invalid JSON: {}", sanitize(e.to_string().as_bytes(), 256)),
        )
    })
}

/// Parses the sequencer's JSON error body, if the body is one.
pub(crate) fn decode_api_error(body: &[u8], max: usize) -> Option<ApiError> {
    #[derive(serde::Deserialize)]
    struct Raw {
        code: String,
        #[serde(default)]
        message: String,
    }
    let raw: Raw = serde_json::from_slice(body).ok()?;
    Some(ApiError {
        code: sanitize(raw.code.as_bytes(), 64),
        message: sanitize(raw.message.as_bytes(), max),
    })
}

/// At most `max` bytes of peer text as a printable string: invalid UTF-8 replaced, control
/// characters escaped (no log injection), and `…` appended when cut.
pub(crate) fn sanitize(bytes: &[u8], max: usize) -> String {
    let cut = bytes.len() > max;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(max)]);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if cut {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_escapes_controls_and_cuts() {
        assert_eq!(sanitize(b"a\nb\x1b[31m", 100), "a\\nb\\u{1b}[31m");
        assert_eq!(sanitize(b"abcdef", 3), "abc…");
        assert_eq!(sanitize(&[0xff, b'a'], 10), "\u{fffd}a");
    }

    #[test]
    fn api_errors_need_a_code() {
        let e = decode_api_error(
            br#"{"ok":false,"code":"OVERLOADED","message":"queue full"}"#,
            64,
        );
        assert_eq!(
            e,
            Some(ApiError {
                code: "OVERLOADED".into(),
                message: "queue full".into()
            })
        );
        assert_eq!(decode_api_error(b"{}", 64), None);
        assert_eq!(decode_api_error(b"<html>", 64), None);
    }
}
