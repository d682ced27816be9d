//! The rule language in JSON-RPC mode: every action and scope against an in-test node,
//! batches, `hang` and shutdown, the token bucket, the JSONL log and the `rpc_usage` checks.

use std::sync::atomic::Ordering;

use fault_proxy::{BlockRange, ProxyConfig, ProxyOutcome, ProxyRules, RpcProxy, RuleSet, usage};
use serde_json::{Value, json};

use crate::client::{post, rpc, shutdown_releases, until_recorded};
use crate::fake_upstream::node;

fn call(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// One `method` request without params per id, one after the other; their answers.
async fn rpc_each(url: &str, method: &str, ids: impl IntoIterator<Item = u64>) -> Vec<Value> {
    let mut answers = Vec::new();
    for id in ids {
        answers.push(rpc(url, call(id, method, json!([]))).await);
    }
    answers
}

fn get_logs(id: u64, from: u64, to: u64) -> Value {
    call(
        id,
        "eth_getLogs",
        json!([{"fromBlock": format!("{from:#x}"), "toBlock": format!("{to:#x}")}]),
    )
}

fn rules(text: &str) -> ProxyRules {
    RuleSet::from_json(text).unwrap().into()
}

async fn start(upstream: &str, text: &str) -> RpcProxy {
    RpcProxy::start(upstream, rules(text)).await.unwrap()
}

#[tokio::test]
async fn error_and_http_answers_follow_their_scopes() {
    let node = node().await;
    let proxy = start(
        &node.url,
        r#"[
          {"when": {"method": "eth_blockNumber"}, "scope": {"nth": 2},
           "action": {"error": {"code": -32000, "message": "boom", "data": {"x": 1}}}},
          {"when": {"method": "eth_chainId"}, "scope": {"first": 1},
           "action": {"http": {"status": 503, "retry_after": 2}}},
          {"when": {"method": "eth_chainId"}, "scope": {"times": 1}, "action": "pass"},
          {"when": {"method": "eth_chainId"}, "action": {"chain_id": {"v": 5}}}
        ]"#,
    )
    .await;
    let url = proxy.url();
    let answers = rpc_each(&url, "eth_blockNumber", 1..=3).await;
    assert_eq!(answers[0]["result"], "0x64");
    assert_eq!(answers[1]["id"], 2);
    assert_eq!(
        answers[1]["error"],
        json!({"code": -32000, "message": "boom", "data": {"x": 1}})
    );
    assert_eq!(answers[2]["result"], "0x64");

    let response = post(&url, &call(4, "eth_chainId", json!([])))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    assert_eq!(
        rpc(&url, call(5, "eth_chainId", json!([]))).await["result"],
        "0x7a69"
    );
    assert_eq!(
        rpc(&url, call(6, "eth_chainId", json!([]))).await["result"],
        "0x5"
    );

    let seen: Vec<(Option<usize>, String, ProxyOutcome, Option<u16>)> = proxy
        .entries()
        .into_iter()
        .map(|e| (e.rule, e.action, e.outcome, e.status))
        .collect();
    assert_eq!(
        seen,
        [
            (None, "pass".into(), ProxyOutcome::Forwarded, Some(200)),
            (
                Some(0),
                "error".into(),
                ProxyOutcome::Refused { code: -32000 },
                Some(200)
            ),
            (None, "pass".into(), ProxyOutcome::Forwarded, Some(200)),
            (
                Some(1),
                "http".into(),
                ProxyOutcome::HttpStatus { status: 503 },
                Some(503)
            ),
            (Some(2), "pass".into(), ProxyOutcome::Forwarded, Some(200)),
            (
                Some(3),
                "chain_id".into(),
                ProxyOutcome::Rewritten,
                Some(200)
            ),
        ]
    );
    assert_eq!(
        node.state.requests.load(Ordering::SeqCst),
        3,
        "the error, the status and the chain id never reached the node"
    );
}

#[tokio::test]
async fn every_after_and_seeded_probability_scopes() {
    let node = node().await;
    let text = r#"{"seed": 42, "rules": [
          {"when": {"method": "eth_chainId"}, "scope": {"every": 2},
           "action": {"error": {"code": 1}}},
          {"when": {"method": "eth_blockNumber"}, "scope": {"after": 2},
           "action": {"error": {"code": 2}}},
          {"when": {"method": "net_version"}, "scope": {"probability": 0.5},
           "action": {"error": {"code": 3}}}
        ]}"#;
    let codes = |proxy: &RpcProxy, method: &str| -> Vec<bool> {
        proxy
            .entries()
            .iter()
            .filter(|e| e.method == method)
            .map(|e| matches!(e.outcome, ProxyOutcome::Refused { .. }))
            .collect()
    };
    let mut draws = Vec::new();
    for _ in 0..2 {
        let proxy = start(&node.url, text).await;
        let url = proxy.url();
        for i in 0..4 {
            rpc(&url, call(i, "eth_chainId", json!([]))).await;
            rpc(&url, call(i, "eth_blockNumber", json!([]))).await;
        }
        for i in 0..32 {
            rpc(&url, call(i, "net_version", json!([]))).await;
        }
        assert_eq!(codes(&proxy, "eth_chainId"), [false, true, false, true]);
        assert_eq!(codes(&proxy, "eth_blockNumber"), [false, false, true, true]);
        draws.push(codes(&proxy, "net_version"));
    }
    assert_eq!(draws[0], draws[1], "the same seed draws the same requests");
    let hits = draws[0].iter().filter(|h| **h).count();
    assert!((4..=28).contains(&hits), "{hits} of 32 at p = 0.5");
}

#[tokio::test]
async fn heads_tags_and_rate_limits() {
    let node = node().await;
    let proxy = start(
        &node.url,
        r#"[
          {"when": {"method": "eth_blockNumber"}, "action": {"stale_head": {"lag": 3}}},
          {"when": {"method": "eth_getBlockByNumber", "block_tag": "latest"},
           "action": {"stale_head": {"freeze": true}}},
          {"when": {"method": "eth_getBlockByNumber"},
           "action": {"tags": {"safe_lag": 1, "finalized_lag": 50}}},
          {"when": {"method": "eth_chainId"},
           "action": {"rate_limit": {"rps": 0.0, "burst": 2,
                                     "as": {"error": {"code": -32005, "message": "slow down"}}}}},
          {"when": {"method": "net_version"},
           "action": {"rate_limit": {"rps": 0.0, "burst": 1}}}
        ]"#,
    )
    .await;
    let url = proxy.url();
    let block = |tag: &str| call(1, "eth_getBlockByNumber", json!([tag, false]));
    assert_eq!(
        rpc(&url, call(1, "eth_blockNumber", json!([]))).await["result"],
        "0x61"
    );
    assert_eq!(rpc(&url, block("latest")).await["result"]["number"], "0x64");
    node.state.head.store(110, Ordering::SeqCst);
    assert_eq!(
        rpc(&url, call(1, "eth_blockNumber", json!([]))).await["result"],
        "0x6b"
    );
    assert_eq!(
        rpc(&url, block("latest")).await["result"]["number"],
        "0x64",
        "frozen"
    );
    assert_eq!(rpc(&url, block("safe")).await["result"]["number"], "0x6d");
    assert_eq!(
        rpc(&url, block("finalized")).await["result"]["number"],
        "0x3c"
    );
    assert_eq!(rpc(&url, block("0x5")).await["result"]["number"], "0x5");

    // Burst 2, no refill: the third request is limited, counted, not timed.
    let limited = rpc_each(&url, "eth_chainId", 1..=3).await;
    assert_eq!(limited[1]["result"], "0x7a69");
    assert_eq!(limited[2]["error"]["code"], -32005);
    assert_eq!(limited[2]["error"]["message"], "slow down");
    let first = post(&url, &call(4, "net_version", json!([])))
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = post(&url, &call(5, "net_version", json!([])))
        .await
        .unwrap();
    assert_eq!(second.status(), 429);
    assert_eq!(second.headers()["retry-after"], "1");
    let outcomes: Vec<ProxyOutcome> = proxy.entries().into_iter().map(|e| e.outcome).collect();
    assert_eq!(
        outcomes[..2],
        [ProxyOutcome::Rewritten, ProxyOutcome::Rewritten]
    );
    assert_eq!(outcomes[6], ProxyOutcome::Forwarded, "numbered blocks pass");
    assert_eq!(outcomes[9], ProxyOutcome::Refused { code: -32005 });
    assert_eq!(outcomes[11], ProxyOutcome::HttpStatus { status: 429 });
}

#[tokio::test]
async fn a_lying_provider_drops_and_tampers_logs_by_range() {
    let node = node().await;
    let proxy = start(
        &node.url,
        r#"[
          {"when": {"method": "eth_getLogs", "get_logs_range": {"span_gt": 5}},
           "action": {"get_logs_cap": {"max_range": 5, "profile": "ankr"}}},
          {"when": {"method": "eth_getLogs", "get_logs_range": {"from_ge": 50, "to_le": 60}},
           "action": {"drop_log": {"index": 1}}},
          {"when": {"method": "eth_getLogs", "block_tag": "latest"},
           "action": {"tamper_log": {}}}
        ]"#,
    )
    .await;
    let url = proxy.url();
    let wide = rpc(&url, get_logs(1, 1, 10)).await;
    assert_eq!(wide["error"]["code"], -32600);
    let dropped = rpc(&url, get_logs(2, 50, 52)).await;
    let blocks: Vec<&str> = dropped["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["blockNumber"].as_str().unwrap())
        .collect();
    assert_eq!(blocks, ["0x32", "0x34"], "block 51's log is gone");
    let tagged = call(
        3,
        "eth_getLogs",
        json!([{"fromBlock": "0x62", "toBlock": "latest"}]),
    );
    let tampered = rpc(&url, tagged).await;
    assert_eq!(tampered["result"][0]["data"], "0xa0");
    assert_eq!(tampered["result"][1]["data"], "0xab");
    let honest = rpc(&url, get_logs(4, 1, 2)).await;
    assert_eq!(honest["result"].as_array().unwrap().len(), 2);

    let seen: Vec<(Option<BlockRange>, ProxyOutcome, Option<usize>)> = proxy
        .entries()
        .into_iter()
        .map(|e| (e.range, e.outcome, e.result_count))
        .collect();
    assert_eq!(
        seen,
        [
            (
                Some(BlockRange::new(1, 10)),
                ProxyOutcome::Refused { code: -32600 },
                None
            ),
            (
                Some(BlockRange::new(50, 52)),
                ProxyOutcome::Tampered,
                Some(3)
            ),
            (
                Some(BlockRange::new(98, 100)),
                ProxyOutcome::Tampered,
                Some(3)
            ),
            (
                Some(BlockRange::new(1, 2)),
                ProxyOutcome::Forwarded,
                Some(2)
            ),
        ]
    );
}

#[tokio::test]
async fn delay_truncate_invalid_json_and_drop() {
    let node = node().await;
    let proxy = start(
        &node.url,
        r#"[
          {"when": {"method": "eth_chainId"}, "action": {"delay": {"ms": 50}}},
          {"when": {"method": "eth_blockNumber"}, "action": {"truncate": {"bytes": 10}}},
          {"when": {"method": "net_version"}, "action": "invalid_json"},
          {"when": {"method": "eth_syncing"}, "action": "drop"}
        ]"#,
    )
    .await;
    let url = proxy.url();
    assert_eq!(
        rpc(&url, call(1, "eth_chainId", json!([]))).await["result"],
        "0x7a69"
    );
    let cut = post(&url, &call(2, "eth_blockNumber", json!([])))
        .await
        .unwrap();
    let body = cut.bytes().await.unwrap();
    assert_eq!(body.len(), 10);
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    let bad = post(&url, &call(3, "net_version", json!([])))
        .await
        .unwrap();
    assert_eq!(bad.status(), 200);
    assert!(serde_json::from_slice::<Value>(&bad.bytes().await.unwrap()).is_err());
    let dropped = match post(&url, &call(4, "eth_syncing", json!([]))).await {
        Ok(response) => response.bytes().await.is_err(),
        Err(_) => true,
    };
    assert!(dropped, "the connection closes without a complete answer");

    let entries = proxy.entries();
    assert!(entries[0].latency_ms >= 50, "{:?}", entries[0]);
    assert_eq!(entries[0].action, "delay");
    assert_eq!(entries[1].outcome, ProxyOutcome::Truncated);
    assert_eq!(entries[1].bytes, 10);
    assert_eq!(
        entries[2].bytes,
        r#"{"jsonrpc":"2.0","id":1,"result":"#.len()
    );
    assert_eq!(entries[2].outcome, ProxyOutcome::InvalidJson);
    assert_eq!(
        (entries[3].outcome.clone(), entries[3].status),
        (ProxyOutcome::Dropped, None)
    );
}

#[tokio::test]
async fn batches_take_rules_per_element() {
    let node = node().await;
    let proxy = start(
        &node.url,
        r#"[
          {"when": {"method": "eth_chainId"}, "action": {"chain_id": {"v": 1}}},
          {"when": {"method": "eth_blockNumber"}, "scope": {"nth": 2},
           "action": {"error": {"code": -32016, "message": "nope"}}},
          {"when": {"method": "net_version"}, "action": {"http": {"status": 429}}}
        ]"#,
    )
    .await;
    let url = proxy.url();
    let batch = json!([
        call(1, "eth_chainId", json!([])),
        call(2, "eth_blockNumber", json!([])),
        call(3, "eth_blockNumber", json!([])),
    ]);
    let answer = rpc(&url, batch).await;
    assert_eq!(answer[0]["result"], "0x1");
    assert_eq!(answer[1]["result"], "0x64");
    assert_eq!(answer[2]["error"]["code"], -32016);

    // One element answered with a status answers the whole batch with it.
    let batch = json!([
        call(4, "eth_blockNumber", json!([])),
        call(5, "net_version", json!([]))
    ]);
    let response = post(&url, &batch).await.unwrap();
    assert_eq!(response.status(), 429);
    let entries = proxy.entries();
    assert_eq!(entries.len(), 5);
    assert_eq!(entries[1].rule, None);
    assert_eq!(entries[2].rule, Some(1));
    assert_eq!(
        (entries[3].outcome.clone(), entries[3].status),
        (ProxyOutcome::Forwarded, Some(429))
    );
    assert_eq!(entries[4].outcome, ProxyOutcome::HttpStatus { status: 429 });
}

#[tokio::test]
async fn a_hung_request_blocks_neither_others_nor_shutdown() {
    let node = node().await;
    let proxy = start(
        &node.url,
        r#"[{"when": {"method": "eth_blockNumber"}, "scope": {"first": 1}, "action": "hang"}]"#,
    )
    .await;
    let url = proxy.url();
    let hung = tokio::spawn({
        let url = url.clone();
        async move {
            match post(&url, &call(1, "eth_blockNumber", json!([]))).await {
                Ok(response) => response.bytes().await.map(|_| ()),
                Err(e) => Err(e),
            }
        }
    });
    until_recorded(|| !proxy.entries().is_empty()).await;
    assert_eq!(proxy.entries()[0].outcome, ProxyOutcome::Hung);
    let answer = rpc(&url, call(2, "eth_blockNumber", json!([]))).await;
    assert_eq!(answer["result"], "0x64", "others are answered meanwhile");
    assert!(!hung.is_finished());

    shutdown_releases(proxy.shutdown(), hung).await;
}

#[tokio::test]
async fn records_go_to_a_jsonl_file_and_feed_the_usage_checks() {
    let node = node().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy-wd-l1.jsonl");
    let config = ProxyConfig {
        edge: "wd-l1".into(),
        log_path: Some(path.clone()),
        ..ProxyConfig::default()
    };
    let proxy = RpcProxy::start_with(
        &node.url,
        rules(
            r#"[{"when": {"method": "eth_getLogs"},
             "action": {"get_logs_cap": {"max_range": 10, "suggest": true}}}]"#,
        ),
        config,
    )
    .await
    .unwrap();
    let url = proxy.url();
    // A client that halves a refused range: [1, 40] → [1, 20] → [1, 10], [11, 20], [21, 40] …
    let mut stack = vec![BlockRange::new(1, 40)];
    let mut sent = 0;
    while let Some(r) = stack.pop() {
        sent += 1;
        let answer = rpc(&url, get_logs(1, r.from, r.to)).await;
        if answer.get("error").is_some() {
            let mid = r.from + (r.to - r.from) / 2;
            stack.push(BlockRange::new(mid + 1, r.to));
            stack.push(BlockRange::new(r.from, mid));
        }
    }
    let entries = proxy.entries();
    usage::check_narrowing(&entries).unwrap();
    usage::check_cover(&entries, 0, 40).unwrap();
    usage::check_result_cap(&entries, 10).unwrap();
    usage::check_not_past_head(&entries, 100).unwrap();
    usage::check_total(&entries, sent).unwrap();
    usage::check_budget(&entries, sent).unwrap();
    assert!(usage::check_budget(&entries, sent - 1).is_err());
    let refused = entries.iter().filter(|e| e.error_code().is_some()).count();
    assert_eq!(refused, 3, "[1,40], [1,20] and [21,40]");
    let last_error = entries.iter().rfind(|e| e.error_code().is_some()).unwrap();
    let err = usage::check_no_range_error_after(&entries, 0).unwrap_err();
    assert_eq!(err.evidence.last().unwrap().seq, last_error.seq);
    usage::check_no_range_error_after(&entries, last_error.seq).unwrap();
    assert_eq!(
        usage::check_span_cap(&entries, 10)
            .unwrap_err()
            .evidence
            .len(),
        3
    );
    assert!(usage::check_idle(&entries).is_err());

    // A client that retries the refused range unchanged fails (a).
    rpc(&url, get_logs(9, 41, 60)).await;
    rpc(&url, get_logs(9, 41, 60)).await;
    let err = usage::check_narrowing(&proxy.entries()).unwrap_err();
    assert_eq!(err.check, "narrowing");
    assert_eq!(err.evidence[0].range, Some(BlockRange::new(41, 60)));

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), proxy.entries().len());
    let first = &lines[0];
    assert_eq!(first["seq"], 0);
    assert_eq!(first["edge"], "wd-l1");
    assert_eq!(first["method"], "eth_getLogs");
    assert_eq!(
        (first["from"].clone(), first["to"].clone()),
        (json!(1), json!(40))
    );
    assert_eq!(first["rule"], 0);
    assert_eq!(first["action"], "get_logs_cap");
    assert_eq!(first["status"], 200);
    assert_eq!(first["error_code"], -32005);
    for key in ["t_ms", "latency_ms"] {
        assert!(first[key].is_u64(), "{key}: {}", first[key]);
    }
    assert!(first["bytes"].as_u64().unwrap() > 0);
    assert!(first["result_count"].is_null(), "a refusal has no result");
    let served = lines.iter().find(|l| l["error_code"].is_null()).unwrap();
    assert_eq!(served["result_count"], 10);
}

#[tokio::test]
async fn http_only_actions_are_refused_in_json_rpc_mode() {
    let node = node().await;
    let tamper = rules(r#"[{"action": {"tamper_body": {"offset": 1}}}]"#);
    assert!(RpcProxy::start(&node.url, tamper).await.is_err());
    let header = rules(r#"[{"action": {"set_header": {"name": "a", "value": "b"}}}]"#);
    assert!(RpcProxy::start(&node.url, header).await.is_err());
}
