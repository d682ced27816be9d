//! Replays the saved fuzz corpora (`l1/fuzz/corpus/log/` and `l1/fuzz/corpus/response/`) as the
//! `log` and `response` targets do, and checks that the seeds reach both ends: `seed-valid-*`
//! ones pass every check (so the targets reach `EvmAdvance` decoding, the ordering and the
//! index checks after it) and `seed-invalid-*` ones are refused with a typed error.
//!
//! The fuzz target runs with `cargo fuzz` (`fuzz/run` at the workspace root); this keeps what
//! it found running on stable.

use std::path::Path;

use alloy::primitives::Address;
use l1::{BlockRange, Input};

/// The seeds of `target`: file name and bytes.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

/// The `log` target's reading of a seed.
fn check_log(bytes: &[u8]) -> Result<Input, l1::LogProblem> {
    l1::check_log_json(
        bytes,
        Address::repeat_byte(0x11),
        Address::repeat_byte(0x22),
        0,
        u64::MAX,
        0,
    )
}

#[test]
fn log_seeds_reach_the_checks_and_their_refusals() {
    let (mut valid, mut invalid) = (0, 0);
    for (name, bytes) in seeds("log") {
        let result = check_log(&bytes);
        if name.starts_with("seed-valid-") {
            let input = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(input.advance.block_number, input.block_number);
            valid += 1;
        } else {
            assert!(result.is_err(), "{name} was accepted");
            invalid += 1;
        }
    }
    assert!(valid >= 1, "no seed reaches the success path");
    assert!(invalid >= 5);
}

/// The `response` target's reading of a seed, in one piece and in the seed's pieces, which must
/// agree.
fn read_response(seed: &[u8]) -> Result<Vec<Input>, String> {
    let (piece, body) = seed.split_first_chunk::<2>().expect("a piece size");
    let piece = usize::from(u16::from_le_bytes(*piece)) % 512 + 1;
    let read = |chunks: Vec<&[u8]>| {
        l1::read_logs_response(
            chunks,
            Address::repeat_byte(0x11),
            Address::repeat_byte(0x22),
            BlockRange::new(0, u64::MAX).unwrap(),
            0,
            31337,
        )
        .map_err(|e| e.to_string())
    };
    let whole = read(vec![body]);
    assert_eq!(whole, read(body.chunks(piece).collect()));
    assert_eq!(whole, read(body.chunks(1).collect()));
    whole
}

#[test]
fn response_seeds_reach_the_inputs_and_their_refusals() {
    let (mut inputs, mut invalid) = (0, 0);
    for (name, bytes) in seeds("response") {
        let result = read_response(&bytes);
        if name.starts_with("seed-valid-") {
            let read = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            // Handed out in L1 order from index 0.
            for (i, input) in read.iter().enumerate() {
                assert_eq!(input.index, i as u64, "{name}");
                assert_eq!(input.advance.block_number, input.block_number, "{name}");
            }
            inputs += read.len();
        } else {
            assert!(result.is_err(), "{name} was accepted");
            invalid += 1;
        }
    }
    assert!(inputs >= 5, "the seeds hand out {inputs} inputs");
    assert!(invalid >= 5);
}

#[test]
fn log_seeds_read_in_a_streamed_answer_decode_as_alone() {
    let mut valid = 0;
    for (name, log) in seeds("log") {
        let alone = check_log(&log);
        let mut body = br#"{"jsonrpc":"2.0","id":1,"result":["#.to_vec();
        body.extend_from_slice(&log);
        body.extend_from_slice(b"]}");
        let streamed = l1::read_logs_response(
            body.chunks(3),
            Address::repeat_byte(0x11),
            Address::repeat_byte(0x22),
            BlockRange::new(0, u64::MAX).unwrap(),
            0,
            31337,
        );
        match (alone, streamed) {
            (Ok(input), Ok(inputs)) => {
                assert_eq!(inputs, [input], "{name}");
                valid += 1;
            }
            (Err(_), Err(_)) => {}
            (alone, streamed) => panic!("{name}: alone {alone:?}, streamed {streamed:?}"),
        }
    }
    assert!(valid >= 1);
}

/// The conformance vectors' `EvmAdvance` calldata (`fixtures/vectors/advances.json`), each in
/// an `InputAdded` log of a streamed answer cut into 5-byte pieces: the input handed out carries
/// the calldata byte for byte and decodes as the log decoded alone does.
#[test]
fn advance_vectors_come_out_of_a_streamed_answer_byte_for_byte() {
    use alloy::primitives::{B256, Bytes, U256};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/vectors/advances.json");
    let vectors: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let valid = vectors["valid"].as_array().unwrap();
    assert!(!valid.is_empty());
    let input_box = Address::repeat_byte(0x11);
    for vector in valid {
        let calldata: Bytes = serde_json::from_value(vector["calldata"].clone()).unwrap();
        let advance = &vector["advance"];
        let app: Address = serde_json::from_value(advance["app_contract"].clone()).unwrap();
        let index: U256 = serde_json::from_value(advance["index"].clone()).unwrap();
        let block = advance["block_number"].as_u64().unwrap();
        let chain_id = advance["chain_id"].as_u64().unwrap();
        let log = serde_json::json!({
            "address": input_box,
            "topics": [l1::INPUT_ADDED_TOPIC, app.into_word(), B256::from(index)],
            "data": Bytes::from(l1::input_added_data(&calldata)),
            "blockNumber": format!("{block:#x}"),
            "blockHash": B256::repeat_byte(0x64),
            "transactionHash": B256::repeat_byte(0x77),
            "transactionIndex": "0x1",
            "logIndex": "0x2",
            "removed": false,
        });
        let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": [log]}).to_string();
        let index = index.to::<u64>();
        let streamed = l1::read_logs_response(
            body.as_bytes().chunks(5),
            input_box,
            app,
            BlockRange::new(0, u64::MAX).unwrap(),
            index,
            chain_id,
        )
        .unwrap();
        let alone = l1::check_log_json(
            log.to_string().as_bytes(),
            input_box,
            app,
            0,
            u64::MAX,
            index,
        )
        .unwrap();
        assert_eq!(streamed, [alone]);
        assert_eq!(streamed[0].raw, calldata);
    }
}
