//! An in-process L1 JSON-RPC server with just what the sequencer asks: blocks by tag or
//! number (safe = latest − 1, as anvil with one slot per epoch), `InputAdded` logs,
//! `getNumberOfInputs` at a block, the submitter's `eth_sendTransaction` of `addInput`, and
//! transaction lookups. Tests mine by hand and inject portal deposits and direct inputs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use canonical::{Erc20Deposit, InputBuilder, WalletConfig};
use l1::INPUT_ADDED_TOPIC;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The InputBox of the fake chain.
pub(crate) const INPUT_BOX: Address = Address::repeat_byte(0x1b);
/// The application of the fake chain.
pub(crate) const APP: Address = Address::repeat_byte(0xaa);

const GET_NUMBER_OF_INPUTS: [u8; 4] = [0x61, 0xa9, 0x3c, 0x87];
const GET_INPUT_BOX: [u8; 4] = [0x00, 0xaa, 0xce, 0x9a];
const ADD_INPUT: [u8; 4] = [0x17, 0x89, 0xcd, 0x63];

#[derive(Debug, Clone)]
struct Logged {
    index: u64,
    raw: Vec<u8>,
    tx: B256,
}

#[derive(Debug, Clone)]
struct Pending {
    sender: Address,
    payload: Vec<u8>,
    tx: B256,
}

#[derive(Debug)]
struct Chain {
    builder: InputBuilder,
    blocks: Vec<Vec<Logged>>,
    pending: Vec<Pending>,
    /// Known transactions: hash → mined.
    txs: HashMap<B256, bool>,
    /// Per sender: (mined, sent) transaction counts.
    counts: HashMap<Address, (u64, u64)>,
    next_index: u64,
    serial: u64,
    sends: u64,
}

impl Chain {
    fn hash(&self, number: u64) -> B256 {
        let mut seed = b"fake-l1/block".to_vec();
        seed.extend_from_slice(&number.to_be_bytes());
        keccak256(seed)
    }

    fn latest(&self) -> u64 {
        self.blocks.len() as u64 - 1
    }

    fn tag(&self, tag: &str) -> Option<u64> {
        let latest = self.latest();
        match tag {
            "latest" | "pending" => Some(latest),
            "safe" => Some(latest.saturating_sub(1)),
            "finalized" => Some(latest.saturating_sub(2)),
            "earliest" => Some(0),
            hex => u64::from_str_radix(hex.strip_prefix("0x")?, 16)
                .ok()
                .filter(|n| *n <= latest),
        }
    }

    fn block_param(&self, param: &Value) -> Option<u64> {
        match param {
            Value::String(tag) => self.tag(tag),
            Value::Object(map) => {
                let hash: B256 = map.get("blockHash")?.as_str()?.parse().ok()?;
                (0..=self.latest()).find(|n| self.hash(*n) == hash)
            }
            _ => None,
        }
    }

    fn new_tx(&mut self, sender: Address, payload: Vec<u8>) -> B256 {
        self.serial += 1;
        let tx = keccak256([b"fake-l1/tx".as_slice(), &self.serial.to_be_bytes()].concat());
        self.pending.push(Pending {
            sender,
            payload,
            tx,
        });
        self.txs.insert(tx, false);
        self.counts.entry(sender).or_default().1 += 1;
        tx
    }

    fn mine(&mut self) {
        let number = self.blocks.len() as u64;
        let mut block = Vec::new();
        for pending in std::mem::take(&mut self.pending) {
            let raw =
                self.builder
                    .advance(pending.sender, number, self.next_index, pending.payload);
            block.push(Logged {
                index: self.next_index,
                raw,
                tx: pending.tx,
            });
            self.next_index += 1;
            self.txs.insert(pending.tx, true);
            self.counts.entry(pending.sender).or_default().0 += 1;
        }
        self.blocks.push(block);
    }

    fn count_at(&self, block: u64) -> u64 {
        self.blocks[..=block as usize]
            .iter()
            .map(Vec::len)
            .sum::<usize>() as u64
    }

    fn header(&self, number: u64) -> Value {
        json!({
            "number": format!("{number:#x}"),
            "hash": self.hash(number),
            "timestamp": format!("{:#x}", number * 12),
        })
    }

    fn logs(&self, filter: &Value) -> Result<Value, String> {
        let quantity = |key: &str| {
            filter
                .get(key)
                .and_then(Value::as_str)
                .and_then(|t| self.tag(t))
                .ok_or(format!("bad {key}"))
        };
        let (from, to) = (quantity("fromBlock")?, quantity("toBlock")?);
        let mut logs = Vec::new();
        for number in from..=to.min(self.latest()) {
            for (log_index, logged) in self.blocks[number as usize].iter().enumerate() {
                let mut data = U256::from(32).to_be_bytes::<32>().to_vec();
                data.extend_from_slice(&U256::from(logged.raw.len()).to_be_bytes::<32>());
                data.extend_from_slice(&logged.raw);
                data.resize(64 + logged.raw.len().div_ceil(32) * 32, 0);
                logs.push(json!({
                    "address": INPUT_BOX,
                    "topics": [
                        INPUT_ADDED_TOPIC,
                        APP.into_word(),
                        B256::from(U256::from(logged.index)),
                    ],
                    "data": Bytes::from(data),
                    "blockNumber": format!("{number:#x}"),
                    "blockHash": self.hash(number),
                    "transactionHash": logged.tx,
                    "transactionIndex": format!("{log_index:#x}"),
                    "logIndex": format!("{log_index:#x}"),
                    "removed": false,
                }));
            }
        }
        Ok(Value::Array(logs))
    }

    fn call(&self, params: &[Value]) -> Result<Value, String> {
        let call = params.first().ok_or("no call")?;
        let to: Address = call["to"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .ok_or("to")?;
        let data: Bytes = call
            .get("data")
            .or_else(|| call.get("input"))
            .and_then(Value::as_str)
            .and_then(|d| d.parse().ok())
            .ok_or("data")?;
        let block = params
            .get(1)
            .and_then(|p| self.block_param(p))
            .ok_or("unknown block")?;
        if to == INPUT_BOX && data.starts_with(&GET_NUMBER_OF_INPUTS) {
            let count = U256::from(self.count_at(block));
            return Ok(json!(B256::from(count)));
        }
        if to == APP && data.starts_with(&GET_INPUT_BOX) {
            return Ok(json!(INPUT_BOX.into_word()));
        }
        Err("execution reverted".into())
    }

    fn send(&mut self, params: &[Value]) -> Result<Value, String> {
        let tx = params.first().ok_or("no tx")?;
        let from: Address = tx["from"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .ok_or("from")?;
        let to: Address = tx["to"].as_str().and_then(|t| t.parse().ok()).ok_or("to")?;
        let data: Bytes = tx
            .get("data")
            .or_else(|| tx.get("input"))
            .and_then(Value::as_str)
            .and_then(|d| d.parse().ok())
            .ok_or("data")?;
        if to != INPUT_BOX || !data.starts_with(&ADD_INPUT) || data.len() < 100 {
            return Err("only InputBox.addInput is supported".into());
        }
        let app = Address::from_slice(&data[16..36]);
        if app != APP {
            return Err("addInput for another application".into());
        }
        let len = U256::from_be_slice(&data[68..100]).to::<usize>();
        let payload = data.get(100..100 + len).ok_or("short payload")?.to_vec();
        self.sends += 1;
        Ok(json!(self.new_tx(from, payload)))
    }

    fn dispatch(&mut self, method: &str, params: &[Value]) -> Result<Value, String> {
        match method {
            "eth_chainId" => Ok(json!(format!("{:#x}", self.builder.chain_id))),
            "eth_blockNumber" => Ok(json!(format!("{:#x}", self.latest()))),
            "eth_getBlockByNumber" => {
                let tag = params.first().and_then(Value::as_str).ok_or("no tag")?;
                Ok(self.tag(tag).map_or(Value::Null, |n| self.header(n)))
            }
            "eth_getLogs" => self.logs(params.first().ok_or("no filter")?),
            "eth_call" => self.call(params),
            "eth_getCode" => Ok(json!("0x6080")),
            "eth_getTransactionCount" => {
                let who: Address = params
                    .first()
                    .and_then(Value::as_str)
                    .and_then(|a| a.parse().ok())
                    .ok_or("address")?;
                let (mined, sent) = self.counts.get(&who).copied().unwrap_or_default();
                let pending = params.get(1).and_then(Value::as_str) == Some("pending");
                Ok(json!(format!("{:#x}", if pending { sent } else { mined })))
            }
            "eth_sendTransaction" => self.send(params),
            "eth_getTransactionByHash" => {
                let hash: B256 = params
                    .first()
                    .and_then(Value::as_str)
                    .and_then(|h| h.parse().ok())
                    .ok_or("hash")?;
                Ok(if self.txs.contains_key(&hash) {
                    json!({"hash": hash})
                } else {
                    Value::Null
                })
            }
            other => Err(format!("method {other} not supported")),
        }
    }
}

type Shared = Arc<Mutex<Chain>>;

async fn rpc(State(chain): State<Shared>, body: String) -> String {
    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let answer = |request: &Value| {
        let method = request["method"].as_str().unwrap_or_default();
        let params = request["params"].as_array().cloned().unwrap_or_default();
        let result = chain.lock().unwrap().dispatch(method, &params);
        match result {
            Ok(result) => json!({"jsonrpc": "2.0", "id": request["id"], "result": result}),
            Err(message) => json!({
                "jsonrpc": "2.0",
                "id": request["id"],
                "error": {"code": -32000, "message": message},
            }),
        }
    };
    match &request {
        Value::Array(batch) => Value::Array(batch.iter().map(answer).collect()).to_string(),
        single => answer(single).to_string(),
    }
}

/// The fake L1; dropping it stops the server.
pub(crate) struct FakeL1 {
    addr: SocketAddr,
    chain: Shared,
    task: JoinHandle<()>,
}

impl Drop for FakeL1 {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeL1 {
    /// A chain with `blocks` empty blocks after genesis, manual mining.
    pub(crate) async fn start(blocks: u64) -> Self {
        let config = WalletConfig::devnet();
        let mut chain = Chain {
            builder: InputBuilder::new(config, APP),
            blocks: vec![Vec::new()],
            pending: Vec::new(),
            txs: HashMap::new(),
            counts: HashMap::new(),
            next_index: 0,
            serial: 0,
            sends: 0,
        };
        for _ in 0..blocks {
            chain.mine();
        }
        let chain = Arc::new(Mutex::new(chain));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new()
            .route("/", post(rpc))
            .with_state(chain.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { addr, chain, task }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn mine(&self, blocks: u64) {
        let mut chain = self.chain.lock().unwrap();
        for _ in 0..blocks {
            chain.mine();
        }
    }

    pub(crate) fn latest(&self) -> u64 {
        self.chain.lock().unwrap().latest()
    }

    /// Forgets every unmined transaction, as a node restart or `anvil_dropAllTransactions`.
    pub(crate) fn drop_pending(&self) -> usize {
        let mut chain = self.chain.lock().unwrap();
        let dropped = std::mem::take(&mut chain.pending);
        for pending in &dropped {
            chain.txs.remove(&pending.tx);
            chain.counts.entry(pending.sender).or_default().1 -= 1;
        }
        dropped.len()
    }

    /// `eth_sendTransaction` calls received.
    pub(crate) fn sends(&self) -> u64 {
        self.chain.lock().unwrap().sends
    }

    /// Queues an ERC-20 portal deposit (lands in the next mined block).
    pub(crate) fn deposit(&self, depositor: Address, value: u64) {
        let mut chain = self.chain.lock().unwrap();
        let config = chain.builder.config;
        let payload = Erc20Deposit {
            token: config.supported_erc20_token,
            depositor,
            value: U256::from(value),
            exec_layer_data: Bytes::new(),
        }
        .encode();
        chain.new_tx(config.erc20_portal_address, payload);
    }

    /// Queues a direct input from `sender`.
    pub(crate) fn direct(&self, sender: Address, payload: &[u8]) {
        self.chain.lock().unwrap().new_tx(sender, payload.to_vec());
    }

    /// The `EvmAdvance` calldata of every input in blocks `..= block`, in index order.
    pub(crate) fn inputs_up_to(&self, block: u64) -> Vec<Vec<u8>> {
        let chain = self.chain.lock().unwrap();
        chain.blocks[..=block as usize]
            .iter()
            .flatten()
            .map(|logged| logged.raw.clone())
            .collect()
    }
}
