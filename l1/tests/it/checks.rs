//! Per-log checks, ordering and the completeness witness, through alloy's mock transport.

use alloy_primitives::{Address, B256, U256};
use canonical::EvmAdvance;
use l1::{Class, Error, LogProblem, RangePlan};
use serde_json::json;

use crate::support::{CHAIN_ID, INPUT_BOX, Mock, advance, log, log_of};

/// Scans `[0, 99]` from index 0 over one response holding `logs`.
async fn scan_one(logs: Vec<serde_json::Value>) -> Result<Vec<u64>, Error> {
    let mock = Mock::new();
    mock.logs(logs);
    let mut seen = Vec::new();
    mock.reader(RangePlan::new())
        .scan(0, 99, 0, |input| seen.push(input.index))
        .await?;
    Ok(seen)
}

fn problem(err: Error) -> LogProblem {
    assert_eq!(
        (err.class(), err.reason()),
        (Class::Transient, "l1_incomplete"),
        "{err}"
    );
    match err {
        Error::InvalidLog { problem, .. } => problem,
        other => panic!("not a log problem: {other}"),
    }
}

#[tokio::test]
async fn a_response_is_handed_out_in_l1_order() {
    let logs = vec![
        log_of(&advance(3, 20), 0, 0),
        log_of(&advance(1, 10), 4, 9),
        log_of(&advance(0, 10), 2, 11),
        log_of(&advance(2, 10), 4, 12),
    ];
    assert_eq!(scan_one(logs).await.unwrap(), [0, 1, 2, 3]);
}

#[tokio::test]
async fn removed_logs_are_refused() {
    let mut removed = log(0, 5);
    removed["removed"] = json!(true);
    assert_eq!(
        problem(scan_one(vec![removed]).await.unwrap_err()),
        LogProblem::Removed
    );
}

#[tokio::test]
async fn gaps_and_duplicates_are_refused() {
    let err = scan_one(vec![log(0, 5), log(2, 6)]).await.unwrap_err();
    assert!(matches!(
        problem(err),
        LogProblem::IndexMismatch { expected: 1, .. }
    ));
    let err = scan_one(vec![log(0, 5), log_of(&advance(0, 6), 0, 1)])
        .await
        .unwrap_err();
    assert!(matches!(
        problem(err),
        LogProblem::IndexMismatch { expected: 1, .. }
    ));
    let err = scan_one(vec![log(1, 5)]).await.unwrap_err();
    assert!(matches!(
        problem(err),
        LogProblem::IndexMismatch { expected: 0, .. }
    ));
}

#[tokio::test]
async fn payload_block_must_equal_log_block() {
    let mut moved = log(0, 5);
    moved["blockNumber"] = json!("0x6");
    assert_eq!(
        problem(scan_one(vec![moved]).await.unwrap_err()),
        LogProblem::BlockMismatch { payload_block: 5 }
    );
}

#[tokio::test]
async fn topic2_must_equal_payload_index() {
    let mut wrong = log(0, 5);
    wrong["topics"][2] = json!(B256::from(U256::from(7)));
    assert!(matches!(
        problem(scan_one(vec![wrong]).await.unwrap_err()),
        LogProblem::IndexMismatch { expected: 0, .. }
    ));
}

#[tokio::test]
async fn foreign_contracts_and_applications_are_refused() {
    let mut foreign = log(0, 5);
    foreign["address"] = json!(Address::repeat_byte(0x01));
    assert!(matches!(
        problem(scan_one(vec![foreign]).await.unwrap_err()),
        LogProblem::WrongAddress(_)
    ));

    let other_app = EvmAdvance {
        app_contract: INPUT_BOX,
        ..advance(0, 5)
    };
    assert_eq!(
        problem(scan_one(vec![log_of(&other_app, 0, 0)]).await.unwrap_err()),
        LogProblem::AppMismatch(INPUT_BOX)
    );
}

#[tokio::test]
async fn a_log_outside_the_requested_range_is_refused() {
    assert!(matches!(
        problem(scan_one(vec![log(0, 100)]).await.unwrap_err()),
        LogProblem::OutsideRange(_)
    ));
}

#[tokio::test]
async fn a_foreign_chain_is_an_operator_error() {
    let adv = EvmAdvance {
        chain_id: 1,
        ..advance(0, 5)
    };
    let err = scan_one(vec![log_of(&adv, 0, 0)]).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::InputChainMismatch {
                index: 0,
                expected: CHAIN_ID,
                found: 1
            }
        ),
        "{err}"
    );
    assert_eq!(
        (err.class(), err.reason()),
        (Class::Operator, "input_chain_mismatch")
    );
}

#[tokio::test]
async fn a_malformed_response_is_a_bad_response_not_a_panic() {
    let mock = Mock::new();
    mock.asserter.push_success(&json!({"not": "an array"}));
    let err = mock
        .reader(RangePlan::new())
        .scan(0, 9, 0, |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadResponse {
                method: "eth_getLogs",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.class(), Class::Transient);
}

#[tokio::test]
async fn a_failed_cursor_stays_failed() {
    let mock = Mock::new();
    mock.logs(vec![log(5, 1)]);
    let reader = mock.reader(RangePlan::new());
    let mut cursor = reader.cursor(0, 9, 0);
    assert!(matches!(cursor.next().await, Err(Error::InvalidLog { .. })));
    let again = cursor.next().await.unwrap_err();
    assert!(matches!(again, Error::Poisoned));
    assert_eq!(again.class(), Class::Internal);
    assert_eq!(mock.get_logs_ranges().len(), 1);
}

#[tokio::test]
async fn completeness_uses_the_block_hash_and_compares_the_count() {
    let mock = Mock::new();
    mock.logs(vec![log(7, 3), log(8, 4)]);
    let hash = B256::repeat_byte(0x5a);
    mock.asserter.push_success(&B256::from(U256::from(9)));
    mock.asserter.push_success(&B256::from(U256::from(10)));
    let reader = mock.reader(RangePlan::new());
    let report = reader.scan(0, 9, 7, |_| {}).await.unwrap();
    reader.verify_count(&report, hash).await.unwrap();
    let err = reader.verify_count(&report, hash).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::CountMismatch {
                on_chain: 10,
                scanned: 9,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.reason(), "l1_incomplete");

    let (method, params) = mock.requests()[1].clone();
    assert_eq!(method, "eth_call");
    assert_eq!(params[1], json!({"blockHash": format!("{hash:#x}")}));
    let data = params[0]["data"].as_str().unwrap();
    assert_eq!(
        data,
        "0x61a93c87000000000000000000000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    );
    assert_eq!(
        params[0]["to"].as_str().unwrap().to_lowercase(),
        format!("{INPUT_BOX:#x}")
    );
}
