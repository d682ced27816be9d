//! The JSON shapes of blocks, logs, transactions and receipts of the synthetic chain.

use alloy::primitives::{Address, B256, Bytes, U256};
use l1::INPUT_ADDED_TOPIC;
use serde_json::{Value, json};

use super::chain::{Block, Chain, LandedInput};

/// A block number as a minimal hex quantity.
pub(crate) fn quantity(n: u64) -> String {
    format!("{n:#x}")
}

/// `eth_getBlockByNumber`/`ByHash`: the header fields clients decode, and the transactions
/// (hashes, or objects with `full`).
pub(crate) fn block_json(chain: &Chain, block: &Block, full: bool) -> Value {
    let txs: Vec<Value> = block
        .inputs
        .iter()
        .map(|i| {
            if full {
                transaction(chain, &i.tx)
            } else {
                json!(i.tx)
            }
        })
        .collect();
    json!({
        "number": quantity(block.number),
        "hash": block.hash,
        "parentHash": block.parent_hash,
        "timestamp": quantity(block.timestamp),
        "mixHash": block.prev_randao,
        "nonce": "0x0000000000000000",
        "difficulty": "0x0",
        "gasLimit": quantity(30_000_000),
        "gasUsed": "0x0",
        "baseFeePerGas": "0x1",
        "miner": Address::ZERO,
        "extraData": "0x",
        "size": "0x0",
        "stateRoot": B256::ZERO,
        "transactionsRoot": B256::ZERO,
        "receiptsRoot": B256::ZERO,
        "sha3Uncles": B256::ZERO,
        "logsBloom": Bytes::from(vec![0u8; 256]),
        "uncles": [],
        "transactions": txs,
    })
}

/// The `InputAdded` log of `input`, at `position` in its block.
pub(crate) fn log_json(
    chain: &Chain,
    block: &Block,
    position: usize,
    input: &LandedInput,
) -> Value {
    let data = l1::input_added_data(&input.raw);
    json!({
        "address": chain.input_box,
        "topics": [
            INPUT_ADDED_TOPIC,
            chain.app.into_word(),
            B256::from(U256::from(input.index)),
        ],
        "data": Bytes::from(data),
        "blockNumber": quantity(block.number),
        "blockHash": block.hash,
        "transactionHash": input.tx,
        "transactionIndex": quantity(position as u64),
        "logIndex": quantity(position as u64),
        "removed": false,
    })
}

/// The transaction with this hash: its block and position when mined, and its signer.
fn find<'a>(chain: &'a Chain, hash: &B256) -> Option<(Option<(&'a Block, usize)>, Address)> {
    if let Some(p) = chain.pending.iter().find(|p| &p.hash == hash) {
        return Some((None, p.from));
    }
    chain.blocks.iter().find_map(|b| {
        let position = b.inputs.iter().position(|i| &i.tx == hash)?;
        Some((Some((b, position)), b.inputs[position].from))
    })
}

/// `eth_getTransactionByHash`: pending (no block) or mined; `null` if unknown.
pub(crate) fn transaction(chain: &Chain, hash: &B256) -> Value {
    let Some((mined, from)) = find(chain, hash) else {
        return Value::Null;
    };
    let (number, block_hash, position) = match mined {
        Some((block, position)) => (
            json!(quantity(block.number)),
            json!(block.hash),
            json!(quantity(position as u64)),
        ),
        None => (Value::Null, Value::Null, Value::Null),
    };
    json!({
        "hash": hash,
        "from": from,
        "to": chain.input_box,
        "blockNumber": number,
        "blockHash": block_hash,
        "transactionIndex": position,
        "value": "0x0",
    })
}

/// `eth_getTransactionReceipt`: mined transactions only, always successful.
pub(crate) fn receipt(chain: &Chain, hash: &B256) -> Value {
    let Some((Some((block, position)), from)) = find(chain, hash) else {
        return Value::Null;
    };
    json!({
        "transactionHash": hash,
        "transactionIndex": quantity(position as u64),
        "blockNumber": quantity(block.number),
        "blockHash": block.hash,
        "from": from,
        "to": chain.input_box,
        "status": "0x1",
        "type": "0x2",
        "gasUsed": quantity(100_000),
        "cumulativeGasUsed": quantity(100_000),
        "effectiveGasPrice": "0x1",
        "contractAddress": Value::Null,
        "logsBloom": Bytes::from(vec![0u8; 256]),
        "logs": [log_json(chain, block, position, &block.inputs[position])],
    })
}
