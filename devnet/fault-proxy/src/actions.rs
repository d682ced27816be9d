//! The actions a rule can take, with their JSON forms (see [`rules`](super::rules)).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cap::GetLogsCap;

/// What the proxy does with a request a rule took.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Forward unchanged.
    Pass,
    /// Answer with this JSON-RPC error; upstream is not asked.
    Error(ErrorAction),
    /// Answer with this HTTP status (empty-ish body); upstream is not asked.
    Http(HttpAction),
    /// Wait, then forward.
    Delay {
        /// Milliseconds to wait.
        ms: u64,
    },
    /// Never answer; the connection closes when the proxy stops.
    Hang,
    /// Close the connection without a complete answer.
    Drop,
    /// Forward, then cut the response body to this many bytes.
    Truncate {
        /// Bytes kept.
        bytes: usize,
    },
    /// Answer HTTP 200 with a body that is not JSON.
    InvalidJson,
    /// Report an older head: `eth_blockNumber` and tagged `eth_getBlockByNumber` answers lag
    /// by `lag` blocks, or stay at the head seen when the rule first fired (`freeze`).
    StaleHead(StaleHead),
    /// Answer `safe`/`finalized` block requests with the block this far below `latest`.
    Tags(TagLags),
    /// Answer `eth_chainId` with another chain id.
    ChainId {
        /// The chain id.
        v: u64,
    },
    /// A token bucket: `burst` requests at once, refilled at `rps`; over it, answer `as`.
    RateLimit(RateLimit),
    /// Forward an `eth_getLogs`, then remove one log from the result.
    DropLog(LogPick),
    /// Forward an `eth_getLogs`, then alter one log's data (its last byte flipped).
    TamperLog(LogPick),
    /// The provider-style `eth_getLogs` cap.
    GetLogsCap(GetLogsCap),
    /// HTTP mode: forward, then flip one byte of the response body.
    TamperBody {
        /// The byte's offset (wrapped to the body length).
        #[serde(default)]
        offset: usize,
    },
    /// HTTP mode: forward, then set this response header.
    SetHeader {
        /// Header name.
        name: String,
        /// Header value.
        value: String,
    },
}

/// A JSON-RPC error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorAction {
    /// Error code.
    pub code: i64,
    /// Error message.
    #[serde(default)]
    pub message: String,
    /// Optional `data` member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// An HTTP status answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpAction {
    /// The status code.
    pub status: u16,
    /// `Retry-After` in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// How stale the reported head is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaleHead {
    /// Blocks behind the node.
    #[serde(default)]
    pub lag: u64,
    /// Stay at the head seen when the rule first fired.
    #[serde(default)]
    pub freeze: bool,
}

/// Distances of the `safe` and `finalized` tags below `latest`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagLags {
    /// `safe` = `latest − safe_lag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe_lag: Option<u64>,
    /// `finalized` = `latest − finalized_lag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalized_lag: Option<u64>,
}

/// A token-bucket rate limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Tokens added per second.
    pub rps: f64,
    /// Bucket size (and initial fill).
    pub burst: u32,
    /// The answer when the bucket is empty (default HTTP 429, `Retry-After: 1`).
    #[serde(rename = "as", default)]
    pub answer: Limited,
}

impl Eq for RateLimit {}

/// How a rate-limited request is answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limited {
    /// An HTTP status.
    Http(HttpAction),
    /// A JSON-RPC error.
    Error(ErrorAction),
}

impl Default for Limited {
    fn default() -> Self {
        Self::Http(HttpAction {
            status: 429,
            retry_after: Some(1),
        })
    }
}

/// Which log of an `eth_getLogs` result an action touches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogPick {
    /// Position in the result (wrapped to its length).
    #[serde(default)]
    pub index: usize,
}

impl Action {
    /// The action's name as written in rules and records.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Error(_) => "error",
            Self::Http(_) => "http",
            Self::Delay { .. } => "delay",
            Self::Hang => "hang",
            Self::Drop => "drop",
            Self::Truncate { .. } => "truncate",
            Self::InvalidJson => "invalid_json",
            Self::StaleHead(_) => "stale_head",
            Self::Tags(_) => "tags",
            Self::ChainId { .. } => "chain_id",
            Self::RateLimit(_) => "rate_limit",
            Self::DropLog(_) => "drop_log",
            Self::TamperLog(_) => "tamper_log",
            Self::GetLogsCap(_) => "get_logs_cap",
            Self::TamperBody { .. } => "tamper_body",
            Self::SetHeader { .. } => "set_header",
        }
    }

    pub(super) fn in_http_mode(&self) -> bool {
        !matches!(
            self,
            Self::Error(_)
                | Self::StaleHead(_)
                | Self::Tags(_)
                | Self::ChainId { .. }
                | Self::DropLog(_)
                | Self::TamperLog(_)
                | Self::GetLogsCap(_)
                | Self::RateLimit(RateLimit {
                    answer: Limited::Error(_),
                    ..
                })
        )
    }

    pub(super) fn in_rpc_mode(&self) -> bool {
        !matches!(self, Self::TamperBody { .. } | Self::SetHeader { .. })
    }
}
