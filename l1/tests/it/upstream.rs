//! The reference sequencer's own `eth_getLogs` partition vector
//! (`../shared/upstream-fixtures/l1_partition_vector.json`, read in place so that it stays the
//! reference's bytes): every scenario's calls and outcome, and the log sort order.

use std::path::PathBuf;

use alloy::rpc::json_rpc::ErrorPayload;
use l1::RangePlan;
use serde_json::{Value, json};

use crate::support::{Mock, advance, log_of};

/// A file of the reference's fixtures, found in `shared/` beside the workspace or above it.
pub(crate) fn upstream_fixture(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.ancestors()
        .map(|dir| dir.join("shared/upstream-fixtures").join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("{name}: no shared/upstream-fixtures beside the workspace"))
}

fn vector() -> Value {
    serde_json::from_slice(&std::fs::read(upstream_fixture("l1_partition_vector.json")).unwrap())
        .unwrap()
}

/// The JSON-RPC code of a provider message: the number inside it, as the vector says; a message
/// without one gets the generic internal-error code.
fn code_in(message: &str) -> i64 {
    message
        .split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .filter_map(|word| word.parse::<i64>().ok())
        .find(|code| *code < 0)
        .unwrap_or(-32603)
}

fn pair(value: &Value) -> (u64, u64) {
    (value[0].as_u64().unwrap(), value[1].as_u64().unwrap())
}

#[tokio::test]
async fn every_partition_scenario_makes_the_listed_calls_with_the_listed_outcome() {
    let vector = vector();
    let codes: Vec<i64> = vector["long_block_range_error_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().parse().unwrap())
        .collect();
    let scenarios = vector["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 7);
    for scenario in scenarios {
        let name = scenario["name"].as_str().unwrap();
        let failing: Vec<((u64, u64), &str)> = scenario["fail_ranges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let range = (f["from"].as_u64().unwrap(), f["to"].as_u64().unwrap());
                (range, f["message"].as_str().unwrap())
            })
            .collect();
        let expected: Vec<(u64, u64)> = scenario["expect_calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(pair)
            .collect();
        // The provider answers each expected call: an error for a failing range, no logs
        // otherwise. A call the plan makes out of turn gets a mismatched answer and shows
        // in the recorded calls.
        let mock = Mock::new();
        for call in &expected {
            match failing.iter().find(|(range, _)| range == call) {
                Some((_, message)) => mock.asserter.push_failure(ErrorPayload {
                    code: code_in(message),
                    message: (*message).to_owned().into(),
                    data: None,
                }),
                None => mock.logs(vec![]),
            }
        }
        let (from, to) = (
            scenario["start_block"].as_u64().unwrap(),
            scenario["end_block"].as_u64().unwrap(),
        );
        let outcome = mock
            .reader(RangePlan::new().with_codes(codes.clone()))
            .scan(from, to, 0, |_| {})
            .await;
        assert_eq!(mock.get_logs_ranges(), expected, "{name}: calls");
        assert_eq!(
            outcome.is_ok(),
            scenario["expect_ok"].as_bool().unwrap(),
            "{name}: {outcome:?}"
        );
        assert_eq!(mock.unused(), 0, "{name}: every answer was used");
    }
}

#[tokio::test]
async fn logs_come_out_in_the_reference_sort_order() {
    let vector = vector();
    let sort = &vector["log_sort"];
    let hex = |v: &Value| u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16);
    let positions: Vec<(u64, u64, u64)> = sort["unsorted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|log| {
            (
                hex(&log["blockNumber"]).unwrap(),
                hex(&log["transactionIndex"]).unwrap(),
                hex(&log["logIndex"]).unwrap(),
            )
        })
        .collect();
    // Input indices follow the sorted order, as the InputBox assigns them.
    let mut sorted = positions.clone();
    sorted.sort_unstable();
    let logs: Vec<Value> = positions
        .iter()
        .map(|&(block, tx, log_index)| {
            let index = sorted
                .iter()
                .position(|p| *p == (block, tx, log_index))
                .unwrap();
            log_of(&advance(index as u64, block), tx, log_index)
        })
        .collect();
    let mock = Mock::new();
    mock.logs(logs);
    let mut seen = Vec::new();
    mock.reader(RangePlan::new())
        .scan(0, 10, 0, |input| seen.push(input))
        .await
        .unwrap();
    let blocks: Vec<Value> = seen
        .iter()
        .map(|input| json!(format!("{:#x}", input.block_number)))
        .collect();
    let log_indices: Vec<Value> = seen
        .iter()
        .map(|input| json!(format!("{:#x}", input.log_index.unwrap())))
        .collect();
    assert_eq!(Value::from(blocks), sort["expect_block_order"]);
    assert_eq!(Value::from(log_indices), sort["expect_log_index_order"]);
}
