//! Shared fixtures: inputs as a provider would log them, and a mock provider (alloy's
//! `Asserter`) behind the production retry and budget layers that records every request.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use alloy::rpc::json_rpc::{ErrorPayload, RequestPacket, ResponsePacket};
use alloy::transports::mock::{Asserter, MockTransport};
use alloy::transports::{TransportError, TransportFut};
use alloy_primitives::{Address, B256, Bytes, U256};
use canonical::EvmAdvance;
use l1::{INPUT_ADDED_TOPIC, InputReader, L1Provider, RangePlan, RequestBudget, RpcConfig};
use serde_json::{Value, json};
use tower::Service;

pub(crate) const APP: Address = Address::repeat_byte(0xaa);
pub(crate) const INPUT_BOX: Address = Address::repeat_byte(0xbb);
pub(crate) const CHAIN_ID: u64 = 31337;

/// The envelope of input `index` included in `block`.
pub(crate) fn advance(index: u64, block: u64) -> EvmAdvance {
    EvmAdvance {
        chain_id: CHAIN_ID,
        app_contract: APP,
        msg_sender: Address::repeat_byte(0x42),
        block_number: block,
        block_timestamp: U256::from(1_700_000_000 + block),
        prev_randao: U256::from(block * 7),
        index: U256::from(index),
        payload: Bytes::from(vec![index as u8; (index % 70) as usize]),
    }
}

/// ABI encoding of one `bytes` value, as in the log's data.
pub(crate) fn abi_bytes(bytes: &[u8]) -> Vec<u8> {
    l1::input_added_data(bytes)
}

/// The `InputAdded` log of `adv`, at transaction `tx` and log index `log_index`.
pub(crate) fn log_of(adv: &EvmAdvance, tx: u64, log_index: u64) -> Value {
    json!({
        "address": INPUT_BOX,
        "topics": [INPUT_ADDED_TOPIC, APP.into_word(), B256::from(adv.index)],
        "data": Bytes::from(abi_bytes(&adv.encode())),
        "blockNumber": format!("{:#x}", adv.block_number),
        "blockHash": B256::from(U256::from(adv.block_number)),
        "transactionHash": B256::from(U256::from(adv.index) + U256::from(1u64 << 40)),
        "transactionIndex": format!("{tx:#x}"),
        "logIndex": format!("{log_index:#x}"),
        "removed": false,
    })
}

/// The log of input `index` in `block`.
pub(crate) fn log(index: u64, block: u64) -> Value {
    log_of(&advance(index, block), 0, index)
}

/// Records each request's method and params, then answers from the asserter.
#[derive(Clone)]
struct Recorder {
    inner: MockTransport,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Service<RequestPacket> for Recorder {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        if let RequestPacket::Single(req) = &request {
            let params = req
                .params()
                .map_or(Value::Null, |p| serde_json::from_str(p.get()).unwrap());
            self.requests
                .lock()
                .unwrap()
                .push((req.method().to_owned(), params));
        }
        self.inner.call(request)
    }
}

/// A mock provider with a request log and a budget.
pub(crate) struct Mock {
    pub(crate) asserter: Asserter,
    pub(crate) budget: RequestBudget,
    pub(crate) provider: L1Provider,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Mock {
    pub(crate) fn new() -> Self {
        Self::with_budget(RequestBudget::unlimited())
    }

    pub(crate) fn with_budget(budget: RequestBudget) -> Self {
        let asserter = Asserter::new();
        let requests = Arc::default();
        let recorder = Recorder {
            inner: MockTransport::new(asserter.clone()),
            requests: Arc::clone(&requests),
        };
        let provider = l1::provider_with_transport(recorder, true, &RpcConfig::default(), &budget);
        Self {
            asserter,
            budget,
            provider,
            requests,
        }
    }

    pub(crate) fn reader(&self, plan: RangePlan) -> InputReader<L1Provider> {
        InputReader::new(self.provider.clone(), APP, INPUT_BOX, CHAIN_ID, plan)
    }

    /// Queues a successful `eth_getLogs` answer.
    pub(crate) fn logs(&self, logs: Vec<Value>) {
        self.asserter.push_success(&logs);
    }

    /// Queues a JSON-RPC error answer.
    pub(crate) fn fail(&self, code: i64, message: &'static str) {
        self.asserter.push_failure(ErrorPayload {
            code,
            message: message.into(),
            data: None,
        });
    }

    /// Every request so far as `(method, params)`.
    pub(crate) fn requests(&self) -> Vec<(String, Value)> {
        self.requests.lock().unwrap().clone()
    }

    /// The `[fromBlock, toBlock]` of every `eth_getLogs` request, in order.
    pub(crate) fn get_logs_ranges(&self) -> Vec<(u64, u64)> {
        let hex = |v: &Value| {
            u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
        };
        self.requests()
            .iter()
            .filter(|(method, _)| method == "eth_getLogs")
            .map(|(_, params)| (hex(&params[0]["fromBlock"]), hex(&params[0]["toBlock"])))
            .collect()
    }

    /// Answers left unused.
    pub(crate) fn unused(&self) -> usize {
        self.asserter.read_q().len()
    }
}
