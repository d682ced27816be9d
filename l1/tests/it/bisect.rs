//! Every path of the range plan, through alloy's mock transport.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use alloy::rpc::json_rpc::{RequestPacket, ResponsePacket};
use alloy::transports::mock::{Asserter, MockTransport};
use alloy::transports::{TransportError, TransportFut};
use l1::{BlockRange, Class, Error, InputReader, RangePlan, RequestBudget, RpcConfig};

use crate::support::{APP, CHAIN_ID, INPUT_BOX, Mock, log};

const TOO_MANY: &str = "query returned more than 10000 results";

fn ranges(pairs: &[(u64, u64)]) -> Vec<BlockRange> {
    pairs
        .iter()
        .map(|&(a, b)| BlockRange::new(a, b).unwrap())
        .collect()
}

#[tokio::test]
async fn empty_range_makes_no_call() {
    let mock = Mock::new();
    let mut seen = 0;
    let report = mock
        .reader(RangePlan::new())
        .scan(10, 9, 3, |_| seen += 1)
        .await
        .unwrap();
    assert_eq!((seen, report.next_index, report.get_logs_calls), (0, 3, 0));
    assert!(report.covered.is_empty());
    assert_eq!(mock.budget.used(), 0);
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn one_clean_window_is_one_call() {
    let mock = Mock::new();
    mock.logs(vec![log(0, 5), log(1, 9)]);
    let report = mock
        .reader(RangePlan::new())
        .scan(0, 9, 0, |_| {})
        .await
        .unwrap();
    assert_eq!(mock.get_logs_ranges(), [(0, 9)]);
    assert_eq!(
        (report.next_index, report.inputs(), report.range_errors),
        (2, 2, 0)
    );
    assert_eq!(report.learned_span(), None);
}

#[tokio::test]
async fn nested_splits_go_left_first_and_cover_the_range_once() {
    let mock = Mock::new();
    mock.fail(-32005, TOO_MANY); // [0, 99]
    mock.fail(-32005, TOO_MANY); // [0, 49]
    mock.logs(vec![log(0, 3), log(1, 20)]); // [0, 24]
    mock.fail(-32005, TOO_MANY); // [25, 49]
    mock.logs(vec![log(2, 30)]); // [25, 37]
    mock.logs(vec![]); // [38, 49]
    mock.logs(vec![log(3, 50), log(4, 99)]); // [50, 99]
    let mut blocks = Vec::new();
    let report = mock
        .reader(RangePlan::new())
        .scan(0, 99, 0, |input| {
            blocks.push((input.index, input.block_number))
        })
        .await
        .unwrap();
    assert_eq!(
        mock.get_logs_ranges(),
        [
            (0, 99),
            (0, 49),
            (0, 24),
            (25, 49),
            (25, 37),
            (38, 49),
            (50, 99)
        ]
    );
    assert_eq!(blocks, [(0, 3), (1, 20), (2, 30), (3, 50), (4, 99)]);
    assert_eq!(
        report.covered,
        ranges(&[(0, 24), (25, 37), (38, 49), (50, 99)])
    );
    assert_eq!((report.get_logs_calls, report.range_errors), (7, 3));
    assert_eq!(report.largest_ok, Some(50));
    assert_eq!(report.learned_span(), Some(50));
    assert_eq!(mock.unused(), 0);
}

#[tokio::test]
async fn a_terminal_error_in_the_left_half_stops_before_the_right_half() {
    let mock = Mock::new();
    mock.fail(-32602, TOO_MANY); // [0, 99]
    mock.fail(-32000, "connection reset by peer"); // [0, 49]
    mock.logs(vec![log(0, 60)]); // would be [50, 99]
    let mut seen = 0;
    let err = mock
        .reader(RangePlan::new())
        .scan(0, 99, 0, |_| seen += 1)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Unavailable { method: "eth_getLogs", range: Some(r), .. } if r == BlockRange::new(0, 49).unwrap()),
        "{err}"
    );
    assert_eq!(
        (err.class(), err.reason()),
        (Class::Transient, "l1_unavailable")
    );
    assert_eq!(mock.get_logs_ranges(), [(0, 99), (0, 49)]);
    assert_eq!((seen, mock.unused()), (0, 1));
}

#[tokio::test]
async fn a_single_block_that_still_fails_is_an_error_not_another_split() {
    let mock = Mock::new();
    mock.fail(-32005, TOO_MANY); // [5, 6]
    mock.fail(-32005, TOO_MANY); // [5, 5]
    let err = mock
        .reader(RangePlan::new())
        .scan(5, 6, 0, |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RangeSingleBlock { block: 5, .. }),
        "{err}"
    );
    assert_eq!(err.reason(), "l1_range_error_single_block");
    assert_eq!(mock.get_logs_ranges(), [(5, 6), (5, 5)]);
}

#[tokio::test]
async fn a_suggested_range_is_honoured_and_sizes_the_following_windows() {
    let mock = Mock::new();
    mock.fail(
        -32602,
        "Log response size exceeded. this block range should work: [0x64, 0x6d]",
    );
    mock.logs(vec![log(0, 101)]);
    mock.logs(vec![]);
    mock.logs(vec![]);
    mock.logs(vec![]);
    let report = mock
        .reader(RangePlan::new())
        .scan(100, 135, 0, |_| {})
        .await
        .unwrap();
    assert_eq!(
        mock.get_logs_ranges(),
        [(100, 135), (100, 109), (110, 119), (120, 129), (130, 135)]
    );
    assert_eq!(report.next_index, 1);
    assert_eq!(report.range_errors, 1);
    assert_eq!(report.learned_span(), Some(10));
}

#[tokio::test]
async fn a_suggested_maximum_applies_to_every_following_window_at_once() {
    let mock = Mock::new();
    let msg = "eth_getLogs is limited to a 30 range";
    mock.fail(-32614, msg); // [0, 99]
    mock.logs(vec![]); // [0, 29]
    mock.logs(vec![log(0, 59)]); // [30, 59]
    mock.logs(vec![]); // [60, 89]
    mock.logs(vec![log(1, 95)]); // [90, 99]
    let report = mock
        .reader(RangePlan::new())
        .scan(0, 99, 0, |_| {})
        .await
        .unwrap();
    assert_eq!(
        mock.get_logs_ranges(),
        [(0, 99), (0, 29), (30, 59), (60, 89), (90, 99)]
    );
    assert_eq!(report.range_errors, 1);
    assert_eq!(report.learned_span(), Some(30));
}

#[tokio::test]
async fn a_suggestion_not_starting_at_from_falls_back_to_the_midpoint() {
    let mock = Mock::new();
    mock.fail(-32005, "Try with this block range [0x5, 0x9].");
    mock.logs(vec![]);
    mock.logs(vec![]);
    mock.reader(RangePlan::new())
        .scan(0, 99, 0, |_| {})
        .await
        .unwrap();
    assert_eq!(mock.get_logs_ranges(), [(0, 99), (0, 49), (50, 99)]);
}

#[tokio::test]
async fn provider_messages_split_even_without_codes() {
    let mock = Mock::new();
    mock.fail(-32000, "query block range exceeds server limit"); // erigon
    mock.logs(vec![]);
    mock.logs(vec![]);
    mock.reader(RangePlan::new().with_codes([]))
        .scan(0, 9, 0, |_| {})
        .await
        .unwrap();
    assert_eq!(mock.get_logs_ranges(), [(0, 9), (0, 4), (5, 9)]);
}

#[tokio::test]
async fn an_empty_code_list_turns_a_bare_code_into_an_abort() {
    let mock = Mock::new();
    mock.fail(-32005, "unexpected failure");
    let err = mock
        .reader(RangePlan::new().with_codes(vec![]))
        .scan(0, 9, 0, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert_eq!(mock.get_logs_ranges(), [(0, 9)]);
}

#[tokio::test]
async fn an_exhausted_budget_stops_the_scan() {
    let mock = Mock::with_budget(RequestBudget::new(3));
    for _ in 0..5 {
        mock.fail(-32005, TOO_MANY);
    }
    let err = mock
        .reader(RangePlan::new())
        .scan(0, 1 << 20, 0, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BudgetExhausted { limit: 3 }), "{err}");
    assert_eq!(
        (err.class(), err.reason()),
        (Class::Transient, "rpc_budget_exhausted")
    );
    assert_eq!(mock.budget.used(), 3);
    assert_eq!(mock.get_logs_ranges().len(), 3);
    assert_eq!(mock.unused(), 2);
}

#[tokio::test]
async fn rate_limits_and_head_overruns_never_split() {
    let mock = Mock::new();
    mock.fail(-32005, "limit exceeded");
    let err = mock
        .reader(RangePlan::new())
        .scan(0, 9, 0, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");

    let mock = Mock::new();
    mock.fail(
        -32602,
        "BlockOutOfRangeError: block height is 5 but requested was 9",
    );
    let err = mock
        .reader(RangePlan::new())
        .scan(0, 9, 0, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::HeadLags { .. }), "{err}");
    assert_eq!(err.reason(), "l1_head_lags");
    assert_eq!(mock.get_logs_ranges(), [(0, 9)]);
}

#[tokio::test]
async fn a_known_span_cuts_windows_and_is_kept_after_a_clean_scan() {
    let mock = Mock::new();
    mock.logs(vec![log(0, 3)]);
    mock.logs(vec![]);
    mock.logs(vec![log(1, 25)]);
    let plan = RangePlan::new().with_span(Some(10));
    let report = mock.reader(plan).scan(0, 25, 0, |_| {}).await.unwrap();
    assert_eq!(mock.get_logs_ranges(), [(0, 9), (10, 19), (20, 25)]);
    assert_eq!(report.covered, ranges(&[(0, 9), (10, 19), (20, 25)]));
    assert_eq!(report.learned_span(), Some(10));
}

#[tokio::test]
async fn a_span_that_became_too_large_shrinks_to_the_largest_success() {
    let mock = Mock::new();
    mock.fail(-32005, TOO_MANY); // [0, 9]
    mock.logs(vec![]); // [0, 4]
    mock.logs(vec![]); // [5, 9]
    mock.logs(vec![]); // [10, 12]
    let report = mock
        .reader(RangePlan::new().with_span(Some(10)))
        .scan(0, 12, 0, |_| {})
        .await
        .unwrap();
    assert_eq!(mock.get_logs_ranges(), [(0, 9), (0, 4), (5, 9), (10, 12)]);
    assert_eq!(report.learned_span(), Some(5));
}

#[tokio::test]
async fn the_cursor_hands_out_inputs_between_requests() {
    let mock = Mock::new();
    mock.logs(vec![log(0, 1), log(1, 2)]);
    mock.logs(vec![log(2, 15)]);
    let reader = mock.reader(RangePlan::new().with_span(Some(10)));
    let mut cursor = reader.cursor(0, 19, 0);
    assert!(
        mock.requests().is_empty(),
        "nothing is requested before the first next()"
    );
    assert_eq!(cursor.next().await.unwrap().unwrap().index, 0);
    assert_eq!(cursor.next().await.unwrap().unwrap().index, 1);
    assert_eq!(
        mock.get_logs_ranges(),
        [(0, 9)],
        "the second window waits for the first to drain"
    );
    assert_eq!(cursor.next().await.unwrap().unwrap().index, 2);
    assert!(cursor.next().await.unwrap().is_none());
    assert!(cursor.is_finished());
    assert_eq!(cursor.report().next_index, 3);
}

/// Stalls its first request forever, then answers from the asserter.
#[derive(Clone)]
struct StallFirst {
    inner: MockTransport,
    calls: Arc<AtomicUsize>,
}

impl tower::Service<RequestPacket> for StallFirst {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Box::pin(std::future::pending());
        }
        self.inner.call(request)
    }
}

#[tokio::test]
async fn a_dropped_next_requests_the_same_range_again() {
    let asserter = Asserter::new();
    asserter.push_success(&vec![log(0, 3)]);
    let transport = StallFirst {
        inner: MockTransport::new(asserter),
        calls: Default::default(),
    };
    let calls = transport.calls.clone();
    let provider = l1::provider_with_transport(
        transport,
        true,
        &RpcConfig::default(),
        &RequestBudget::unlimited(),
    );
    let reader = InputReader::new(provider, APP, INPUT_BOX, CHAIN_ID, RangePlan::new());
    let mut cursor = reader.cursor(0, 9, 0);
    let stalled = tokio::time::timeout(Duration::from_millis(20), cursor.next()).await;
    assert!(stalled.is_err(), "the first request never answers");
    let input = cursor.next().await.unwrap().unwrap();
    assert_eq!((input.index, input.block_number), (0, 3));
    assert!(cursor.next().await.unwrap().is_none());
    assert_eq!(cursor.report().covered, ranges(&[(0, 9)]));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn pages_are_whole_responses_in_order_and_empty_ones_are_skipped() {
    let mock = Mock::new();
    mock.logs(vec![log(0, 1), log(1, 5)]); // [0, 9]
    mock.logs(vec![]); // [10, 19]
    mock.logs(vec![log(2, 25)]); // [20, 29]
    let reader = mock.reader(RangePlan::new().with_span(Some(10)));
    let mut cursor = reader.cursor(0, 29, 0);
    let mut pages = Vec::new();
    while let Some(page) = cursor.next_page().await.unwrap() {
        pages.push(page.iter().map(|input| input.index).collect::<Vec<_>>());
    }
    assert_eq!(pages, [vec![0, 1], vec![2]]);
    assert_eq!(mock.get_logs_ranges(), [(0, 9), (10, 19), (20, 29)]);
    assert!(cursor.is_finished());
    assert!(cursor.next_page().await.unwrap().is_none());
}
