//! The JSON-RPC proxy: provider-style `eth_getLogs` refusals, pass-through, batches, the log.

use alloy::primitives::Bytes;
use alloy::providers::{Provider as _, ProviderBuilder};
use devnet_pins::{ANVIL_ADDRESSES, roles};
use devnet_stack::Devnet;
use fault_proxy::{BlockRange, GetLogsCap, ProxyOutcome, ProxyRules, RangeErrorProfile, RpcProxy};
use serde_json::{Value, json};

use crate::client::rpc;

fn get_logs(id: u64, from: Value, to: Value, address: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "eth_getLogs",
           "params": [{"fromBlock": from, "toBlock": to, "address": address}]})
}

fn hex(n: u64) -> Value {
    Value::String(format!("{n:#x}"))
}

#[tokio::test]
async fn the_proxy_refuses_wide_ranges_and_large_answers_like_a_provider() {
    let devnet = Devnet::start().await.unwrap();
    let sender = ANVIL_ADDRESSES[roles::DIRECT_INPUTS];
    let first = devnet
        .l1()
        .add_input(sender, Bytes::from_static(b"0"))
        .await
        .unwrap()
        .block_number;
    for i in 1..8u8 {
        devnet
            .l1()
            .add_input(sender, Bytes::from(vec![i]))
            .await
            .unwrap();
    }
    let last = devnet.block_number().await.unwrap();
    assert_eq!(last, first + 7, "automine puts each input in its own block");
    let input_box = format!("{:#x}", devnet.deployment().input_box);

    let proxy = RpcProxy::start(
        devnet.rpc_url(),
        ProxyRules {
            get_logs_cap: Some(GetLogsCap::max_range(4)),
            ..ProxyRules::default()
        },
    )
    .await
    .unwrap();
    assert!(proxy.url().starts_with("http://127.0.0.1:"));
    let url = proxy.url();

    // Over the span cap: the infura error, and the node is never asked.
    let answer = rpc(&url, get_logs(1, hex(first), hex(last), &input_box)).await;
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["error"]["code"], -32005);
    assert_eq!(
        answer["error"]["message"],
        "query returned more than 10000 results"
    );
    // Within the cap: the node's logs.
    let answer = rpc(&url, get_logs(2, hex(first), hex(first + 3), &input_box)).await;
    assert_eq!(answer["result"].as_array().unwrap().len(), 4);
    // Tags are resolved at the node ("latest" = last), so a narrow tagged range passes.
    let answer = rpc(
        &url,
        get_logs(3, hex(last - 1), json!("latest"), &input_box),
    )
    .await;
    assert_eq!(answer["result"].as_array().unwrap().len(), 2);

    // Batches are answered element by element; other methods pass through.
    let batch = json!([
        {"jsonrpc": "2.0", "id": 10, "method": "eth_chainId", "params": []},
        get_logs(11, json!("earliest"), json!("latest"), &input_box),
    ]);
    let answer = rpc(&url, batch).await;
    assert_eq!(answer[0]["result"], "0x7a69");
    assert_eq!(answer[1]["error"]["code"], -32005);

    let entries = proxy.get_logs_entries();
    let summary: Vec<(Option<BlockRange>, ProxyOutcome)> = entries
        .iter()
        .map(|e| (e.range, e.outcome.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                Some(BlockRange::new(first, last)),
                ProxyOutcome::Refused { code: -32005 }
            ),
            (
                Some(BlockRange::new(first, first + 3)),
                ProxyOutcome::Forwarded
            ),
            (
                Some(BlockRange::new(last - 1, last)),
                ProxyOutcome::Forwarded
            ),
            (
                Some(BlockRange::new(0, last)),
                ProxyOutcome::Refused { code: -32005 }
            ),
        ]
    );
    assert_eq!(entries[1].result_count, Some(4));
    assert_eq!(
        proxy.served_get_logs_ranges(),
        [
            BlockRange::new(first, first + 3),
            BlockRange::new(last - 1, last)
        ]
    );
    assert!(proxy.entries().iter().any(|e| e.method == "eth_chainId"));

    // A result cap with a suggestion: the node answers, the proxy replaces the answer, and the
    // suggested range is one the proxy accepts.
    proxy.clear_entries();
    proxy.set_rules(ProxyRules {
        get_logs_cap: Some(
            GetLogsCap::max_results(3)
                .profile(RangeErrorProfile::Reth)
                .suggesting(),
        ),
        ..ProxyRules::default()
    });
    let answer = rpc(&url, get_logs(4, hex(first), hex(last), &input_box)).await;
    assert_eq!(answer["error"]["code"], -32602);
    let suggested = format!(
        "query exceeds max results 3, retry with the range {first}-{}",
        first + 2
    );
    assert_eq!(answer["error"]["message"], suggested);
    let answer = rpc(&url, get_logs(5, hex(first), hex(first + 2), &input_box)).await;
    assert_eq!(answer["result"].as_array().unwrap().len(), 3);
    let entries = proxy.get_logs_entries();
    assert_eq!(entries[0].result_count, Some(8));
    assert_eq!(entries[0].outcome, ProxyOutcome::Refused { code: -32602 });
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [0, 1]);

    // An alloy client sees the node through the proxy.
    let client = ProviderBuilder::new().connect_http(url.parse().unwrap());
    assert_eq!(client.get_block_number().await.unwrap(), last);
}

#[tokio::test]
async fn node_errors_and_an_unreachable_node_are_reported() {
    let devnet = Devnet::start().await.unwrap();
    let proxy = RpcProxy::start(devnet.rpc_url(), ProxyRules::default())
        .await
        .unwrap();
    let answer = rpc(
        &proxy.url(),
        json!({"jsonrpc": "2.0", "id": 7, "method": "no_such_method"}),
    )
    .await;
    let code = answer["error"]["code"].as_i64().unwrap();
    assert_eq!(proxy.entries()[0].outcome, ProxyOutcome::NodeError { code });

    let port = devnet.anvil().port();
    drop(devnet);
    let answer = rpc(
        &proxy.url(),
        json!({"jsonrpc": "2.0", "id": 8, "method": "eth_chainId"}),
    )
    .await;
    assert_eq!(answer["id"], 8);
    assert_eq!(answer["error"]["code"], -32603);
    assert_eq!(proxy.entries()[1].outcome, ProxyOutcome::Unreachable);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

fn call(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

async fn raw(url: &str, body: Value) -> reqwest::Response {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn http_statuses_and_invalid_json_answer_every_request() {
    let devnet = Devnet::start().await.unwrap();
    let proxy = RpcProxy::start(
        devnet.rpc_url(),
        ProxyRules {
            http_status: Some((429, Some(1))),
            ..ProxyRules::default()
        },
    )
    .await
    .unwrap();
    let url = proxy.url();
    let response = raw(&url, call(1, "eth_chainId", json!([]))).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");

    proxy.set_rules(ProxyRules {
        http_status: Some((503, None)),
        ..ProxyRules::default()
    });
    let batch = json!([
        call(2, "eth_chainId", json!([])),
        call(3, "eth_blockNumber", json!([]))
    ]);
    let response = raw(&url, batch).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_none());

    proxy.set_rules(ProxyRules {
        invalid_json: true,
        ..ProxyRules::default()
    });
    let response = raw(&url, call(4, "eth_blockNumber", json!([]))).await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    assert!(serde_json::from_slice::<Value>(&body).is_err());

    let outcomes: Vec<(String, ProxyOutcome)> = proxy
        .entries()
        .into_iter()
        .map(|e| (e.method, e.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            (
                "eth_chainId".into(),
                ProxyOutcome::HttpStatus { status: 429 }
            ),
            (
                "eth_chainId".into(),
                ProxyOutcome::HttpStatus { status: 503 }
            ),
            (
                "eth_blockNumber".into(),
                ProxyOutcome::HttpStatus { status: 503 }
            ),
            ("eth_blockNumber".into(), ProxyOutcome::InvalidJson),
        ]
    );

    // Cleared, the node answers again.
    proxy.set_rules(ProxyRules::default());
    let answer = rpc(&url, call(5, "eth_chainId", json!([]))).await;
    assert_eq!(answer["result"], "0x7a69");
}

#[tokio::test]
async fn method_errors_chain_ids_and_a_lagging_head_are_answered_per_method() {
    let devnet = Devnet::start().await.unwrap();
    devnet.mine(10).await.unwrap();
    let latest = devnet.block_number().await.unwrap();
    let proxy = RpcProxy::start(
        devnet.rpc_url(),
        ProxyRules {
            rpc_error_for: Some(("eth_getLogs".into(), -32005, "too many requests".into())),
            chain_id: Some(1),
            head_lag: Some(4),
            ..ProxyRules::default()
        },
    )
    .await
    .unwrap();
    let url = proxy.url();

    // The error for the named method only.
    let answer = rpc(&url, get_logs(1, hex(0), json!("latest"), "0x00")).await;
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["error"]["code"], -32005);
    assert_eq!(answer["error"]["message"], "too many requests");
    let answer = rpc(&url, call(2, "eth_blockNumber", json!([]))).await;
    assert_eq!(answer["result"], hex(latest));

    // Another chain id.
    let answer = rpc(&url, call(3, "eth_chainId", json!([]))).await;
    assert_eq!(answer["id"], 3);
    assert_eq!(answer["result"], "0x1");

    // Tagged blocks lag by 4 (anvil: safe = latest − 1); numbered blocks are the node's.
    let number = |answer: &Value| answer["result"]["number"].clone();
    let answer = rpc(
        &url,
        call(4, "eth_getBlockByNumber", json!(["latest", false])),
    )
    .await;
    assert_eq!(number(&answer), hex(latest - 4));
    let answer = rpc(
        &url,
        call(5, "eth_getBlockByNumber", json!(["safe", false])),
    )
    .await;
    assert_eq!(number(&answer), hex(latest - 5));
    let answer = rpc(
        &url,
        call(6, "eth_getBlockByNumber", json!([hex(latest), false])),
    )
    .await;
    assert_eq!(number(&answer), hex(latest));
    proxy.set_rules(ProxyRules {
        head_lag: Some(1_000),
        ..ProxyRules::default()
    });
    let answer = rpc(
        &url,
        call(7, "eth_getBlockByNumber", json!(["finalized", false])),
    )
    .await;
    assert_eq!(number(&answer), hex(0));

    let outcomes: Vec<ProxyOutcome> = proxy.entries().into_iter().map(|e| e.outcome).collect();
    assert_eq!(
        outcomes,
        [
            ProxyOutcome::Refused { code: -32005 },
            ProxyOutcome::Forwarded,
            ProxyOutcome::Rewritten,
            ProxyOutcome::Rewritten,
            ProxyOutcome::Rewritten,
            ProxyOutcome::Forwarded,
            ProxyOutcome::Rewritten,
        ]
    );
}
