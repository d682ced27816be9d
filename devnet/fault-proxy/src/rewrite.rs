//! Actions that rewrite what the node said: the `eth_getLogs` cap, stale heads, moved tags and
//! lying `eth_getLogs` answers.

use serde_json::{Value, json};

use super::cap::fitting_prefix;
use super::envelope::error_response;
use super::log::{Observed, ProxyOutcome};
use super::rules::{LogPick, StaleHead, TagLags};
use super::server::Shared;
use super::{GetLogsCap, lock};
use crate::range::BlockRange;

impl Shared {
    pub(super) async fn capped(
        &self,
        request: &Value,
        id: Value,
        cap: GetLogsCap,
        range: Option<BlockRange>,
        record: &mut Observed,
    ) -> Value {
        if let Some(range) = range
            && let Some(limit) = cap.max_range.filter(|&max| range.len() > max)
        {
            let suggestion = cap
                .suggest
                .then(|| BlockRange::new(range.from, range.from + limit - 1));
            let (code, message) = cap.profile.error(limit, suggestion);
            record.outcome = ProxyOutcome::Refused { code };
            return error_response(id, code, &message, None);
        }
        let answer = self.pass(request, id.clone(), record).await;
        let logs = answer.get("result").and_then(Value::as_array);
        if let (Some(range), Some(logs)) = (range, logs)
            && let Some(max) = cap.max_results.filter(|&max| logs.len() > max)
        {
            let suggestion = cap
                .suggest
                .then(|| fitting_prefix(range, logs, max))
                .flatten();
            let (code, message) = cap.profile.error(max as u64, suggestion);
            record.outcome = ProxyOutcome::Refused { code };
            return error_response(id, code, &message, None);
        }
        answer
    }

    /// `stale_head`: `eth_blockNumber` and tagged `eth_getBlockByNumber` report an older head.
    pub(super) async fn stale(
        &self,
        request: Value,
        id: Value,
        stale: StaleHead,
        index: usize,
        record: &mut Observed,
    ) -> Value {
        let Some(latest) = self.resolve_block(Some(&json!("latest"))).await else {
            return self.pass(&request, id, record).await;
        };
        let head = if stale.freeze {
            lock(&self.engine).frozen_head(index, latest)
        } else {
            latest
        };
        let head = head.saturating_sub(stale.lag);
        match record.method.as_str() {
            "eth_blockNumber" => {
                record.outcome = ProxyOutcome::Rewritten;
                json!({"jsonrpc": "2.0", "id": id, "result": format!("{head:#x}")})
            }
            "eth_getBlockByNumber" => {
                let Some(tagged) = self.tagged_number(&request).await else {
                    return self.pass(&request, id, record).await;
                };
                // Tags below the head keep their distance to it.
                let number = tagged.saturating_sub(latest - head.min(latest));
                self.rewritten_block(request, id, number, record).await
            }
            _ => self.pass(&request, id, record).await,
        }
    }

    /// `tags`: `safe`/`finalized` block requests answered this far below `latest`.
    pub(super) async fn tags(
        &self,
        request: Value,
        id: Value,
        lags: TagLags,
        record: &mut Observed,
    ) -> Value {
        let tag = request.pointer("/params/0").and_then(Value::as_str);
        let lag = match tag {
            Some("safe") => lags.safe_lag,
            Some("finalized") => lags.finalized_lag,
            _ => None,
        };
        let (true, Some(lag)) = (record.method == "eth_getBlockByNumber", lag) else {
            return self.pass(&request, id, record).await;
        };
        let Some(latest) = self.resolve_block(Some(&json!("latest"))).await else {
            return self.pass(&request, id, record).await;
        };
        self.rewritten_block(request, id, latest.saturating_sub(lag), record)
            .await
    }

    async fn rewritten_block(
        &self,
        mut request: Value,
        id: Value,
        number: u64,
        record: &mut Observed,
    ) -> Value {
        if let Some(slot) = request.pointer_mut("/params/0") {
            *slot = Value::String(format!("{number:#x}"));
        }
        let answer = self.pass(&request, id, record).await;
        if record.outcome == ProxyOutcome::Forwarded {
            record.outcome = ProxyOutcome::Rewritten;
        }
        answer
    }

    /// The block number of an `eth_getBlockByNumber` for `latest`, `safe` or `finalized`.
    async fn tagged_number(&self, request: &Value) -> Option<u64> {
        let tag = request.pointer("/params/0")?;
        if !matches!(tag.as_str()?, "latest" | "safe" | "finalized") {
            return None;
        }
        self.resolve_block(Some(tag)).await
    }
}

/// Removes (`drop`) or alters one log of an `eth_getLogs` answer; `false` when it has none.
pub(super) fn lie_about_logs(answer: &mut Value, pick: LogPick, drop: bool) -> bool {
    let Some(logs) = answer.get_mut("result").and_then(Value::as_array_mut) else {
        return false;
    };
    if logs.is_empty() {
        return false;
    }
    let index = pick.index % logs.len();
    if drop {
        logs.remove(index);
        return true;
    }
    let log = &mut logs[index];
    let target = match log.get("data").and_then(Value::as_str) {
        Some(data) if data.len() > 2 => "data",
        _ => "topics",
    };
    let slot = match target {
        "data" => log.get_mut("data"),
        _ => log
            .get_mut("topics")
            .and_then(Value::as_array_mut)
            .and_then(|t| t.last_mut()),
    };
    let Some(Value::String(hex)) = slot else {
        return false;
    };
    let Some(last) = hex.pop() else {
        return false;
    };
    hex.push(if last == '0' { '1' } else { '0' });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lying_about_logs_removes_or_alters_one() {
        let mut answer = json!({"result": [{"data": "0xab"}, {"data": "0x", "topics": ["0x10"]}]});
        assert!(lie_about_logs(&mut answer, LogPick { index: 0 }, false));
        assert_eq!(answer["result"][0]["data"], "0xa0");
        assert!(lie_about_logs(&mut answer, LogPick { index: 1 }, false));
        assert_eq!(answer["result"][1]["topics"][0], "0x11");
        assert!(lie_about_logs(&mut answer, LogPick { index: 2 }, true));
        assert_eq!(answer["result"].as_array().unwrap().len(), 1);
        assert!(!lie_about_logs(
            &mut json!({"result": []}),
            LogPick::default(),
            true
        ));
    }
}
