//! Every classification rule and provider pattern, fed through alloy's mock transport so that
//! the error has exactly the shape a real provider answer produces.

use alloy::providers::Provider;
use alloy::rpc::json_rpc::ErrorPayload;
use alloy::transports::mock::{Asserter, MockTransport};

use super::*;
use crate::{RequestBudget, RpcConfig, provider_with_transport};

const CODES: &[i64] = &crate::DEFAULT_RANGE_ERROR_CODES;

/// The error an `eth_getLogs` answered with `code`/`message` becomes, classified with `codes`.
async fn verdict_with(code: i64, message: &'static str, codes: &[i64]) -> Verdict {
    let asserter = Asserter::new();
    asserter.push_failure(ErrorPayload {
        code,
        message: message.into(),
        data: None,
    });
    let provider = provider_with_transport(
        MockTransport::new(asserter),
        true,
        &RpcConfig::default(),
        &RequestBudget::unlimited(),
    );
    let err = provider
        .client()
        .request::<_, Vec<serde_json::Value>>("eth_getLogs", ((),))
        .await
        .unwrap_err();
    classify(&err, codes)
}

async fn verdict(code: i64, message: &'static str) -> Verdict {
    verdict_with(code, message, CODES).await
}

fn range(from: u64, to: u64) -> Verdict {
    Verdict::RangeTooLarge(Some(Hint::Range { from, to }))
}

fn max(n: u64) -> Verdict {
    Verdict::RangeTooLarge(Some(Hint::Max(n)))
}

const PLAIN: Verdict = Verdict::RangeTooLarge(None);

#[tokio::test]
async fn infura_patterns() {
    let msg = "query returned more than 10000 results. Try with this block range [0x10, 0x2F].";
    assert_eq!(verdict(-32005, msg).await, range(0x10, 0x2f));
    // Without the code list the fragments still classify it.
    assert_eq!(verdict_with(-32005, msg, &[]).await, range(0x10, 0x2f));
    assert_eq!(
        verdict_with(-32005, "query returned more than 10000 results", &[]).await,
        PLAIN
    );
    assert_eq!(
        verdict(-32602, "range 1000000 exceeds limit of 10000").await,
        max(10_000)
    );
}

#[tokio::test]
async fn alchemy_patterns() {
    let msg = "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block \
               range and no limit on the response size, or you can request any block range with \
               a cap of 10K logs in the response. Based on your parameters, this block range \
               should work: [0x123c9b2, 0x123cba5]";
    assert_eq!(
        verdict_with(-32602, msg, &[]).await,
        range(0x123c9b2, 0x123cba5)
    );
    let msg = "You can make eth_getLogs requests with up to a 500 block range.";
    assert_eq!(verdict_with(-32600, msg, &[]).await, max(500));
    let msg =
        "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range";
    assert_eq!(verdict_with(-32000, msg, &[]).await, max(2000));
}

#[tokio::test]
async fn quicknode_patterns() {
    assert_eq!(
        verdict(-32614, "eth_getLogs is limited to a 10,000 range").await,
        max(10_000)
    );
    let msg = "eth_getLogs and eth_newFilter are limited to a 10,000 blocks range";
    assert_eq!(verdict_with(-32602, msg, &[]).await, max(10_000));
}

#[tokio::test]
async fn ankr_patterns() {
    assert_eq!(
        verdict_with(-32600, "block range is too wide", &[]).await,
        PLAIN
    );
    let msg = "maximum [from, to] blocks distance: 3000";
    assert_eq!(verdict(-32062, msg).await, max(3000));
}

#[tokio::test]
async fn cloudflare_pattern() {
    assert_eq!(verdict(-32047, "Max range: 800").await, max(800));
}

#[tokio::test]
async fn geth_patterns() {
    for msg in [
        "block range is bigger than maxBlockRange",
        "block range too large",
        "Block range is too large",
    ] {
        assert_eq!(verdict(-32000, msg).await, PLAIN, "{msg}");
    }
    // geth's reversed-range answer is a head overrun, even with a listed code.
    assert!(matches!(
        verdict(-32602, "invalid block range params").await,
        Verdict::HeadOverrun(_)
    ));
}

#[tokio::test]
async fn erigon_patterns() {
    assert_eq!(
        verdict(-32000, "query block range exceeds server limit").await,
        PLAIN
    );
    assert_eq!(verdict(-32000, "query returns too many logs").await, PLAIN);
}

#[tokio::test]
async fn reth_patterns() {
    assert_eq!(
        verdict_with(-32602, "query exceeds max block range 100000", &[]).await,
        PLAIN
    );
    let msg = "query exceeds max results 20000, retry with the range 16-25";
    assert_eq!(verdict(-32602, msg).await, range(16, 25));
    let msg = "block range extends beyond current head block";
    assert!(matches!(
        verdict(-32602, msg).await,
        Verdict::HeadOverrun(_)
    ));
}

#[tokio::test]
async fn anvil_head_overrun_is_not_a_range_error() {
    let msg = "BlockOutOfRangeError: block height is 5 but requested was 10";
    assert_eq!(
        verdict(-32602, msg).await,
        Verdict::HeadOverrun(msg.to_owned())
    );
}

#[tokio::test]
async fn rate_limits_are_never_range_errors() {
    assert_eq!(
        verdict(-32005, "limit exceeded").await,
        Verdict::RateLimited
    );
    assert_eq!(
        verdict(429, "Too Many Requests").await,
        Verdict::RateLimited
    );
    assert_eq!(
        verdict(-32005, "daily request count exceeded, request rate limited").await,
        Verdict::RateLimited
    );
    let msg = "Your app has exceeded its compute units per second capacity";
    assert_eq!(verdict(-32600, msg).await, Verdict::RateLimited);
    let http = TransportErrorKind::http_error(503, "busy".into());
    assert_eq!(classify(&http, CODES), Verdict::RateLimited);
}

#[tokio::test]
async fn structured_codes_decide_unless_disabled() {
    assert_eq!(verdict(-32005, "something went wrong").await, PLAIN);
    assert_eq!(verdict(-32616, "").await, PLAIN);
    assert_eq!(
        verdict_with(-32005, "something went wrong", &[]).await,
        Verdict::Other
    );
    assert_eq!(verdict_with(-1, "x", &[-1]).await, PLAIN);
    // The digits of a listed code inside the message do not count.
    assert_eq!(
        verdict(-32000, "upstream said -32005").await,
        Verdict::Other
    );
}

#[tokio::test]
async fn other_failures_abort() {
    assert_eq!(verdict(-32000, "connection refused").await, Verdict::Other);
    let budget = TransportErrorKind::custom(crate::budget::BudgetExhaustedError { limit: 7 });
    assert_eq!(classify(&budget, CODES), Verdict::Budget(7));
    let big = TransportErrorKind::custom(ResponseTooLarge { limit: 1 });
    assert_eq!(classify(&big, CODES), PLAIN);
    assert_eq!(
        classify(&TransportErrorKind::http_error(500, String::new()), CODES),
        Verdict::Other
    );
}

#[test]
fn hint_parser_edge_cases() {
    assert_eq!(
        hint("try with this block range [0x0,0xa]."),
        Some(Hint::Range { from: 0, to: 10 })
    );
    assert_eq!(hint("[0x, 0x1]"), None);
    assert_eq!(hint("[0xffffffffffffffffff, 0x1]"), None);
    assert_eq!(hint("up to a 2k block range"), Some(Hint::Max(2000)));
    assert_eq!(hint("up to a 10_000 block range"), Some(Hint::Max(10_000)));
    assert_eq!(hint("up to a keen block range"), None);
    assert_eq!(hint("limited to a 99999999999999999999999 range"), None);
    assert_eq!(hint("max range: 18446744073709552k"), None);
    assert_eq!(hint("retry with the range 5-"), None);
    assert_eq!(hint("maximum block range: 1,000,"), Some(Hint::Max(1000)));
    assert_eq!(hint("no numbers here"), None);
    assert_eq!(
        hint("too many logs, narrow your filter: 5000"),
        Some(Hint::Max(5000))
    );
}

proptest::proptest! {
    /// Hostile messages never panic the classifier or the hint parser.
    #[test]
    fn arbitrary_messages_never_panic(message in "\\PC{0,200}", code in proptest::prelude::any::<i64>()) {
        let _ = classify_message(Some(code), &message, "", CODES);
        let _ = hint(&message.to_ascii_lowercase());
    }
}
