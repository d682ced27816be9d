//! The streamed page against the whole-body reading it replaces: the response parsed at once
//! into logs, sorted, then checked in one pass.

use alloy::rpc::json_rpc::{Response, ResponsePayload};
use alloy_primitives::{B256, U256};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::log::check;
use crate::log::tests::{APP, INPUT_BOX, advance, raw};
use crate::range::BlockRange;
use crate::response::{Fed, ResponseReader};

const CHAIN_ID: u64 = 31337;

fn want(index: u64) -> Expect {
    Expect {
        input_box: INPUT_BOX,
        app: APP,
        range: BlockRange::new(10, 60).unwrap(),
        index,
    }
}

/// The log of input `index` in `block`, at transaction `tx` and log index `log_index`.
fn log(index: u64, block: u64, tx: u64, log_index: u64) -> Value {
    let mut log = raw(&advance(index, block));
    log["transactionHash"] = json!(B256::from(U256::from(index + 1000)));
    log["transactionIndex"] = json!(format!("{tx:#x}"));
    log["logIndex"] = json!(format!("{log_index:#x}"));
    log
}

/// What a reading gives: the inputs or the error's text; a malformed response is `Err(None)`.
type Outcome = Result<Vec<Input>, Option<String>>;

/// The whole-body reading: parse all, sort all, check each in order.
fn whole_body(body: &[u8], start: u64, last: Option<(u64, u64, u64)>) -> Outcome {
    let response: Response<Vec<RawLog>> = serde_json::from_slice(body).map_err(|_| None)?;
    let ResponsePayload::Success(mut logs) = response.payload else {
        return Err(None);
    };
    logs.sort_by_key(RawLog::sort_key);
    let mut want = want(start);
    let mut last = last;
    let mut inputs = Vec::new();
    for log in logs {
        let (block, log_index) = (log.block(), log.log_index());
        let invalid = |problem| Some(invalid(block, log_index, problem).to_string());
        let input = check(log, &want).map_err(invalid)?;
        let position = input.l1_position();
        if last.is_some_and(|last| position < last) {
            return Err(invalid(LogProblem::OutOfOrder));
        }
        if input.advance.chain_id != CHAIN_ID {
            return Err(Some("chain".into()));
        }
        last = Some(position);
        want.index = want
            .index
            .checked_add(1)
            .ok_or_else(|| Some("overflow".into()))?;
        inputs.push(input);
    }
    Ok(inputs)
}

/// The streamed reading, `body` cut at `cuts`.
fn streamed(body: &[u8], cuts: &[usize], start: u64, last: Option<(u64, u64, u64)>) -> Outcome {
    let mut reader = ResponseReader::new();
    let mut page = Page::new();
    let expect = want(start);
    let mut element = |json: &[u8], seq: usize| page.push(json, seq, &expect);
    let mut from = 0;
    for &cut in cuts.iter().chain([&body.len()]) {
        let cut = cut.clamp(from, body.len());
        reader
            .feed(&body[from..cut], &mut element)
            .map_err(|_: Fed<serde_json::Error>| None)?;
        from = cut;
    }
    let envelope = reader.finish().map_err(|_| None)?;
    if envelope.error.is_some() {
        return Err(None);
    }
    let mut last = last;
    match page.into_inputs(&expect, CHAIN_ID, &mut last) {
        Ok((inputs, next)) => {
            assert_eq!(next, start + inputs.len() as u64);
            Ok(inputs.into())
        }
        Err(Error::InputChainMismatch { .. }) => Err(Some("chain".into())),
        Err(Error::BadResponse { .. }) => Err(Some("overflow".into())),
        Err(e) => Err(Some(e.to_string())),
    }
}

fn body(logs: &[Value]) -> Vec<u8> {
    json!({"jsonrpc": "2.0", "id": 1, "result": logs})
        .to_string()
        .into_bytes()
}

#[test]
fn a_shuffled_page_is_sorted_and_indexed() {
    let logs = [log(2, 12, 0, 0), log(0, 11, 1, 3), log(1, 11, 2, 0)];
    let inputs = streamed(&body(&logs), &[7, 100], 0, None).unwrap();
    assert_eq!(
        inputs.iter().map(|i| i.index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(inputs, whole_body(&body(&logs), 0, None).unwrap());
}

#[test]
fn the_first_failure_in_l1_order_is_reported() {
    // A log refused by its own checks, read first but placed after a log with a wrong index.
    let mut removed = log(1, 20, 0, 0);
    removed["removed"] = json!(true);
    let logs = [removed, log(5, 11, 0, 0)];
    let got = streamed(&body(&logs), &[], 0, None).unwrap_err().unwrap();
    assert!(got.contains("index"), "{got}");
    assert_eq!(Err(Some(got)), whole_body(&body(&logs), 0, None));
    // The same refused log placed first wins.
    let mut removed = log(0, 10, 0, 0);
    removed["removed"] = json!(true);
    let logs = [log(5, 11, 0, 0), removed];
    let got = streamed(&body(&logs), &[], 0, None).unwrap_err().unwrap();
    assert!(got.contains("removed"), "{got}");
    assert_eq!(Err(Some(got)), whole_body(&body(&logs), 0, None));
}

#[test]
fn an_index_mismatch_comes_before_a_foreign_app_or_a_missing_hash() {
    let mut both = log(3, 11, 0, 0);
    both["blockHash"] = Value::Null;
    let got = streamed(&body(&[both.clone()]), &[], 0, None)
        .unwrap_err()
        .unwrap();
    assert!(got.contains("index"), "{got}");
    let got = streamed(&body(&[both]), &[], 3, None).unwrap_err().unwrap();
    assert!(got.contains("blockHash"), "{got}");
}

/// How a log of the generated pages is spoiled, if at all.
fn spoil(log: &mut Value, how: u8) {
    match how {
        0 => log["removed"] = json!(true),
        1 => log["blockNumber"] = json!("0x3"),
        2 => log["address"] = json!(APP),
        3 => log["topics"][1] = json!(B256::ZERO),
        4 => log["data"] = json!("0x00"),
        5 => log["blockHash"] = Value::Null,
        6 => log["transactionHash"] = json!("0x12"),
        7 => log["topics"][2] = json!(B256::repeat_byte(0xff)),
        8 => log["logIndex"] = Value::Null,
        9 => log["transactionIndex"] = json!(7),
        10 => {
            log.as_object_mut().unwrap().remove("topics");
        }
        _ => {}
    }
}

prop_compose! {
    /// A page of consecutive inputs from `start`, some sharing blocks, in a random order, a few
    /// logs spoiled, sometimes one duplicated.
    fn page()(
        start in 0u64..3,
        placement in proptest::collection::vec((0u64..3, 0u64..3), 0..12),
        order in any::<u64>(),
        spoiled in proptest::collection::vec(0u8..40, 12),
        duplicate in proptest::option::of(0usize..12),
    ) -> (u64, Vec<Value>) {
        let mut block = 10;
        let mut logs: Vec<Value> = placement
            .iter()
            .enumerate()
            .map(|(i, &(step, tx))| {
                block += step;
                let mut log = log(start + i as u64, block, tx, i as u64);
                spoil(&mut log, spoiled[i]);
                log
            })
            .collect();
        if let Some(d) = duplicate.filter(|&d| d < logs.len()) {
            logs.push(logs[d].clone());
        }
        // A deterministic shuffle from `order`.
        let mut state = order | 1;
        for i in (1..logs.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            logs.swap(i, (state % (i as u64 + 1)) as usize);
        }
        (start, logs)
    }
}

proptest! {
    /// The streamed page equals the whole-body reading, inputs byte for byte and errors word for
    /// word, wherever the body is cut.
    #[test]
    fn streaming_equals_whole_body_parsing(
        (start, logs) in page(),
        cuts in proptest::collection::vec(0usize..20_000, 0..10),
        last in proptest::option::of((0u64..12, 0u64..3, 0u64..3)),
        spaced in any::<bool>(),
    ) {
        let mut body = body(&logs);
        if spaced {
            let value: Value = serde_json::from_slice(&body).unwrap();
            body = serde_json::to_vec_pretty(&value).unwrap();
        }
        let mut cuts = cuts;
        cuts.sort_unstable();
        let expected = whole_body(&body, start, last);
        prop_assert_eq!(streamed(&body, &cuts, start, last), expected.clone());
        // Cut everywhere: byte by byte.
        let every: Vec<usize> = (0..body.len()).collect();
        prop_assert_eq!(streamed(&body, &every, start, last), expected);
    }
}
