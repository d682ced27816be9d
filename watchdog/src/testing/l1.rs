//! A small in-process L1 JSON-RPC double on 127.0.0.1: an InputBox with known inputs, answering
//! `eth_chainId`, `eth_getBlockByNumber`, `eth_call` (getInputBox, getDataAvailability,
//! getTemplateHash, getNumberOfInputs at a block hash) and `eth_getLogs`, with an Infura-style
//! range cap and an optional cap on results; `eth_getCode` and getDeploymentBlockNumber answer
//! for an application created at `app_deployed_at`, and topic2 of `eth_getLogs` selects one input
//! index. A shared chain ([`serve_shared`]) can be changed
//! while it is served: a lagging `safe` tag, a reorg (new block hashes), another template hash;
//! it counts the `eth_getLogs` requests it answered.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use alloy_primitives::{Address, B256, Bytes, U256, address};
use axum::{Router, body::Bytes as Body, http::StatusCode, response::IntoResponse};
use canonical::EvmAdvance;
use serde_json::{Value, json};

use super::spawn_server;

/// topic0 of `InputAdded`.
const INPUT_ADDED: &str = "0xc05d337121a6e8605c6ec0b72aa29c4210ffe6e5b9cefdd6a7058188a8f66f98";
/// The error a capped `eth_getLogs` answers (code `-32005`, as Infura does).
const TOO_MANY: &str = "query returned more than 10000 results";
/// Block `n` hashes to this plus `n` (plus the salt, shifted up 128 bits).
const HASH_BASE: u64 = 0xb10c_0000_0000;

/// The devnet chain id.
pub const CHAIN_ID: u64 = 31337;
/// The application.
pub const APP: Address = address!("0x4ce6aac3fdd6e1d6e0d5d3fa2d44a4e2e7a1e083");
/// The InputBox.
pub const INPUT_BOX: Address = address!("0x593e5bcf894d6829dd26d0810da7f064406aebb6");
/// The `msgSender` of [`input_at`]'s inputs.
pub const SENDER: Address = address!("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
/// The head block of [`Chain::with_inputs`].
pub const HEAD: u64 = 20;

/// One input on the fake chain: where its log sits and its raw `EvmAdvance` calldata.
#[derive(Clone, Debug)]
pub struct Placed {
    /// The input's index in the InputBox (topic2 of its log).
    pub index: u64,
    /// Its block.
    pub block: u64,
    /// Its transaction in the block; below 16, so that transaction hashes stay unique.
    pub tx_index: u64,
    /// Its log in the block.
    pub log_index: u64,
    /// The `EvmAdvance` calldata the log carries.
    pub raw: Vec<u8>,
}

impl Placed {
    /// `advance` placed at `block` (transaction `tx_index`, log `log_index`).
    pub fn new(block: u64, tx_index: u64, log_index: u64, advance: &EvmAdvance) -> Self {
        Self {
            index: advance.index.saturating_to(),
            block,
            tx_index,
            log_index,
            raw: advance.encode(),
        }
    }

    /// The raw calldata `raw` placed at `block`; panics unless it decodes as an `EvmAdvance`.
    pub fn from_raw(block: u64, tx_index: u64, log_index: u64, raw: Vec<u8>) -> Self {
        let index = decode(&raw).index.saturating_to();
        Self {
            index,
            block,
            tx_index,
            log_index,
            raw,
        }
    }

    /// The input, decoded; panics unless it decodes as an `EvmAdvance`.
    pub fn advance(&self) -> EvmAdvance {
        decode(&self.raw)
    }
}

fn decode(raw: &[u8]) -> EvmAdvance {
    EvmAdvance::decode(raw).expect("an EvmAdvance")
}

/// Input `index` of the application, from [`SENDER`], carrying `payload`, placed at `block`
/// (transaction `tx_index`, log `log_index`).
pub fn input_at(index: usize, block: u64, tx_index: u64, log_index: u64, payload: &[u8]) -> Placed {
    let advance = EvmAdvance {
        chain_id: CHAIN_ID,
        app_contract: APP,
        msg_sender: SENDER,
        block_number: block,
        block_timestamp: U256::from(1_790_000_000u64 + block * 12),
        prev_randao: U256::from(block),
        index: U256::from(index),
        payload: Bytes::copy_from_slice(payload),
    };
    Placed::new(block, tx_index, log_index, &advance)
}

/// The fake chain.
#[derive(Debug)]
pub struct Chain {
    /// The inputs, sorted by block ([`Chain::with_inputs`] sorts them).
    pub inputs: Vec<Placed>,
    /// Largest `eth_getLogs` range answered; larger ones get `-32005`.
    pub max_range: u64,
    /// Most logs one `eth_getLogs` returns (`None`: no cap); more is a `-32005` error.
    pub max_results: Option<usize>,
    /// The latest block.
    pub head: u64,
    /// The `safe` and `finalized` block (at most `head`).
    pub safe: u64,
    /// Mixed into every block hash: changing it is a deep reorg.
    pub salt: u64,
    /// The chain id answered.
    pub chain_id: u64,
    /// The application's `getTemplateHash()`.
    pub template_hash: B256,
    /// `eth_getLogs` requests answered so far (errors included).
    pub get_logs: u64,
    /// The block that created the application: below it the application has no code and its
    /// calls answer nothing.
    pub app_deployed_at: u64,
}

impl Chain {
    /// A chain holding `inputs` (stably sorted by block), head and safe block [`HEAD`],
    /// `eth_getLogs` capped at 4 blocks and no results cap.
    pub fn with_inputs(mut inputs: Vec<Placed>) -> Self {
        inputs.sort_by_key(|p| p.block);
        Self {
            inputs,
            max_range: 4,
            max_results: None,
            head: HEAD,
            safe: HEAD,
            salt: 0,
            chain_id: CHAIN_ID,
            template_hash: B256::ZERO,
            get_logs: 0,
            app_deployed_at: 0,
        }
    }

    /// Inputs at (block, tx, log): 3 (0,0), 3 (1,4), 7 (0,2), 12 (5,1), 12 (5,3).
    pub fn sample() -> Self {
        let spots = [(3, 0, 0), (3, 1, 4), (7, 0, 2), (12, 5, 1), (12, 5, 3)];
        let inputs = spots
            .iter()
            .enumerate()
            .map(|(i, &(block, tx_index, log_index))| {
                input_at(i, block, tx_index, log_index, &vec![i as u8; 3 + i])
            })
            .collect();
        Self::with_inputs(inputs)
    }

    /// The hash of block `n` on this chain.
    pub fn hash(&self, n: u64) -> B256 {
        B256::from(U256::from(HASH_BASE + n) + (U256::from(self.salt) << 128))
    }

    fn block_of_hash(&self, hash: &str) -> Option<u64> {
        let value = U256::from_str_radix(hash.strip_prefix("0x")?, 16).ok()?;
        let offset = value.checked_sub((U256::from(self.salt) << 128) + U256::from(HASH_BASE))?;
        u64::try_from(offset).ok().filter(|n| *n <= self.head)
    }

    fn count_at(&self, block: u64) -> usize {
        self.inputs.partition_point(|p| p.block <= block)
    }

    fn log(&self, p: &Placed) -> Value {
        let data = l1::input_added_data(&p.raw);
        json!({
            "address": format!("{INPUT_BOX:#x}"),
            "topics": [
                INPUT_ADDED,
                format!("{:#x}", APP.into_word()),
                format!("{:#x}", B256::from(U256::from(p.index))),
            ],
            "data": format!("0x{}", hex::encode(&data)),
            "blockNumber": format!("{:#x}", p.block),
            "blockHash": format!("{:#x}", self.hash(p.block)),
            "transactionHash": format!("{:#x}", B256::from(U256::from(0x7a00 + p.block * 16 + p.tx_index))),
            "transactionIndex": format!("{:#x}", p.tx_index),
            "logIndex": format!("{:#x}", p.log_index),
            "removed": false,
        })
    }

    /// The answer to one JSON-RPC request: its result, or an error code and message.
    pub fn answer(&mut self, method: &str, params: &Value) -> Result<Value, (i64, String)> {
        let quantity = |v: &Value| {
            v.as_str()
                .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        };
        match method {
            "eth_chainId" => Ok(json!(format!("{:#x}", self.chain_id))),
            "eth_getBlockByNumber" => {
                let n = match params[0].as_str() {
                    Some("latest") => Some(self.head),
                    Some("safe" | "finalized") => Some(self.safe),
                    _ => quantity(&params[0]),
                };
                match n {
                    Some(n) if n <= self.head => Ok(json!({
                        "number": format!("{n:#x}"),
                        "hash": format!("{:#x}", self.hash(n)),
                    })),
                    _ => Ok(Value::Null),
                }
            }
            "eth_call" => {
                let call = &params[0];
                let data = call["data"]
                    .as_str()
                    .or(call["input"].as_str())
                    .unwrap_or_default();
                let at = params[1]["blockHash"]
                    .as_str()
                    .and_then(|h| self.block_of_hash(h))
                    .or(match params[1].as_str() {
                        Some("latest") => Some(self.head),
                        Some("safe" | "finalized") => Some(self.safe),
                        _ => quantity(&params[1]),
                    });
                let Some(at) = at else {
                    return Err((-32000, "header not found".into()));
                };
                let to_app = call["to"]
                    .as_str()
                    .is_some_and(|to| to.eq_ignore_ascii_case(&format!("{APP:#x}")));
                if to_app && at < self.app_deployed_at {
                    return Ok(json!("0x"));
                }
                match &data[..10.min(data.len())] {
                    "0xb3a1acd8" => Ok(json!(format!(
                        "{:#x}",
                        B256::from(U256::from(self.app_deployed_at))
                    ))),
                    "0x00aace9a" => Ok(json!(format!("{:#x}", INPUT_BOX.into_word()))),
                    "0x61b12c66" => Ok(json!(format!("{:#x}", self.template_hash))),
                    "0xf02478de" => Ok(json!("0x")),
                    "0x61a93c87" => Ok(json!(format!(
                        "{:#x}",
                        B256::from(U256::from(self.count_at(at)))
                    ))),
                    _ => Err((3, "execution reverted".into())),
                }
            }
            "eth_getCode" => {
                let at = match params[1].as_str() {
                    Some("latest") => Some(self.head),
                    Some("safe" | "finalized") => Some(self.safe),
                    _ => quantity(&params[1]),
                }
                .or(params[1]["blockHash"]
                    .as_str()
                    .and_then(|h| self.block_of_hash(h)));
                let deployed = match params[0].as_str() {
                    Some(a) if a.eq_ignore_ascii_case(&format!("{APP:#x}")) => self.app_deployed_at,
                    _ => 0,
                };
                Ok(json!(match at {
                    Some(at) if at >= deployed => "0x6001",
                    _ => "0x",
                }))
            }
            "eth_getLogs" => {
                let f = &params[0];
                let (Some(from), Some(to)) = (quantity(&f["fromBlock"]), quantity(&f["toBlock"]))
                else {
                    return Err((-32602, "invalid params".into()));
                };
                if to.saturating_sub(from).saturating_add(1) > self.max_range {
                    return Err((-32005, TOO_MANY.into()));
                }
                self.get_logs += 1;
                let start = self.inputs.partition_point(|p| p.block < from);
                let end = self.inputs.partition_point(|p| p.block <= to).max(start);
                if self.max_results.is_some_and(|max| end - start > max) {
                    return Err((-32005, TOO_MANY.into()));
                }
                // topic2, when given, selects one input index.
                let index = f["topics"][2]
                    .as_str()
                    .and_then(|t| U256::from_str_radix(t.trim_start_matches("0x"), 16).ok())
                    .map(|i| i.saturating_to::<u64>());
                Ok(Value::Array(
                    self.inputs[start..end]
                        .iter()
                        .filter(|p| index.is_none_or(|i| p.index == i))
                        .map(|p| self.log(p))
                        .collect(),
                ))
            }
            other => Err((-32601, format!("method {other} not found"))),
        }
    }
}

/// Serves `chain` on an ephemeral loopback port, on its own thread, for the rest of the
/// process.
pub fn serve(chain: Chain) -> SocketAddr {
    serve_shared(Arc::new(Mutex::new(chain)))
}

/// Serves a chain the caller keeps changing (or reading, as its request count).
pub fn serve_shared(chain: Arc<Mutex<Chain>>) -> SocketAddr {
    let router = Router::new().fallback(move |body: Body| {
        let chain = chain.clone();
        async move {
            let Ok(request) = serde_json::from_slice::<Value>(&body) else {
                return (StatusCode::BAD_REQUEST, "bad json").into_response();
            };
            let id = request["id"].clone();
            let method = request["method"].as_str().unwrap_or_default();
            let answer = chain
                .lock()
                .expect("chain lock")
                .answer(method, &request["params"]);
            let reply = match answer {
                Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                Err((code, message)) => json!({
                    "jsonrpc": "2.0", "id": id,
                    "error": {"code": code, "message": message},
                }),
            };
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                reply.to_string(),
            )
                .into_response()
        }
    });
    spawn_server(router)
}
