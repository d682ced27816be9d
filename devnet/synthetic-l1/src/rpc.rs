//! The JSON-RPC methods of the synthetic L1, single and batch. Every failure is a JSON-RPC
//! error object: -32700 unparsable body, -32600 not a request, -32601 unknown method, -32602
//! bad parameters, 3 for a reverted `eth_call`, -32000 for an unknown block.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::SolCall as _;
use cartesi_rollups_contracts::input_box::InputBox;
use devnet_pins::{ANVIL_ADDRESSES, addresses};
use l1::{
    DA_INPUT_BOX, GET_DATA_AVAILABILITY, GET_INPUT_BOX, GET_NUMBER_OF_INPUTS, INPUT_ADDED_TOPIC,
};
use serde_json::{Value, json};

use super::chain::Chain;
use super::shapes::{block_json, log_json, quantity, receipt, transaction};

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RpcError {
    pub(crate) code: i64,
    pub(crate) message: String,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn params(detail: impl std::fmt::Display) -> Self {
        Self::new(-32602, format!("invalid params: {detail}"))
    }

    fn unknown_block() -> Self {
        Self::new(-32000, "header not found")
    }
}

type RpcResult = Result<Value, RpcError>;

/// Answers a whole request body (a single request or a batch).
pub(crate) fn answer_body(chain: &mut Chain, body: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(body) {
        Err(e) => envelope(
            &Value::Null,
            Err(RpcError::new(-32700, format!("parse error: {e}"))),
        ),
        Ok(Value::Array(batch)) if batch.is_empty() => envelope(
            &Value::Null,
            Err(RpcError::new(-32600, "invalid request: empty batch")),
        ),
        Ok(Value::Array(batch)) => {
            Value::Array(batch.iter().map(|r| answer_one(chain, r)).collect())
        }
        Ok(single) => answer_one(chain, &single),
    }
}

fn envelope(id: &Value, result: RpcResult) -> Value {
    match result {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err(e) => json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": e.code, "message": e.message},
        }),
    }
}

fn answer_one(chain: &mut Chain, request: &Value) -> Value {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return envelope(
            &id,
            Err(RpcError::new(-32600, "invalid request: no method")),
        );
    };
    let params = match request.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(params)) => params.clone(),
        Some(_) => return envelope(&id, Err(RpcError::params("params must be an array"))),
    };
    envelope(&id, dispatch(chain, method, &params))
}

/// One method call.
pub(crate) fn dispatch(chain: &mut Chain, method: &str, params: &[Value]) -> RpcResult {
    match method {
        "eth_chainId" => Ok(json!(quantity(chain.config.chain_id))),
        "net_version" => Ok(json!(chain.config.chain_id.to_string())),
        "web3_clientVersion" => Ok(json!("devnet-synthetic-l1")),
        "eth_syncing" => Ok(json!(false)),
        "eth_accounts" => Ok(json!(ANVIL_ADDRESSES)),
        "eth_gasPrice" | "eth_maxPriorityFeePerGas" => Ok(json!("0x1")),
        "eth_estimateGas" => Ok(json!(quantity(500_000))),
        "eth_blockNumber" => Ok(json!(quantity(chain.latest()))),
        "eth_getBlockByNumber" => {
            let number = match param(params, 0)? {
                Value::String(tag) => block_tag(chain, tag, false)?,
                other => return Err(RpcError::params(format!("block {other}"))),
            };
            let full = params.get(1).and_then(Value::as_bool).unwrap_or(false);
            Ok(number
                .and_then(|n| chain.blocks.get(usize::try_from(n).ok()?))
                .map_or(Value::Null, |b| block_json(chain, b, full)))
        }
        "eth_getBlockByHash" => {
            let hash: B256 = parse(param(params, 0)?, "block hash")?;
            let full = params.get(1).and_then(Value::as_bool).unwrap_or(false);
            Ok(chain
                .by_hash(&hash)
                .map_or(Value::Null, |b| block_json(chain, b, full)))
        }
        "eth_getLogs" => logs(chain, param(params, 0)?),
        "eth_call" => call(chain, params),
        "eth_getCode" => {
            let address: Address = parse(param(params, 0)?, "address")?;
            if let Some(block) = params.get(1) {
                block_param(chain, block)?;
            }
            let known = [
                chain.input_box,
                chain.app,
                chain.config.erc20_portal_address,
                chain.config.supported_erc20_token,
            ];
            // A stand-in for deployed code: non-empty is all a reader checks.
            Ok(json!(if known.contains(&address) {
                "0x6080604052"
            } else {
                "0x"
            }))
        }
        "eth_getTransactionCount" => {
            let who: Address = parse(param(params, 0)?, "address")?;
            let tag = params.get(1).cloned().unwrap_or(json!("latest"));
            let pending = tag.as_str() == Some("pending");
            let block = if pending {
                chain.latest()
            } else {
                block_param(chain, &tag)?
            };
            Ok(json!(quantity(chain.nonce(who, block, pending))))
        }
        "eth_sendTransaction" => send(chain, param(params, 0)?),
        "eth_getTransactionByHash" => {
            let hash: B256 = parse(param(params, 0)?, "transaction hash")?;
            Ok(transaction(chain, &hash))
        }
        "eth_getTransactionReceipt" => {
            let hash: B256 = parse(param(params, 0)?, "transaction hash")?;
            Ok(receipt(chain, &hash))
        }
        other => Err(RpcError::new(
            -32601,
            format!("the method {other} does not exist/is not available"),
        )),
    }
}

fn param(params: &[Value], at: usize) -> Result<&Value, RpcError> {
    params
        .get(at)
        .ok_or_else(|| RpcError::params(format!("missing parameter {at}")))
}

fn parse<T: std::str::FromStr>(value: &Value, what: &str) -> Result<T, RpcError> {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| RpcError::params(format!("bad {what}: {value}")))
}

fn parse_quantity(text: &str) -> Option<u64> {
    u64::from_str_radix(text.strip_prefix("0x")?, 16).ok()
}

/// A tag or hex number; `Ok(None)` for a number past the head (when `strict` is off).
fn block_tag(chain: &Chain, tag: &str, strict: bool) -> Result<Option<u64>, RpcError> {
    let latest = chain.latest();
    let number = match tag {
        "latest" | "pending" => latest,
        "safe" => latest.saturating_sub(1),
        "finalized" => latest.saturating_sub(2),
        "earliest" => 0,
        hex => parse_quantity(hex).ok_or_else(|| RpcError::params(format!("block tag {hex:?}")))?,
    };
    if number > latest {
        return if strict {
            Err(RpcError::new(
                -32602,
                format!(
                    "BlockOutOfRangeError: block height is {latest} but requested was {number}"
                ),
            ))
        } else {
            Ok(None)
        };
    }
    Ok(Some(number))
}

/// A state query's block: a tag, a number, or an EIP-1898 `{"blockHash"}`/`{"blockNumber"}`.
fn block_param(chain: &Chain, value: &Value) -> Result<u64, RpcError> {
    match value {
        Value::String(tag) => block_tag(chain, tag, true)?.ok_or_else(RpcError::unknown_block),
        Value::Object(map) => {
            if let Some(hash) = map.get("blockHash") {
                let hash: B256 = parse(hash, "block hash")?;
                chain
                    .by_hash(&hash)
                    .map(|b| b.number)
                    .ok_or_else(RpcError::unknown_block)
            } else if let Some(Value::String(tag)) = map.get("blockNumber") {
                block_tag(chain, tag, true)?.ok_or_else(RpcError::unknown_block)
            } else {
                Err(RpcError::params(format!("block {value}")))
            }
        }
        other => Err(RpcError::params(format!("block {other}"))),
    }
}

/// Whether a filter's `address` or topic position admits `value` (absent or null = any).
fn admits<T: std::str::FromStr + PartialEq>(filter: Option<&Value>, value: &T) -> bool {
    match filter {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.parse::<T>().is_ok_and(|f| &f == value),
        Some(Value::Array(any)) => any
            .iter()
            .any(|v| v.as_str().and_then(|s| s.parse::<T>().ok()).as_ref() == Some(value)),
        Some(_) => false,
    }
}

fn logs(chain: &Chain, filter: &Value) -> RpcResult {
    let Value::Object(map) = filter else {
        return Err(RpcError::params("the filter must be an object"));
    };
    let (from, to) = if let Some(hash) = map.get("blockHash") {
        let hash: B256 = parse(hash, "block hash")?;
        let n = chain
            .by_hash(&hash)
            .map(|b| b.number)
            .ok_or_else(RpcError::unknown_block)?;
        (n, n)
    } else {
        let bound = |key: &str| -> Result<u64, RpcError> {
            match map.get(key) {
                None | Some(Value::Null) => Ok(chain.latest()),
                Some(Value::String(tag)) => {
                    block_tag(chain, tag, true)?.ok_or_else(RpcError::unknown_block)
                }
                Some(other) => Err(RpcError::params(format!("{key} {other}"))),
            }
        };
        (bound("fromBlock")?, bound("toBlock")?)
    };
    if from > to {
        return Err(RpcError::params(format!(
            "fromBlock {from} is after toBlock {to}"
        )));
    }
    let topics = match map.get("topics") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(topics)) => topics.clone(),
        Some(other) => return Err(RpcError::params(format!("topics {other}"))),
    };
    if topics.len() > 4 {
        return Err(RpcError::params("more than four topics"));
    }
    let mut out = Vec::new();
    if !admits(map.get("address"), &chain.input_box)
        || !admits(topics.first(), &INPUT_ADDED_TOPIC)
        || !admits(topics.get(1), &chain.app.into_word())
        || topics.len() > 3
    {
        return Ok(Value::Array(out));
    }
    for block in &chain.blocks[usize::try_from(from).unwrap_or(usize::MAX)..] {
        if block.number > to {
            break;
        }
        for (position, input) in block.inputs.iter().enumerate() {
            if admits(topics.get(2), &B256::from(U256::from(input.index))) {
                out.push(log_json(chain, block, position, input));
            }
        }
    }
    Ok(Value::Array(out))
}

fn call_data(object: &Value) -> Result<Bytes, RpcError> {
    match object.get("data").or_else(|| object.get("input")) {
        None | Some(Value::Null) => Ok(Bytes::new()),
        Some(data) => parse(data, "call data"),
    }
}

fn reverted() -> RpcError {
    RpcError::new(3, "execution reverted")
}

fn word(value: U256) -> Value {
    json!(Bytes::from(value.to_be_bytes::<32>().to_vec()))
}

fn call(chain: &Chain, params: &[Value]) -> RpcResult {
    let object = param(params, 0)?;
    let to: Address = parse(object.get("to").unwrap_or(&Value::Null), "call target")?;
    let data = call_data(object)?;
    let block = match params.get(1) {
        Some(block) => block_param(chain, block)?,
        None => chain.latest(),
    };
    let selector = data.get(..4);
    if to == chain.input_box && selector == Some(&GET_NUMBER_OF_INPUTS[..]) {
        let app = data
            .get(4..36)
            .filter(|w| w[..12].iter().all(|b| *b == 0))
            .map(|w| Address::from_slice(&w[12..]))
            .ok_or_else(reverted)?;
        let count = if app == chain.app {
            chain.count_at(block)
        } else {
            0
        };
        return Ok(word(U256::from(count)));
    }
    if to == chain.app && selector == Some(&GET_INPUT_BOX[..]) {
        return Ok(json!(Bytes::from(chain.input_box.into_word().to_vec())));
    }
    if to == chain.app && selector == Some(&GET_DATA_AVAILABILITY[..]) {
        let mut descriptor = DA_INPUT_BOX.to_vec();
        descriptor.extend_from_slice(chain.input_box.into_word().as_slice());
        let mut out = U256::from(32).to_be_bytes::<32>().to_vec();
        out.extend_from_slice(&U256::from(descriptor.len()).to_be_bytes::<32>());
        out.extend_from_slice(&descriptor);
        out.resize(64 + descriptor.len().div_ceil(32) * 32, 0);
        return Ok(json!(Bytes::from(out)));
    }
    Err(reverted())
}

/// `eth_sendTransaction`: only `InputBox.addInput(app, payload)` for the pinned application.
fn send(chain: &mut Chain, tx: &Value) -> RpcResult {
    let from: Address = parse(tx.get("from").unwrap_or(&Value::Null), "from")?;
    let to: Address = parse(tx.get("to").unwrap_or(&Value::Null), "to")?;
    let data = call_data(tx)?;
    if to != chain.input_box {
        return Err(RpcError::new(
            -32000,
            format!("the synthetic L1 only runs InputBox.addInput, not calls to {to}"),
        ));
    }
    let call = InputBox::addInputCall::abi_decode(&data).map_err(|_| reverted())?;
    if call.appContract != chain.app {
        return Err(RpcError::new(
            -32000,
            format!(
                "the synthetic L1 serves the application {} only",
                addresses::APPLICATION
            ),
        ));
    }
    chain.sends += 1;
    Ok(json!(chain.submit(from, from, call.payload)))
}

#[cfg(test)]
mod tests {
    use canonical::WalletConfig;

    use super::*;
    use devnet_pins::addresses::{APPLICATION, INPUT_BOX};

    fn ask(chain: &mut Chain, body: &str) -> Value {
        answer_body(chain, body.as_bytes())
    }

    #[test]
    fn malformed_requests_get_error_objects() {
        let mut chain = Chain::new(0, WalletConfig::devnet(), APPLICATION, INPUT_BOX);
        let code = |v: &Value| v["error"]["code"].as_i64();
        assert_eq!(code(&ask(&mut chain, "{not json")), Some(-32700));
        assert_eq!(code(&ask(&mut chain, "[]")), Some(-32600));
        assert_eq!(code(&ask(&mut chain, "42")), Some(-32600));
        let unknown = r#"{"jsonrpc":"2.0","id":1,"method":"eth_mine","params":[]}"#;
        assert_eq!(code(&ask(&mut chain, unknown)), Some(-32601));
        let bad = r#"{"jsonrpc":"2.0","id":1,"method":"eth_getLogs","params":[7]}"#;
        assert_eq!(code(&ask(&mut chain, bad)), Some(-32602));
        let past =
            r#"{"id":1,"method":"eth_getLogs","params":[{"fromBlock":"0x0","toBlock":"0x9"}]}"#;
        assert_eq!(code(&ask(&mut chain, past)), Some(-32602));
        let call = r#"{"id":1,"method":"eth_call","params":[{"to":"0x0000000000000000000000000000000000000001","data":"0x"},"latest"]}"#;
        assert_eq!(code(&ask(&mut chain, call)), Some(3));
        let batch = format!(r#"[{unknown}, {{"id":2,"method":"eth_blockNumber"}}]"#);
        let answers = ask(&mut chain, &batch);
        assert_eq!(code(&answers[0]), Some(-32601));
        assert_eq!(answers[1]["result"], "0x0");
        assert_eq!(answers[1]["id"], 2);
    }
}
