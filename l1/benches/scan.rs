//! Range-plan efficiency and memory bound of a scan, against an in-process fake provider with a
//! known block-range cap. Run with `cargo bench -p l1`; method and figures are recorded in
//! `BENCHMARKS.md`.
//!
//! * Calls: `eth_getLogs` requests of a 100k-block scan ÷ the minimal number
//!   `ceil(100_000 / cap)`, for the first scan (no span known) and for a second scan started
//!   with the first scan's learned span.
//! * Memory: peak heap growth during a scan of 1k inputs vs 100k inputs (one input per block,
//!   the same provider cap), measured by a counting global allocator, with the fake node in
//!   process (alloy's transport trait) and served over HTTP on 127.0.0.1 (the stack
//!   `l1::connect` builds, which reads `eth_getLogs` answers as they stream). Over HTTP only the
//!   scanning thread's allocations count; the server runs on its own thread.

#![allow(clippy::print_stdout)] // A bench binary reports its figures on stdout.
#![allow(missing_docs, unreachable_pub)] // Not a library.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use alloy::rpc::json_rpc::{
    ErrorPayload, RequestPacket, Response, ResponsePacket, ResponsePayload,
};
use alloy::transports::{TransportError, TransportErrorKind, TransportFut};
use alloy_primitives::{Address, B256, Bytes, U256};
use canonical::EvmAdvance;
use l1::{INPUT_ADDED_TOPIC, InputReader, RangePlan, RequestBudget, RpcConfig, ScanReport};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::Service;

/// Counts live heap bytes and their peak, on threads that have not opted out.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Cleared on the fake node's server thread.
    static COUNTED: Cell<bool> = const { Cell::new(true) };
}

fn counted() -> bool {
    COUNTED.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && counted() {
            let size = layout.size() as isize;
            let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        if counted() {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const APP: Address = Address::repeat_byte(0xaa);
const INPUT_BOX: Address = Address::repeat_byte(0xbb);
const CHAIN_ID: u64 = 11_155_111;

/// How the fake provider words its range error.
#[derive(Debug, Clone, Copy)]
enum Style {
    /// `-32005 query returned more than 10000 results`: no suggestion, bisection only.
    CodeOnly,
    /// Alchemy-like `up to a N block range`: a suggested maximum.
    SuggestMax,
    /// Infura-like `Try with this block range [0xA, 0xB]`: a suggested range.
    SuggestRange,
}

/// A fake node: inputs every `every` blocks, `eth_getLogs` refused above `cap` blocks.
#[derive(Clone)]
struct FakeNode {
    cap: u64,
    every: u64,
    style: Style,
    calls: Arc<AtomicU64>,
}

fn advance(index: u64, block: u64) -> EvmAdvance {
    EvmAdvance {
        chain_id: CHAIN_ID,
        app_contract: APP,
        msg_sender: Address::repeat_byte(0x42),
        block_number: block,
        block_timestamp: U256::from(1_700_000_000 + block * 12),
        prev_randao: U256::from(block),
        index: U256::from(index),
        // A typical batch-sized payload.
        payload: Bytes::from(vec![0x5a; 132]),
    }
}

fn log(index: u64, block: u64) -> Value {
    let raw = advance(index, block).encode();
    let data = l1::input_added_data(&raw);
    json!({
        "address": INPUT_BOX,
        "topics": [INPUT_ADDED_TOPIC, APP.into_word(), B256::from(U256::from(index))],
        "data": Bytes::from(data),
        "blockNumber": format!("{block:#x}"),
        "blockHash": B256::from(U256::from(block)),
        "transactionHash": B256::from(U256::from(index + (1 << 40))),
        "transactionIndex": "0x0",
        "logIndex": "0x0",
        "removed": false,
    })
}

fn hex(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0)
}

impl FakeNode {
    fn new(cap: u64, every: u64, style: Style) -> Self {
        Self {
            cap,
            every,
            style,
            calls: Arc::default(),
        }
    }

    fn answer(&self, params: &Value) -> ResponsePayload {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let (from, to) = (hex(&params[0]["fromBlock"]), hex(&params[0]["toBlock"]));
        if to - from + 1 > self.cap {
            let (code, message) = match self.style {
                Style::CodeOnly => (-32005, "query returned more than 10000 results".to_owned()),
                Style::SuggestMax => (
                    -32600,
                    format!(
                        "You can make eth_getLogs requests with up to a {} block range.",
                        self.cap
                    ),
                ),
                Style::SuggestRange => (
                    -32005,
                    format!(
                        "query returned more than 10000 results. Try with this block range [{:#x}, {:#x}].",
                        from,
                        from + self.cap - 1
                    ),
                ),
            };
            return ResponsePayload::Failure(ErrorPayload {
                code,
                message: message.into(),
                data: None,
            });
        }
        let first = from.div_ceil(self.every) * self.every;
        let logs: Vec<Value> = (first..=to)
            .step_by(self.every as usize)
            .map(|b| log(b / self.every, b))
            .collect();
        let text = serde_json::to_string(&logs).unwrap_or_default();
        ResponsePayload::Success(
            serde_json::value::RawValue::from_string(text).expect("valid JSON"),
        )
    }
}

impl Service<RequestPacket> for FakeNode {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: RequestPacket) -> Self::Future {
        let RequestPacket::Single(req) = request else {
            return Box::pin(async { Err(TransportErrorKind::custom_str("batch")) });
        };
        let params: Value = req
            .params()
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or_default();
        let payload = self.answer(&params);
        let response = ResponsePacket::Single(Response {
            id: req.id().clone(),
            payload,
        });
        Box::pin(async move { Ok(response) })
    }
}

/// Serves `node` as a JSON-RPC endpoint over HTTP/1.1 (keep-alive, bodies with a length) on
/// an ephemeral loopback port, from its own thread, for the rest of the process.
fn serve(node: FakeNode) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        COUNTED.with(|c| c.set(false));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            listener.set_nonblocking(true).expect("nonblocking");
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(connection(node.clone(), stream));
            }
        });
    });
    addr
}

/// Answers the requests of one connection until the client closes it.
async fn connection(node: FakeNode, mut stream: tokio::net::TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let (head, len) = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..at]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                break (at + 4, len);
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        while buf.len() < head + len {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let request: Value = serde_json::from_slice(&buf[head..head + len]).unwrap_or_default();
        buf.drain(..head + len);
        let body = match node.answer(&request["params"]) {
            ResponsePayload::Success(result) => format!(
                r#"{{"jsonrpc":"2.0","id":{},"result":{}}}"#,
                request["id"],
                result.get()
            ),
            ResponsePayload::Failure(error) => {
                json!({"jsonrpc": "2.0", "id": request["id"], "error": error}).to_string()
            }
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        if stream.write_all(head.as_bytes()).await.is_err()
            || stream.write_all(body.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

/// How the scan reaches the fake node.
#[derive(Debug, Clone, Copy)]
enum Via {
    /// alloy's transport trait, in process.
    InProcess,
    /// HTTP on 127.0.0.1, through `l1::connect`.
    Http(SocketAddr),
}

struct Run {
    report: ScanReport,
    calls: u64,
    peak_bytes: isize,
    millis: u128,
}

async fn run(node: &FakeNode, via: Via, from: u64, to: u64, span: Option<u64>) -> Run {
    node.calls.store(0, Ordering::Relaxed);
    let provider = match via {
        Via::InProcess => l1::provider_with_transport(
            node.clone(),
            true,
            &RpcConfig::default(),
            &RequestBudget::unlimited(),
        ),
        Via::Http(addr) => l1::connect(
            &format!("http://{addr}"),
            &RpcConfig::default(),
            &RequestBudget::unlimited(),
        )
        .expect("connect"),
    };
    let reader = InputReader::new(
        provider,
        APP,
        INPUT_BOX,
        CHAIN_ID,
        RangePlan::new().with_span(span),
    );
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let started = Instant::now();
    let mut inputs = 0u64;
    let report = reader.scan(from, to, 0, |_input| inputs += 1).await;
    let millis = started.elapsed().as_millis();
    let peak_bytes = PEAK.load(Ordering::Relaxed) - base;
    let report = report.expect("scan");
    assert_eq!(inputs, report.inputs());
    Run {
        report,
        calls: node.calls.load(Ordering::Relaxed),
        peak_bytes,
        millis,
    }
}

async fn calls_table() {
    const BLOCKS: u64 = 100_000;
    println!("## eth_getLogs calls for a {BLOCKS}-block scan (1 input per 100 blocks)\n");
    println!(
        "| provider message | cap | minimal | first scan | ratio | range errors | learned span | reused span | ratio | range errors |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let cases = [
        (Style::SuggestMax, 2000),
        (Style::SuggestRange, 2000),
        (Style::CodeOnly, 500),
        (Style::CodeOnly, 1000),
        (Style::CodeOnly, 1500),
        (Style::CodeOnly, 2000),
        (Style::CodeOnly, 3000),
        (Style::CodeOnly, 5000),
        (Style::CodeOnly, 10_000),
    ];
    for (style, cap) in cases {
        let node = FakeNode::new(cap, 100, style);
        let minimal = BLOCKS.div_ceil(cap);
        let first = run(&node, Via::InProcess, 0, BLOCKS - 1, None).await;
        let span = first.report.learned_span();
        let again = run(&node, Via::InProcess, 0, BLOCKS - 1, span).await;
        assert_eq!(first.report.next_index, again.report.next_index);
        println!(
            "| {style:?} | {cap} | {minimal} | {} | {:.2} | {} | {} | {} | {:.2} | {} |",
            first.calls,
            first.calls as f64 / minimal as f64,
            first.report.range_errors,
            span.unwrap_or(0),
            again.calls,
            again.calls as f64 / minimal as f64,
            again.report.range_errors,
        );
    }
}

async fn memory_table() {
    println!(
        "\n## Peak heap growth during a scan (1 input per block, cap 1000 blocks, code-only errors)\n"
    );
    println!("| provider | inputs | span | calls | peak bytes | time ms |");
    println!("|---|---:|---|---:|---:|---:|");
    let node = FakeNode::new(1000, 1, Style::CodeOnly);
    let served = serve(node.clone());
    for (name, via) in [("in process", Via::InProcess), ("HTTP", Via::Http(served))] {
        let mut peaks = Vec::new();
        for (blocks, span) in [
            (1_000, Some(1000)),
            (100_000, Some(1000)),
            (1_000, None),
            (100_000, None),
        ] {
            let r = run(&node, via, 0, blocks - 1, span).await;
            println!(
                "| {name} | {} | {} | {} | {} | {} |",
                r.report.inputs(),
                span.map_or("none".to_owned(), |s| s.to_string()),
                r.calls,
                r.peak_bytes,
                r.millis
            );
            peaks.push(r.peak_bytes);
        }
        println!(
            "\n{name}: peak(100k) / peak(1k): {:.3} with the learned span, {:.3} on a first scan\n",
            peaks[1] as f64 / peaks[0] as f64,
            peaks[3] as f64 / peaks[2] as f64
        );
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        calls_table().await;
        memory_table().await;
    });
}
