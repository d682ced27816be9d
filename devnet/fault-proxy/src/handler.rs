//! The JSON-RPC handler: one rule per request (per batch element), then its action.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::engine::Facts;
use super::envelope::error_response;
use super::lock;
use super::log::{Observed, ProxyOutcome};
use super::rewrite::lie_about_logs;
use super::rules::{Action, ErrorAction, HttpAction, Limited};
use super::server::{Shared, dropped, hang};
use crate::range::BlockRange;

/// A body cut short inside a JSON object.
pub(crate) const INVALID_JSON: &str = r#"{"jsonrpc":"2.0","id":1,"result":"#;

/// The answer to one request (or batch element).
#[derive(Debug)]
enum Reply {
    Json(Value),
    Http(HttpAction),
    InvalidJson,
    Hang,
    Drop,
    Truncate(Value, usize),
}

pub(super) async fn handle(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let arrived = Instant::now();
    let (replies, mut records, batch) = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => {
            let mut replies = Vec::with_capacity(items.len());
            let mut records = Vec::with_capacity(items.len());
            for item in items {
                let (reply, record) = shared.handle_one(item, arrived).await;
                replies.push(reply);
                records.push(record);
            }
            (replies, records, true)
        }
        Ok(item) => {
            let (reply, record) = shared.handle_one(item, arrived).await;
            (vec![reply], vec![record], false)
        }
        Err(_) => {
            let answer = error_response(Value::Null, -32700, "parse error", None);
            let mut record = Observed::new(arrived, String::new());
            record.outcome = ProxyOutcome::Refused { code: -32700 };
            (vec![Reply::Json(answer)], vec![record], false)
        }
    };
    let whole = whole_body_reply(&replies);
    let whole_bytes = match whole {
        Some(Whole::Http(http)) => StatusCode::from_u16(http.status)
            .ok()
            .and_then(|status| status.canonical_reason())
            .map_or(0, str::len),
        Some(Whole::InvalidJson) => INVALID_JSON.len(),
        _ => 0,
    };
    let (response, status) = match whole {
        Some(Whole::Hang) => (None, None),
        Some(Whole::Drop) => (Some(dropped()), None),
        Some(Whole::Http(http)) => (Some(http_response(http)), Some(http.status)),
        Some(Whole::InvalidJson) => (Some(json_response(INVALID_JSON.into())), Some(200)),
        None => {
            let mut answers: Vec<Value> = Vec::with_capacity(replies.len());
            let mut cut = None::<usize>;
            for reply in replies {
                match reply {
                    Reply::Json(v) => answers.push(v),
                    Reply::Truncate(v, bytes) => {
                        answers.push(v);
                        cut = Some(cut.map_or(bytes, |c| c.min(bytes)));
                    }
                    _ => {}
                }
            }
            let mut text = if batch {
                Value::Array(answers).to_string()
            } else {
                answers.pop().unwrap_or(Value::Null).to_string()
            };
            if let Some(bytes) = cut {
                text = truncated(text, bytes);
            }
            (Some(json_response(text)), Some(200))
        }
    };
    for record in &mut records {
        if whole.is_some() {
            record.status = status;
            record.bytes = whole_bytes;
        }
        shared.recorder.record(record.clone());
    }
    match response {
        Some(response) => response,
        None => hang(shared.stop.clone()).await,
    }
}

/// An answer for a whole body that is not JSON.
#[derive(Clone, Copy, Debug)]
enum Whole {
    Hang,
    Drop,
    Http(HttpAction),
    InvalidJson,
}

/// The answer that stands for the whole batch, if an element's answer is not JSON.
fn whole_body_reply(replies: &[Reply]) -> Option<Whole> {
    let has = |f: fn(&Reply) -> bool| replies.iter().any(f);
    if has(|r| matches!(r, Reply::Hang)) {
        return Some(Whole::Hang);
    }
    if has(|r| matches!(r, Reply::Drop)) {
        return Some(Whole::Drop);
    }
    let http = replies.iter().find_map(|r| match r {
        Reply::Http(http) => Some(*http),
        _ => None,
    });
    if let Some(http) = http {
        return Some(Whole::Http(http));
    }
    has(|r| matches!(r, Reply::InvalidJson)).then_some(Whole::InvalidJson)
}

fn truncated(mut text: String, bytes: usize) -> String {
    let mut at = bytes.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text.truncate(at);
    text
}

fn json_response(text: String) -> Response {
    ([(CONTENT_TYPE, "application/json")], text).into_response()
}

pub(crate) fn http_response(http: HttpAction) -> Response {
    let status = StatusCode::from_u16(http.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut response = (status, status.canonical_reason().unwrap_or_default()).into_response();
    if let Some(seconds) = http.retry_after {
        response.headers_mut().insert(RETRY_AFTER, seconds.into());
    }
    response
}

fn method_of(request: &Value) -> String {
    request
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl Shared {
    async fn handle_one(&self, request: Value, arrived: Instant) -> (Reply, Observed) {
        let method = method_of(&request);
        let mut record = Observed::new(arrived, method.clone());
        let id = request.get("id").cloned().unwrap_or(Value::Null);
        let is_get_logs = method == "eth_getLogs";
        let needs_range = is_get_logs && lock(&self.engine).needs_range(&method);
        let mut range = match is_get_logs {
            true => self.requested_range(&request, needs_range).await,
            false => None,
        };
        let selected = {
            let facts = Facts {
                method: Some(&method),
                path: None,
                range,
                params: request.get("params"),
            };
            lock(&self.engine).select(&facts)
        };
        let action = match &selected {
            Some((index, action)) => {
                record.rule = Some(*index);
                record.action = action.name();
                action.clone()
            }
            None => Action::Pass,
        };
        // Anything forwarded gets its range in the record when it is known without asking the
        // node (block numbers); tags are resolved only where a rule needs the range, so a
        // pass-through costs the node nothing extra.
        if is_get_logs && range.is_none() && forwards(&action) {
            range = self.requested_range(&request, false).await;
        }
        record.range = range;
        let reply = match action {
            Action::Error(e) => self.refuse(id, &e, &mut record),
            Action::Http(http) => {
                record.outcome = ProxyOutcome::HttpStatus {
                    status: http.status,
                };
                record.status = Some(http.status);
                Reply::Http(http)
            }
            Action::Hang => {
                record.outcome = ProxyOutcome::Hung;
                Reply::Hang
            }
            Action::Drop => {
                record.outcome = ProxyOutcome::Dropped;
                Reply::Drop
            }
            Action::InvalidJson => {
                record.outcome = ProxyOutcome::InvalidJson;
                Reply::InvalidJson
            }
            Action::Delay { ms } => {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                Reply::Json(self.pass(&request, id, &mut record).await)
            }
            Action::Truncate { bytes } => {
                let answer = self.pass(&request, id, &mut record).await;
                record.outcome = ProxyOutcome::Truncated;
                record.bytes = bytes.min(answer.to_string().len());
                Reply::Truncate(answer, bytes)
            }
            Action::ChainId { v } if method == "eth_chainId" => {
                record.outcome = ProxyOutcome::Rewritten;
                Reply::Json(json!({"jsonrpc": "2.0", "id": id, "result": format!("{v:#x}")}))
            }
            Action::StaleHead(stale) => {
                let index = record.rule.unwrap_or_default();
                Reply::Json(self.stale(request, id, stale, index, &mut record).await)
            }
            Action::Tags(lags) => Reply::Json(self.tags(request, id, lags, &mut record).await),
            Action::RateLimit(limit) => {
                let index = record.rule.unwrap_or_default();
                let allowed = lock(&self.engine).take_token(index, &limit, Instant::now());
                match (allowed, limit.answer) {
                    (true, _) => Reply::Json(self.pass(&request, id, &mut record).await),
                    (false, Limited::Error(e)) => self.refuse(id, &e, &mut record),
                    (false, Limited::Http(http)) => {
                        record.outcome = ProxyOutcome::HttpStatus {
                            status: http.status,
                        };
                        record.status = Some(http.status);
                        Reply::Http(http)
                    }
                }
            }
            Action::DropLog(pick) | Action::TamperLog(pick) if is_get_logs => {
                let drop = matches!(selected, Some((_, Action::DropLog(_))));
                let mut answer = self.pass(&request, id, &mut record).await;
                if lie_about_logs(&mut answer, pick, drop) {
                    record.outcome = ProxyOutcome::Tampered;
                }
                Reply::Json(answer)
            }
            Action::GetLogsCap(cap) if is_get_logs => {
                Reply::Json(self.capped(&request, id, cap, range, &mut record).await)
            }
            _ => Reply::Json(self.pass(&request, id, &mut record).await),
        };
        if let Reply::Json(answer) = &reply {
            record.bytes = answer.to_string().len();
        }
        (reply, record)
    }

    fn refuse(&self, id: Value, e: &ErrorAction, record: &mut Observed) -> Reply {
        record.outcome = ProxyOutcome::Refused { code: e.code };
        Reply::Json(error_response(id, e.code, &e.message, e.data.as_ref()))
    }

    /// Forwards and records what upstream said.
    pub(super) async fn pass(&self, request: &Value, id: Value, record: &mut Observed) -> Value {
        let Some(answer) = self.forward(request).await else {
            record.outcome = ProxyOutcome::Unreachable;
            return error_response(id, -32603, "upstream unreachable", None);
        };
        if let Some(code) = answer.pointer("/error/code").and_then(Value::as_i64) {
            record.outcome = ProxyOutcome::NodeError { code };
            return answer;
        }
        if record.method == "eth_getLogs" {
            record.result_count = answer.get("result").and_then(Value::as_array).map(Vec::len);
        }
        record.outcome = ProxyOutcome::Forwarded;
        answer
    }

    async fn forward(&self, request: &Value) -> Option<Value> {
        let response = self
            .client
            .post(self.upstream.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(request.to_string())
            .send()
            .await
            .ok()?;
        let bytes = response.bytes().await.ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The inclusive block range of an `eth_getLogs` request; tags are resolved at the node
    /// only when `network` allows. `None` for block-hash filters or anything unresolvable.
    async fn requested_range(&self, request: &Value, network: bool) -> Option<BlockRange> {
        let filter = request.get("params")?.get(0)?;
        if filter.get("blockHash").is_some() {
            return None;
        }
        let bound = |key| filter.get(key).and_then(Value::as_str).unwrap_or("latest");
        let (from, to) = (bound("fromBlock"), bound("toBlock"));
        let offline = offline_number(from).is_some() && offline_number(to).is_some();
        if !network && !offline {
            return None;
        }
        let from_number = self.resolve_block(filter.get("fromBlock")).await?;
        // The same tag at both ends (`latest`, …) is asked once: one head, not two.
        let to_number = if from == to {
            from_number
        } else {
            self.resolve_block(filter.get("toBlock")).await?
        };
        Some(BlockRange::new(from_number, to_number))
    }

    pub(super) async fn resolve_block(&self, tag: Option<&Value>) -> Option<u64> {
        let tag = tag.and_then(Value::as_str).unwrap_or("latest");
        if let Some(number) = offline_number(tag) {
            return Some(number);
        }
        let request = json!({"jsonrpc": "2.0", "id": 0, "method": "eth_getBlockByNumber",
                             "params": [tag, false]});
        let answer = self.forward(&request).await?;
        let number = answer
            .pointer("/result/number")?
            .as_str()?
            .strip_prefix("0x")?;
        u64::from_str_radix(number, 16).ok()
    }
}

/// A block number known without asking the node (`0x…`, `earliest`).
fn offline_number(tag: &str) -> Option<u64> {
    if tag == "earliest" {
        return Some(0);
    }
    u64::from_str_radix(tag.strip_prefix("0x")?, 16).ok()
}

/// Whether the action sends the request upstream.
fn forwards(action: &Action) -> bool {
    !matches!(
        action,
        Action::Error(_) | Action::Http(_) | Action::Hang | Action::Drop | Action::InvalidJson
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_a_prefix_on_a_char_boundary() {
        assert_eq!(truncated("abcdef".into(), 3), "abc");
        assert_eq!(truncated("ab".into(), 9), "ab");
        assert_eq!(truncated("aé".into(), 2), "a");
        assert_eq!(offline_number("0x10"), Some(16));
        assert_eq!(offline_number("latest"), None);
    }
}
