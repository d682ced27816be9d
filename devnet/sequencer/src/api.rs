//! The public HTTP API (`protocol.md` §6): routes, CORS on the ingress routes, the fault gate,
//! `/fee`, `/nonce`, `/domain` and health.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, Request, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use canonical::{DOMAIN_NAME, DOMAIN_VERSION, MAX_EXPONENT};
use serde_json::json;

use super::faults::Hold;
use super::node::Shared;
use super::reply::{ApiError, Code, json_response};
use super::{finalized, tx};

/// `suggested_max_fee` slack over the fee: `round(log_{129/128}(1.5))` exponent steps.
pub(crate) const SUGGESTED_FEE_SLACK: u16 = 52;

/// The L1 may fail this long before `/readyz` answers 503.
const L1_GRACE: Duration = Duration::from_secs(10);

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The public router.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/tx", post(tx::submit))
        .route("/fee", get(fee))
        .route("/nonce", get(nonce))
        .route("/domain", get(domain))
        .route("/finalized_state", get(finalized::state))
        .route(
            "/finalized_state/inclusion_block",
            get(finalized::inclusion_block),
        )
        .route("/finalized_state/digest", get(finalized::digest))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/healthz", get(healthz))
        .layer(middleware::from_fn_with_state(shared.clone(), fault_gate))
        .layer(middleware::from_fn(cors))
        .with_state(shared)
}

fn is_ingress(path: &str) -> bool {
    matches!(path, "/tx" | "/fee" | "/nonce" | "/domain")
}

/// CORS for the ingress routes: any origin, any header, GET and POST, preflight cached 1 h.
async fn cors(request: Request, next: Next) -> Response {
    if !is_ingress(request.uri().path()) {
        return next.run(request).await;
    }
    let any = HeaderValue::from_static("*");
    if request.method() == Method::OPTIONS {
        let allow_headers = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or_else(|| any.clone());
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, any);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET,POST"),
        );
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("3600"),
        );
        return (StatusCode::NO_CONTENT, headers).into_response();
    }
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, any);
    response
}

/// Counts a request in `held_requests` while a `stall` holds it (also when the client goes
/// away and the request future is dropped).
struct HeldRequest<'a>(&'a Shared);

impl<'a> HeldRequest<'a> {
    fn new(shared: &'a Shared) -> Self {
        shared
            .held
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self(shared)
    }
}

impl Drop for HeldRequest<'_> {
    fn drop(&mut self) {
        self.0
            .held
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Applies the `slow`, `stall` and `unavailable` faults before a route runs.
async fn fault_gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut changes = shared.changed.subscribe();
    loop {
        let hold = shared.lock().faults.hold(&path);
        match hold {
            None => break,
            Some(Hold::Delay(delay)) => {
                tokio::time::sleep(delay).await;
                break;
            }
            Some(Hold::Stall) => {
                let _held = HeldRequest::new(&shared);
                if shared.is_shutting_down() || changes.changed().await.is_err() {
                    return ApiError::new(Code::Unavailable, "sequencer shutting down")
                        .into_response();
                }
            }
        }
    }
    if shared.lock().faults.unavailable(&path) {
        return ApiError::new(Code::Unavailable, "sequencer unavailable").into_response();
    }
    next.run(request).await
}

async fn fee(State(shared): State<Arc<Shared>>) -> Response {
    if shared.is_shutting_down() {
        return ApiError::new(Code::Unavailable, "sequencer shutting down").into_response();
    }
    let (fee, recommended) = {
        let node = shared.lock();
        (node.lane.fee(), node.lane.recommended_fee())
    };
    let suggested = fee
        .max(recommended)
        .saturating_add(SUGGESTED_FEE_SLACK)
        .min(MAX_EXPONENT);
    no_store(json_response(
        StatusCode::OK,
        &json!({"fee": fee, "recommended_fee": recommended, "suggested_max_fee": suggested}),
    ))
}

/// The `sender` query parameter: `0x` and 40 hex digits, any letter case.
fn sender_param(query: Option<&str>) -> Option<alloy::primitives::Address> {
    let value = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("sender="))?;
    let digits = value.strip_prefix("0x")?;
    if digits.len() != 40 {
        return None;
    }
    let mut bytes = [0u8; 20];
    alloy::primitives::hex::decode_to_slice(digits, &mut bytes).ok()?;
    Some(bytes.into())
}

async fn nonce(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let Some(sender) = sender_param(query.as_deref()) else {
        return ApiError::new(
            Code::BadRequest,
            "expected ?sender=<0x-prefixed 20-byte hex address>",
        )
        .into_response();
    };
    let next_nonce = shared.lock().lane.next_nonce(sender);
    no_store(json_response(
        StatusCode::OK,
        &json!({"sender": sender.to_checksum(None), "next_nonce": next_nonce}),
    ))
}

async fn domain(State(shared): State<Arc<Shared>>) -> Response {
    no_store(json_response(
        StatusCode::OK,
        &json!({
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": shared.chain_id,
            "verifyingContract": shared.app.to_checksum(None),
        }),
    ))
}

fn ready(shared: &Shared) -> bool {
    if shared.is_shutting_down() {
        return false;
    }
    let node = shared.lock();
    node.l1_error.is_none() || node.last_l1_ok.elapsed() < L1_GRACE
}

async fn livez() -> StatusCode {
    StatusCode::OK
}

async fn readyz(State(shared): State<Arc<Shared>>) -> StatusCode {
    if ready(&shared) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let ok = ready(&shared);
    let lane = if shared.is_shutting_down() {
        "stopped"
    } else {
        "ok"
    };
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(
        status,
        &json!({"status": if ok { "ok" } else { "degraded" }, "inclusion_lane": lane}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_query() {
        let a = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";
        assert!(sender_param(Some(&format!("sender={a}"))).is_some());
        assert!(sender_param(Some(&format!("x=1&sender={}", a.to_lowercase()))).is_some());
        assert!(sender_param(Some(&format!("sender=0X{}", &a[2..]))).is_none());
        assert!(sender_param(Some("sender=0x1234")).is_none());
        assert!(sender_param(Some("other=1")).is_none());
        assert!(sender_param(None).is_none());
    }
}
