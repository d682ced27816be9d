//! The synthetic L1 over real HTTP: the reads the sequencer and the watchdog make, and bad
//! requests answered with JSON-RPC errors.

use alloy::primitives::U256;
use devnet_pins::{ANVIL_ADDRESSES, addresses};
use serde_json::{Value, json};
use synthetic_l1::SyntheticL1;

async fn post(url: &str, body: impl Into<reqwest::Body>) -> Value {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    response.json().await.unwrap()
}

async fn call(url: &str, method: &str, params: Value) -> Value {
    post(
        url,
        json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).to_string(),
    )
    .await
}

#[tokio::test]
async fn bad_requests_get_json_rpc_errors_and_the_server_keeps_serving() {
    let l1 = SyntheticL1::builder().blocks(3).start().await.unwrap();
    let url = l1.url();
    let code = |v: &Value| v["error"]["code"].as_i64();
    assert_eq!(code(&post(&url, "{\"jsonrpc\": ").await), Some(-32700));
    assert_eq!(code(&post(&url, "[]").await), Some(-32600));
    assert_eq!(
        code(&call(&url, "eth_frobnicate", json!([])).await),
        Some(-32601)
    );
    assert_eq!(
        code(&call(&url, "anvil_nodeInfo", json!([])).await),
        Some(-32601)
    );
    assert_eq!(
        code(&call(&url, "eth_getBlockByNumber", json!([{}])).await),
        Some(-32602)
    );
    assert_eq!(
        code(&call(&url, "eth_getLogs", json!([])).await),
        Some(-32602)
    );
    assert_eq!(
        code(&call(&url, "eth_call", json!(["x", "latest"])).await),
        Some(-32602)
    );
    let answer = call(&url, "eth_blockNumber", json!([])).await;
    assert_eq!(answer["result"], "0x3");
    assert_eq!(answer["id"], 7);
}

#[tokio::test]
async fn tags_logs_and_calls_follow_the_chain() {
    let l1 = SyntheticL1::builder()
        .seed(9)
        .blocks(2)
        .start()
        .await
        .unwrap();
    let url = l1.url();
    let landed = l1.deposit(ANVIL_ADDRESSES[1], U256::from(5u64));
    l1.mine(3);
    assert_eq!((landed.index, landed.block, l1.latest()), (0, 3, 6));

    let block = |tag: &'static str| {
        let url = url.clone();
        async move { call(&url, "eth_getBlockByNumber", json!([tag, false])).await["result"].clone() }
    };
    assert_eq!(block("safe").await["number"], "0x5");
    assert_eq!(block("finalized").await["number"], "0x4");
    assert_eq!(block("0x63").await, Value::Null);
    let b3 = block("0x3").await;
    assert_eq!(block("0x4").await["parentHash"], b3["hash"]);
    let by_hash = call(&url, "eth_getBlockByHash", json!([b3["hash"], false])).await;
    assert_eq!(by_hash["result"]["number"], "0x3");

    let filter = json!({
        "address": addresses::INPUT_BOX,
        "fromBlock": "0x0",
        "toBlock": "safe",
        "topics": [l1::INPUT_ADDED_TOPIC, addresses::APPLICATION.into_word()],
    });
    let logs = call(&url, "eth_getLogs", json!([filter])).await["result"].clone();
    assert_eq!(logs.as_array().unwrap().len(), 1);
    assert_eq!(logs[0]["blockHash"], b3["hash"]);
    let other_app = json!({"fromBlock": "0x0", "toBlock": "latest", "topics": [null, "0x00000000000000000000000000000000000000000000000000000000000000aa"]});
    assert_eq!(
        call(&url, "eth_getLogs", json!([other_app])).await["result"],
        json!([])
    );
    let past = json!({"fromBlock": "0x0", "toBlock": "0x7"});
    let err = call(&url, "eth_getLogs", json!([past])).await;
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("BlockOutOfRangeError")
    );

    let count_call = |block: Value| {
        let mut data = l1::GET_NUMBER_OF_INPUTS.to_vec();
        data.extend_from_slice(addresses::APPLICATION.into_word().as_slice());
        let data = format!("0x{}", alloy::primitives::hex::encode(data));
        json!([{"to": addresses::INPUT_BOX, "data": data}, block])
    };
    let word = |n: u64| format!("{:#066x}", n);
    assert_eq!(
        call(&url, "eth_call", count_call(json!("0x2"))).await["result"],
        word(0)
    );
    assert_eq!(
        call(
            &url,
            "eth_call",
            count_call(json!({"blockHash": b3["hash"]}))
        )
        .await["result"],
        word(1)
    );
    let gone = l1.reorg(4, &[]).unwrap();
    assert_eq!(gone.from_block, 3);
    let stale = call(
        &url,
        "eth_call",
        count_call(json!({"blockHash": b3["hash"]})),
    )
    .await;
    assert_eq!(
        stale["error"]["code"], -32000,
        "a reorged-out block is unknown"
    );
    assert_eq!(
        call(&url, "eth_call", count_call(json!("latest"))).await["result"],
        word(0)
    );
}
