use alloy_primitives::{Address, B256, Bytes, U256};
use canonical::EvmAdvance;
use serde_json::json;

use super::*;

pub(crate) const APP: Address = Address::repeat_byte(0xaa);
pub(crate) const INPUT_BOX: Address = Address::repeat_byte(0xbb);

/// Input `index` of [`APP`] in `block`.
pub(crate) fn advance(index: u64, block: u64) -> EvmAdvance {
    EvmAdvance {
        chain_id: 31337,
        app_contract: APP,
        msg_sender: Address::repeat_byte(0x42),
        block_number: block,
        block_timestamp: U256::from(1_700_000_000u64),
        prev_randao: U256::from(9),
        index: U256::from(index),
        payload: Bytes::from(vec![0xab; 33]),
    }
}

fn abi(bytes: &[u8]) -> Vec<u8> {
    super::input_added_data(bytes)
}

/// The log of `advance`, at transaction 3, log index 7.
pub(crate) fn raw(advance: &EvmAdvance) -> serde_json::Value {
    json!({
        "address": INPUT_BOX,
        "topics": [INPUT_ADDED_TOPIC, APP.into_word(), B256::from(advance.index)],
        "data": Bytes::from(abi(&advance.encode())),
        "blockNumber": quantity(advance.block_number),
        "blockHash": B256::repeat_byte(1),
        "transactionHash": B256::repeat_byte(2),
        "transactionIndex": "0x3",
        "logIndex": "0x7",
        "removed": false,
    })
}

fn expect(index: u64) -> Expect {
    Expect {
        input_box: INPUT_BOX,
        app: APP,
        range: BlockRange::new(10, 20).unwrap(),
        index,
    }
}

fn checked(value: serde_json::Value, index: u64) -> Result<Input, LogProblem> {
    check(serde_json::from_value(value).unwrap(), &expect(index))
}

#[test]
fn a_valid_log_becomes_an_input_with_the_exact_calldata() {
    let adv = advance(4, 12);
    let input = checked(raw(&adv), 4).unwrap();
    assert_eq!(input.raw.as_ref(), adv.encode().as_slice());
    assert_eq!(input.advance, adv);
    assert_eq!(
        (
            input.index,
            input.block_number,
            input.tx_index,
            input.log_index
        ),
        (4, 12, Some(3), Some(7))
    );
    assert_eq!(input.l1_position(), (12, 3, 7));
}

#[test]
fn every_check_has_its_problem() {
    let adv = advance(4, 12);
    let with = |key: &str, value: serde_json::Value| {
        let mut log = raw(&adv);
        log[key] = value;
        log
    };
    let cases: Vec<(serde_json::Value, LogProblem)> = vec![
        (with("removed", json!(true)), LogProblem::Removed),
        (
            with("blockNumber", json!(null)),
            LogProblem::MissingField("blockNumber"),
        ),
        (
            with("blockNumber", json!("0x9")),
            LogProblem::OutsideRange(expect(0).range),
        ),
        (with("address", json!(APP)), LogProblem::WrongAddress(APP)),
        (
            with("topics", json!([INPUT_ADDED_TOPIC, APP.into_word()])),
            LogProblem::WrongTopics,
        ),
        (
            with(
                "topics",
                json!([INPUT_ADDED_TOPIC, B256::ZERO, B256::from(U256::from(4))]),
            ),
            LogProblem::WrongTopics,
        ),
        (
            with("data", json!("0x")),
            LogProblem::BadData("shorter than two words"),
        ),
        (
            with("blockNumber", json!("0xd")),
            LogProblem::BlockMismatch { payload_block: 12 },
        ),
        (
            with(
                "topics",
                json!([
                    INPUT_ADDED_TOPIC,
                    APP.into_word(),
                    B256::from(U256::from(5))
                ]),
            ),
            LogProblem::IndexMismatch {
                expected: 4,
                topic: U256::from(5),
                payload: U256::from(4),
            },
        ),
        (
            with("blockHash", json!(null)),
            LogProblem::MissingField("blockHash"),
        ),
    ];
    for (log, problem) in cases {
        assert_eq!(checked(log, 4).unwrap_err(), problem);
    }
    // A gap: the log carries index 4 where 3 is expected.
    assert!(matches!(
        checked(raw(&adv), 3),
        Err(LogProblem::IndexMismatch { expected: 3, .. })
    ));
    // Another application in the payload.
    let foreign = EvmAdvance {
        app_contract: INPUT_BOX,
        ..adv.clone()
    };
    assert_eq!(
        checked(raw(&foreign), 4).unwrap_err(),
        LogProblem::AppMismatch(INPUT_BOX)
    );
    // Not an EvmAdvance.
    let mut log = raw(&adv);
    log["data"] = json!(Bytes::from(abi(b"not an advance")));
    assert!(matches!(checked(log, 4), Err(LogProblem::Decode(_))));
}

#[test]
fn abi_bytes_rejects_every_malformation() {
    let good = abi(&[1, 2, 3]);
    assert_eq!(abi_bytes(&good).unwrap(), [1, 2, 3]);
    assert_eq!(abi_bytes(&abi(&[])).unwrap(), Vec::<u8>::new());
    let mut bad_offset = good.clone();
    bad_offset[31] = 0x40;
    let mut huge_len = good.clone();
    huge_len[32..64].copy_from_slice(&[0xff; 32]);
    let mut long_len = good.clone();
    long_len[63] = 40;
    let mut dirty = good.clone();
    dirty[70] = 1;
    let mut trailing = good.clone();
    trailing.extend_from_slice(&[0; 32]);
    for data in [
        bad_offset,
        huge_len,
        long_len,
        dirty,
        trailing,
        good[..63].to_vec(),
    ] {
        assert!(abi_bytes(&data).is_err(), "{data:?}");
    }
}

#[test]
fn filter_uses_minimal_hex_and_two_topics() {
    let filter = LogFilter {
        input_box: INPUT_BOX,
        app: APP,
        range: BlockRange::new(0, 10).unwrap(),
        index: None,
    };
    assert_eq!(
        serde_json::to_value(filter).unwrap(),
        json!({
            "address": "0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "fromBlock": "0x0",
            "toBlock": "0xa",
            "topics": [
                "0xc05d337121a6e8605c6ec0b72aa29c4210ffe6e5b9cefdd6a7058188a8f66f98",
                "0x000000000000000000000000aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ],
        })
    );
}

#[test]
fn filter_for_one_input_adds_its_index_as_topic2() {
    let filter = LogFilter {
        input_box: INPUT_BOX,
        app: APP,
        range: BlockRange::new(5, 6).unwrap(),
        index: Some(258),
    };
    let value = serde_json::to_value(filter).unwrap();
    assert_eq!(
        value["topics"][2],
        "0x0000000000000000000000000000000000000000000000000000000000000102"
    );
    assert_eq!(value["topics"].as_array().unwrap().len(), 3);
}

#[test]
fn hostile_logs_never_panic() {
    // Arbitrary field types are parse errors of the whole response, not panics.
    assert!(
        serde_json::from_value::<RawLog>(json!({"topics": "nope", "blockNumber": "0xzz"})).is_err()
    );
    // Missing everything: typed problems.
    let empty: RawLog = serde_json::from_value(json!({})).unwrap();
    assert_eq!(empty.sort_key(), (0, 0, 0));
    assert_eq!(
        check(empty, &expect(0)).unwrap_err(),
        LogProblem::MissingField("blockNumber")
    );
}

proptest::proptest! {
    /// Whatever bytes and numbers a provider sends, the checks return a value.
    #[test]
    fn arbitrary_logs_never_panic(
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        block in proptest::prelude::any::<u64>(),
        index in proptest::prelude::any::<u64>(),
        topic2 in proptest::prelude::any::<[u8; 32]>(),
    ) {
        let value = json!({
            "address": INPUT_BOX,
            "topics": [INPUT_ADDED_TOPIC, APP.into_word(), B256::from(topic2)],
            "data": Bytes::from(data.clone()),
            "blockNumber": quantity(block),
            "blockHash": B256::ZERO,
            "transactionHash": B256::ZERO,
        });
        let log: RawLog = serde_json::from_value(value).unwrap();
        let want = Expect { input_box: INPUT_BOX, app: APP, range: BlockRange::new(0, u64::MAX).unwrap(), index };
        let _ = check(log, &want);
        let _ = abi_bytes(&data);
        // Valid framing around arbitrary content reaches the EvmAdvance decoder.
        let _ = checked(json!({
            "address": INPUT_BOX,
            "topics": [INPUT_ADDED_TOPIC, APP.into_word(), B256::from(topic2)],
            "data": Bytes::from(abi(&data)),
            "blockNumber": "0xc",
            "blockHash": B256::ZERO,
            "transactionHash": B256::ZERO,
        }), index);
    }
}
