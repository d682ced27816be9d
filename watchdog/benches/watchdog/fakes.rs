//! Loopback doubles for the benches: a sequencer serving the finalized-state routes and an L1
//! JSON-RPC endpoint with an InputBox holding many inputs, each on its own thread.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use alloy_primitives::{Address, B256, U256, address};
use axum::{
    Router,
    body::Bytes as Body,
    extract::State,
    http::{HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// topic0 of `InputAdded`.
const INPUT_ADDED: &str = "0xc05d337121a6e8605c6ec0b72aa29c4210ffe6e5b9cefdd6a7058188a8f66f98";
/// The devnet chain id.
pub(crate) const CHAIN_ID: u64 = 31337;
/// The application.
pub(crate) const APP: Address = address!("0x4ce6aac3fdd6e1d6e0d5d3fa2d44a4e2e7a1e083");
/// The InputBox.
const INPUT_BOX: Address = address!("0x593e5bcf894d6829dd26d0810da7f064406aebb6");

/// What the sequencer double serves.
#[derive(Debug, Clone, Default)]
pub(crate) struct Served {
    pub(crate) block: u64,
    pub(crate) count: u64,
    pub(crate) state: Vec<u8>,
}

fn spawn_server(router: Router) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, router).await.unwrap();
        });
    });
    addr
}

/// Starts the sequencer double; the returned handle changes what it serves.
pub(crate) fn sequencer(served: Served) -> (SocketAddr, Arc<Mutex<Served>>) {
    let shared = Arc::new(Mutex::new(served));
    let router = Router::new()
        .route("/finalized_state/inclusion_block", get(poll))
        .route("/finalized_state/digest", get(digest))
        .route("/finalized_state", get(download))
        .with_state(shared.clone());
    (spawn_server(router), shared)
}

type Shared = State<Arc<Mutex<Served>>>;

fn json_response(body: String) -> Response {
    ([("content-type", "application/json")], body).into_response()
}

async fn poll(State(s): Shared) -> Response {
    let s = s.lock().unwrap();
    json_response(format!(
        "{{\"inclusion_block\":{},\"executed_input_count\":{}}}",
        s.block, s.count
    ))
}

async fn digest(State(s): Shared) -> Response {
    let s = s.lock().unwrap();
    json_response(format!(
        "{{\"inclusion_block\":{},\"executed_input_count\":{},\"sha256\":\"{}\"}}",
        s.block,
        s.count,
        hex::encode(Sha256::digest(&s.state))
    ))
}

async fn download(State(s): Shared) -> Response {
    let s = s.lock().unwrap().clone();
    let mut headers = HeaderMap::new();
    headers.insert("x-inclusion-block", HeaderValue::from(s.block));
    headers.insert("x-executed-input-count", HeaderValue::from(s.count));
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/octet-stream"),
    );
    (headers, s.state).into_response()
}

/// One input on the fake chain: its block and raw `EvmAdvance` calldata.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub(crate) block: u64,
    pub(crate) raw: Vec<u8>,
}

/// The fake chain: inputs sorted by block, a head, a getLogs range cap and result cap.
#[derive(Debug, Default)]
pub(crate) struct Chain {
    pub(crate) inputs: Vec<Placed>,
    pub(crate) head: u64,
    pub(crate) max_range: u64,
    /// Most logs one `eth_getLogs` returns (`None`: no cap); more is a code-only error.
    pub(crate) max_results: Option<usize>,
    /// `eth_getLogs` requests answered so far.
    pub(crate) get_logs: AtomicU64,
}

fn block_hash(n: u64) -> B256 {
    B256::from(U256::from(0xb10c_0000_0000u64 + n))
}

fn block_of_hash(hash: &str) -> Option<u64> {
    let value = U256::from_str_radix(hash.trim_start_matches("0x"), 16).ok()?;
    let n = value.checked_sub(U256::from(0xb10c_0000_0000u64))?;
    u64::try_from(n).ok()
}

impl Chain {
    fn count_at(&self, block: u64) -> usize {
        self.inputs.partition_point(|p| p.block <= block)
    }

    fn log(&self, index: usize) -> Value {
        let p = &self.inputs[index];
        let mut data = U256::from(32).to_be_bytes::<32>().to_vec();
        data.extend_from_slice(&U256::from(p.raw.len()).to_be_bytes::<32>());
        data.extend_from_slice(&p.raw);
        data.resize(data.len().div_ceil(32) * 32, 0);
        let first = self.inputs.partition_point(|q| q.block < p.block);
        let tx = (index - first) as u64;
        json!({
            "address": format!("{INPUT_BOX:#x}"),
            "topics": [
                INPUT_ADDED,
                format!("{:#x}", APP.into_word()),
                format!("{:#x}", B256::from(U256::from(index))),
            ],
            "data": format!("0x{}", hex::encode(&data)),
            "blockNumber": format!("{:#x}", p.block),
            "blockHash": format!("{:#x}", block_hash(p.block)),
            "transactionHash": format!("{:#x}", B256::from(U256::from((p.block << 20) + tx))),
            "transactionIndex": format!("{tx:#x}"),
            "logIndex": format!("{:#x}", tx * 2 + 1),
            "removed": false,
        })
    }

    fn answer(&self, method: &str, params: &Value) -> Result<Value, (i64, String)> {
        let quantity = |v: &Value| {
            v.as_str()
                .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        };
        match method {
            "eth_chainId" => Ok(json!(format!("{CHAIN_ID:#x}"))),
            "eth_getBlockByNumber" => {
                let n = match params[0].as_str() {
                    Some("latest" | "safe" | "finalized") => Some(self.head),
                    _ => quantity(&params[0]),
                };
                Ok(match n {
                    Some(n) if n <= self.head => json!({
                        "number": format!("{n:#x}"),
                        "hash": format!("{:#x}", block_hash(n)),
                    }),
                    _ => Value::Null,
                })
            }
            "eth_call" => {
                let call = &params[0];
                let data = call["data"]
                    .as_str()
                    .or(call["input"].as_str())
                    .unwrap_or_default();
                let at = params[1]["blockHash"]
                    .as_str()
                    .and_then(block_of_hash)
                    .or(quantity(&params[1]))
                    .ok_or((-32000, "header not found".to_string()))?;
                match &data[..10.min(data.len())] {
                    "0x00aace9a" => Ok(json!(format!("{:#x}", INPUT_BOX.into_word()))),
                    "0xf02478de" => Ok(json!("0x")),
                    "0x61a93c87" => Ok(json!(format!(
                        "{:#x}",
                        B256::from(U256::from(self.count_at(at)))
                    ))),
                    _ => Err((3, "execution reverted".into())),
                }
            }
            "eth_getLogs" => {
                let f = &params[0];
                let (Some(from), Some(to)) = (quantity(&f["fromBlock"]), quantity(&f["toBlock"]))
                else {
                    return Err((-32602, "invalid params".into()));
                };
                if to - from + 1 > self.max_range {
                    return Err((-32005, "query returned more than 10000 results".into()));
                }
                self.get_logs.fetch_add(1, Ordering::Relaxed);
                let start = self.inputs.partition_point(|p| p.block < from);
                let end = self.inputs.partition_point(|p| p.block <= to);
                if self.max_results.is_some_and(|max| end - start > max) {
                    return Err((-32005, "query returned more than 10000 results".into()));
                }
                Ok(Value::Array((start..end).map(|i| self.log(i)).collect()))
            }
            other => Err((-32601, format!("method {other} not found"))),
        }
    }
}

/// Serves `chain` as an L1 JSON-RPC endpoint.
pub(crate) fn l1(chain: Chain) -> SocketAddr {
    l1_shared(Arc::new(chain))
}

/// Serves a shared `chain`, whose request counter the caller reads.
pub(crate) fn l1_shared(chain: Arc<Chain>) -> SocketAddr {
    let router = Router::new().fallback(move |body: Body| {
        let chain = chain.clone();
        async move {
            let Ok(request) = serde_json::from_slice::<Value>(&body) else {
                return (axum::http::StatusCode::BAD_REQUEST, "bad json").into_response();
            };
            let id = request["id"].clone();
            let method = request["method"].as_str().unwrap_or_default();
            let reply = match chain.answer(method, &request["params"]) {
                Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                Err((code, message)) => json!({
                    "jsonrpc": "2.0", "id": id,
                    "error": {"code": code, "message": message},
                }),
            };
            json_response(reply.to_string())
        }
    });
    spawn_server(router)
}
