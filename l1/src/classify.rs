//! Classification of `eth_getLogs` failures (spec `watchdog.md` §9) and the ranges or maxima
//! providers suggest in their messages.
//!
//! The first matching rule wins:
//!
//! 1. the request budget is spent;
//! 2. rate limit or unavailable (HTTP 429/503 after the retry layer gave up, or a rate-limit
//!    message): never split;
//! 3. the provider's head is below the range: never split (anvil answers `-32602` here, so this
//!    rule precedes code matching);
//! 4. range too large: the structured JSON-RPC code is in the configured list, the response
//!    exceeded the size cap, or the message holds a known provider fragment;
//! 5. anything else aborts the scan.
//!
//! Codes are compared as integers taken from the error object, never searched for in rendered
//! text; message fragments are matched case-insensitively on the message and the raw `data`.

use alloy::rpc::json_rpc::RpcError;
use alloy::transports::{TransportError, TransportErrorKind};

use crate::budget::BudgetExhaustedError;
use crate::hint::{Hint, hint};
use crate::transport::ResponseTooLarge;

/// What a failed request means for the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The per-command request budget is spent.
    Budget(u64),
    /// Rate limited or temporarily unavailable: abort, never split.
    RateLimited,
    /// The provider's head is below the requested range: abort, never split.
    HeadOverrun(String),
    /// The range is too large: split, following the hint if the message had one.
    RangeTooLarge(Option<Hint>),
    /// The response is not what the method returns.
    BadResponse(String),
    /// Anything else: abort.
    Other,
}

/// Rate-limit and availability fragments: retrying a smaller range would not help.
const RATE_LIMIT_FRAGMENTS: &[&str] = &[
    // Generic (Infura, Alchemy, QuickNode and most gateways).
    "rate limit",
    // Generic HTTP reason phrase echoed in JSON-RPC errors (Alchemy, Ankr).
    "too many requests",
    // Alchemy: compute units per second exceeded.
    "exceeded its compute units",
    // Infura: daily quota.
    "daily request count exceeded",
    // Infura: backend overloaded.
    "unable to complete request at this time",
    // Load balancers in front of node pools (e.g. dshackle, proxyd).
    "no backend is currently healthy",
];

/// Head-overrun fragments: the range reaches past the provider's head.
const HEAD_OVERRUN_FRAGMENTS: &[&str] = &[
    // anvil: `BlockOutOfRangeError: block height is N but requested was M` (code -32602).
    "blockoutofrangeerror",
    // reth: a `toBlock` above the head.
    "block range extends beyond current head block",
    // geth: `fromBlock` above `toBlock` after resolving tags against a lagging head.
    "invalid block range params",
];

/// Range-too-large fragments, by provider.
const RANGE_FRAGMENTS: &[&str] = &[
    // Alchemy: `Log response size exceeded. You can make eth_getLogs requests with up to a 2K
    // block range ... this block range should work: [0x.., 0x..]`.
    "log response size exceeded",
    "this block range should work",
    "eth_getlogs requests with up to a",
    // Infura: `query returned more than 10000 results. Try with this block range [0x.., 0x..].`
    // and `range 1000000 exceeds limit of 10000` (-32602).
    "query returned more than 10000 results",
    "try with this block range",
    "exceeds limit of",
    // QuickNode: `eth_getLogs is limited to a 10,000 range` and
    // `eth_getLogs and eth_newFilter are limited to a 10,000 blocks range`.
    "eth_getlogs is limited to a",
    "limited to a 10,000 blocks range",
    // Ankr: `block range is too wide` and `maximum [from, to] blocks distance: 3000`.
    "block range is too wide",
    "blocks distance",
    // Cloudflare Ethereum gateway: ranges of 800 blocks or more answer `Max range: N`.
    "max range:",
    // reth: `query exceeds max block range 100000` and `query exceeds max results 20000`.
    "query exceeds max block range",
    "query exceeds max results",
    // erigon: `query block range exceeds server limit` and `query returns too many logs`.
    "query block range exceeds server limit",
    "query returns too many logs",
    // geth and forks (bor, bsc, op-geth): `block range is bigger than ...`,
    // `block range too large`, `block range is too large`.
    "block range is bigger than",
    "block range too large",
    "block range is too large",
];

/// Classifies a failed `eth_getLogs` against the configured range error `codes`.
pub(crate) fn classify(err: &TransportError, codes: &[i64]) -> Verdict {
    match err {
        RpcError::Transport(kind) => classify_transport(kind),
        RpcError::ErrorResp(payload) => {
            let data = payload.data.as_ref().map(|d| d.get()).unwrap_or_default();
            classify_message(Some(payload.code), &payload.message, data, codes)
        }
        RpcError::DeserError { err, .. } => Verdict::BadResponse(err.to_string()),
        RpcError::NullResp => Verdict::BadResponse("null result".to_owned()),
        _ => Verdict::Other,
    }
}

fn classify_transport(kind: &TransportErrorKind) -> Verdict {
    if let Some(custom) = kind.as_custom() {
        if let Some(budget) = custom.downcast_ref::<BudgetExhaustedError>() {
            return Verdict::Budget(budget.limit);
        }
        if custom.downcast_ref::<ResponseTooLarge>().is_some() {
            return Verdict::RangeTooLarge(None);
        }
    }
    match kind.as_http_error() {
        Some(http) if http.status == 429 || http.status == 503 => Verdict::RateLimited,
        _ => Verdict::Other,
    }
}

/// Classifies a JSON-RPC error object.
fn classify_message(code: Option<i64>, message: &str, data: &str, codes: &[i64]) -> Verdict {
    let text = format!("{message}\n{data}").to_ascii_lowercase();
    let has = |fragments: &[&str]| fragments.iter().any(|f| text.contains(f));
    // BSC answers a rate limit with -32005 and exactly `limit exceeded`.
    if has(RATE_LIMIT_FRAGMENTS) || message.trim().eq_ignore_ascii_case("limit exceeded") {
        return Verdict::RateLimited;
    }
    if has(HEAD_OVERRUN_FRAGMENTS) {
        return Verdict::HeadOverrun(message.to_owned());
    }
    if code.is_some_and(|code| codes.contains(&code)) || has(RANGE_FRAGMENTS) {
        return Verdict::RangeTooLarge(hint(&text));
    }
    Verdict::Other
}

#[cfg(test)]
mod tests;
