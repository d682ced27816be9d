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

/// A range or maximum a provider suggests in its error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    /// "Use exactly this range".
    Range {
        /// First block.
        from: u64,
        /// Last block.
        to: u64,
    },
    /// "Use at most this many blocks".
    Max(u64),
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

/// Extracts the first suggestion in a lowercase message: a range first, then a maximum.
pub(crate) fn hint(text: &str) -> Option<Hint> {
    suggested_range(text).or_else(|| suggested_max(text))
}

/// `[0xA, 0xB]` (Alchemy, Infura, thirdweb) or `retry with the range A-B` (reth).
fn suggested_range(text: &str) -> Option<Hint> {
    for (at, _) in text.match_indices('[') {
        let inner = &text[at + 1..];
        let Some((a, rest)) = hex_quantity(inner.trim_start()) else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix(',') else {
            continue;
        };
        let Some((b, rest)) = hex_quantity(rest.trim_start()) else {
            continue;
        };
        if rest.trim_start().starts_with(']') {
            return Some(Hint::Range { from: a, to: b });
        }
    }
    let (_, after) = text.split_once("retry with the range ")?;
    let (a, rest) = decimal(after)?;
    let (b, _) = decimal(rest.strip_prefix('-')?)?;
    Some(Hint::Range { from: a, to: b })
}

/// Phrases announcing a maximum number of blocks, each followed by the number.
const MAX_PHRASES: &[&str] = &[
    // Alchemy.
    "up to a ",
    // QuickNode.
    "limited to a ",
    // Cloudflare.
    "max range: ",
    // Infura.
    "exceeds limit of ",
    // Generic node software.
    "maximum block range: ",
    // Ankr.
    "blocks distance: ",
    // Gateways that name the largest accepted filter span.
    "narrow your filter: ",
];

fn suggested_max(text: &str) -> Option<Hint> {
    MAX_PHRASES.iter().find_map(|phrase| {
        let (_, after) = text.split_once(phrase)?;
        let (n, _) = count(after)?;
        Some(Hint::Max(n))
    })
}

/// A `0x`-prefixed hex quantity at the start of `s`.
fn hex_quantity(s: &str) -> Option<(u64, &str)> {
    let digits = s.strip_prefix("0x")?;
    let len = digits.bytes().take_while(u8::is_ascii_hexdigit).count();
    let value = u64::from_str_radix(digits.get(..len).filter(|d| !d.is_empty())?, 16).ok()?;
    Some((value, &digits[len..]))
}

/// A plain decimal number at the start of `s`.
fn decimal(s: &str) -> Option<(u64, &str)> {
    let len = s.bytes().take_while(u8::is_ascii_digit).count();
    let value = s.get(..len).filter(|d| !d.is_empty())?.parse().ok()?;
    Some((value, &s[len..]))
}

/// A block count at the start of `s`: digits with `,` or `_` separators, optionally `k`
/// (Alchemy writes `2K`).
fn count(s: &str) -> Option<(u64, &str)> {
    let len = s
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b',' || *b == b'_')
        .count();
    let number = s[..len].trim_end_matches([',', '_']);
    let rest = &s[number.len()..];
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let mut value: u64 = digits.parse().ok()?;
    let rest = match rest.strip_prefix('k') {
        Some(after) if !after.starts_with(|c: char| c.is_ascii_alphabetic()) => {
            value = value.checked_mul(1000)?;
            after
        }
        _ => rest,
    };
    Some((value, rest))
}

#[cfg(test)]
mod tests;
