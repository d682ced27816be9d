//! What the HTTP routes answer: JSON bodies with their content type, and the refusals of
//! `protocol.md` §6.1 (`{"ok": false, "code", "message"}`), shared by the public and control
//! APIs.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The error codes of §6.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    BadRequest,
    InvalidSignature,
    PayloadTooLarge,
    ExecutionRejected,
    InternalError,
    Unavailable,
}

impl Code {
    fn parts(self) -> (StatusCode, &'static str) {
        match self {
            Code::BadRequest => (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            Code::InvalidSignature => (StatusCode::BAD_REQUEST, "INVALID_SIGNATURE"),
            Code::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            Code::ExecutionRejected => (StatusCode::UNPROCESSABLE_ENTITY, "EXECUTION_REJECTED"),
            Code::InternalError => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
            Code::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
        }
    }
}

/// A refusal with the JSON error body `{"ok": false, "code", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) code: Code,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.code.parts();
        json_response(
            status,
            &json!({"ok": false, "code": code, "message": self.message}),
        )
    }
}

/// A JSON body with its content type.
pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        value.to_string(),
    )
        .into_response()
}
