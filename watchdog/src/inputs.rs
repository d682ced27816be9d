//! The input line of `l1 scan` and of `inputs.jsonl` evidence (spec `watchdog.md` §6.5).

use alloy_primitives::U256;
use sha2::{Digest, Sha256};

use crate::json::{ObjectWriter, RawJson};

/// One input as a JSON line:
///
/// ```json
/// {"type":"input","index":43,"block":7000150,"block_hash":"0x…","tx_hash":"0x…","tx_index":3,"log_index":7,"sender":"0x…","chain_id":11155111,"timestamp":1790000000,"payload_len":132,"input_sha256":"…","input":"0x415bf363…"}
/// ```
///
/// `payload_len` is the length of the application payload inside the `EvmAdvance`;
/// `input_sha256` and `input` are over the whole `EvmAdvance` calldata, fed unchanged.
pub fn input_line(input: &l1::Input) -> String {
    input_line_hashed(input, &Sha256::digest(&input.raw).into())
}

/// [`input_line`] with the input's SHA-256 already computed (a replay hashes each input once).
pub(crate) fn input_line_hashed(input: &l1::Input, sha256: &[u8; 32]) -> String {
    let a = &input.advance;
    let mut w = ObjectWriter::new();
    w.field("type", "input")
        .field("index", &input.index)
        .field("block", &input.block_number)
        .field("block_hash", &hex0x(input.block_hash.as_slice()))
        .field("tx_hash", &hex0x(input.tx_hash.as_slice()))
        .field("tx_index", &input.tx_index)
        .field("log_index", &input.log_index)
        .field("sender", &hex0x(a.msg_sender.as_slice()))
        .field("chain_id", &a.chain_id)
        .raw("timestamp", &decimal(a.block_timestamp))
        .field("payload_len", &a.payload.len())
        .field("input_sha256", &hex::encode(sha256))
        .field("input", &hex0x(&input.raw));
    w.finish()
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// An exact JSON integer for a U256 (a u64 in practice; larger values stay exact digits).
fn decimal(value: U256) -> RawJson {
    match u64::try_from(value) {
        Ok(v) => RawJson::of(&v),
        Err(_) => RawJson::decimal_digits(value.to_string()),
    }
}
