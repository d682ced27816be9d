//! The remote control over loopback: rules set and records read from outside the proxy's
//! process, and input that is not a rule set refused with the proxy untouched.

use fault_proxy::rules::HttpAction;
use fault_proxy::{
    Action, ControlError, HttpProxy, ProxyConfig, ProxyEntry, ProxyOutcome, ProxyRules,
    RemoteProxy, RpcProxy, Rule, RuleSet, When,
};
use serde_json::json;

use crate::client::{client, rpc};
use crate::fake_upstream::{Fake, NodeState, node, service};

fn with_control() -> ProxyConfig {
    ProxyConfig {
        edge: "wd-l1".to_owned(),
        control: Some("127.0.0.1:0".parse().unwrap()),
        ..ProxyConfig::default()
    }
}

fn chain_id() -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
}

async fn remote_rpc() -> (Fake<NodeState>, RpcProxy, RemoteProxy) {
    let upstream = node().await;
    let proxy = RpcProxy::start_with(&upstream.url, ProxyRules::default(), with_control())
        .await
        .unwrap();
    let control = format!("http://{}", proxy.control_addr().expect("a control port"));
    let remote = RemoteProxy::new(&control, &proxy.url()).unwrap();
    (upstream, proxy, remote)
}

#[tokio::test]
async fn rules_and_records_go_through_the_control_port() {
    let (_upstream, proxy, remote) = remote_rpc().await;
    assert_eq!(remote.url(), proxy.url());
    assert_eq!(rpc(&proxy.url(), chain_id()).await["result"], "0x7a69");

    let rules = ProxyRules {
        chain_id: Some(7),
        rpc_error_for: Some(("eth_blockNumber".into(), -32005, "limit".into())),
        ..ProxyRules::default()
    };
    remote.set_rules(&rules.compile()).await.unwrap();
    assert_eq!(rpc(&proxy.url(), chain_id()).await["result"], "0x7");
    let refused = json!({"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []});
    assert_eq!(rpc(&proxy.url(), refused).await["error"]["code"], -32005);

    let read = remote.entries().await.unwrap();
    assert_eq!(read, proxy.entries(), "the records read back exactly");
    let outcomes: Vec<_> = read.iter().map(|e| e.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        [
            ProxyOutcome::Forwarded,
            ProxyOutcome::Rewritten,
            ProxyOutcome::Refused { code: -32005 }
        ]
    );
    assert_eq!(read[0].edge, "wd-l1");

    remote.clear_entries().await.unwrap();
    assert!(remote.entries().await.unwrap().is_empty());
    remote.set_rules(&RuleSet::default()).await.unwrap();
    assert_eq!(rpc(&proxy.url(), chain_id()).await["result"], "0x7a69");
    assert_eq!(remote.entries().await.unwrap().len(), 1);
    proxy.shutdown().await;
}

#[tokio::test]
async fn input_that_is_not_a_rule_set_is_refused_and_changes_nothing() {
    let (_upstream, proxy, remote) = remote_rpc().await;
    let pinned = ProxyRules {
        chain_id: Some(9),
        ..ProxyRules::default()
    };
    remote.set_rules(&pinned.compile()).await.unwrap();
    let control = remote.control_url().trim_end_matches('/').to_owned();
    let put = |body: String| {
        let url = format!("{control}/rules");
        async move { client().put(url).body(body).send().await.unwrap() }
    };
    for body in [
        "not json".to_owned(),
        r#"{"rules": [], "extra": 1}"#.to_owned(),
        r#"[{"when": {}, "action": {"warp": {}}}]"#.to_owned(),
        r#"[{"when": {}, "action": "hang", "scope": {"probability": 2.0}}]"#.to_owned(),
        "\u{0}\u{ff}".to_owned(),
    ] {
        let answer = put(body.clone()).await;
        assert_eq!(answer.status(), 400, "{body:?}");
        let error: serde_json::Value =
            serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
        assert!(
            error["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body:?}"
        );
    }
    assert_eq!(put("x".repeat(2 << 20)).await.status(), 413);
    let get_rules = client()
        .get(format!("{control}/rules"))
        .send()
        .await
        .unwrap();
    assert_eq!(get_rules.status(), 405);
    let elsewhere = client()
        .get(format!("{control}/nowhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404);
    assert_eq!(
        rpc(&proxy.url(), chain_id()).await["result"],
        "0x9",
        "the rules in place stay"
    );
    assert_eq!(proxy.entries().len(), 1, "the control port records nothing");
    proxy.shutdown().await;
}

#[tokio::test]
async fn the_http_proxy_refuses_rpc_only_actions_remotely() {
    let upstream = service().await;
    let proxy = HttpProxy::start_with(&upstream.url, RuleSet::default(), with_control())
        .await
        .unwrap();
    let control = format!("http://{}", proxy.control_addr().unwrap());
    let remote = RemoteProxy::new(&control, &proxy.url()).unwrap();
    let rpc_only = RuleSet {
        seed: 0,
        rules: vec![Rule::new(When::default(), Action::ChainId { v: 1 })],
    };
    match remote.set_rules(&rpc_only).await {
        Err(ControlError::Refused {
            status: 400,
            message,
            ..
        }) => {
            assert!(message.contains("chain_id"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let status = RuleSet {
        seed: 0,
        rules: vec![Rule::new(
            When::default(),
            Action::Http(HttpAction {
                status: 503,
                retry_after: None,
            }),
        )],
    };
    remote.set_rules(&status).await.unwrap();
    let answer = client()
        .get(format!("{}/finalized_state", proxy.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503);
    let read = remote.entries().await.unwrap();
    assert_eq!(read, proxy.entries());
    assert_eq!(read[0].outcome, ProxyOutcome::HttpStatus { status: 503 });
    proxy.shutdown().await;
}

#[tokio::test]
async fn a_client_of_something_else_gets_typed_errors() {
    assert!(matches!(
        RemoteProxy::new("not a url", "x"),
        Err(ControlError::Url { .. })
    ));
    assert!(matches!(
        RemoteProxy::new("ftp://127.0.0.1:1", "x"),
        Err(ControlError::Url { .. })
    ));
    // A JSON-RPC node, not a control port: 405/404, or an answer that is not records.
    let upstream = node().await;
    let wrong = RemoteProxy::new(&upstream.url, "x").unwrap();
    assert!(matches!(
        wrong.entries().await,
        Err(ControlError::Refused { .. })
    ));
    // A closed port.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let gone = RemoteProxy::new(&format!("http://{closed}"), "x").unwrap();
    assert!(matches!(
        gone.clear_entries().await,
        Err(ControlError::Transport { .. })
    ));
}

#[test]
fn records_that_are_not_records_are_refused() {
    let good = json!({"seq": 0, "t_ms": 1, "edge": "e", "method": "eth_getLogs", "path": null,
                      "from": 3, "to": 5, "rule": 0, "action": "error", "outcome": "refused",
                      "status": 200, "result_count": null, "bytes": 10, "latency_ms": 0,
                      "error_code": -32005});
    let entry = ProxyEntry::from_json(&good).unwrap();
    assert_eq!(entry.outcome, ProxyOutcome::Refused { code: -32005 });
    assert_eq!(ProxyEntry::from_json(&entry.to_json()).unwrap(), entry);
    for (key, value) in [
        ("seq", json!(-1)),
        ("outcome", json!("vanished")),
        ("error_code", json!(null)),
        ("to", json!(null)),
        ("status", json!(70000)),
        ("method", json!(3)),
    ] {
        let mut bad = good.clone();
        bad[key] = value;
        assert!(ProxyEntry::from_json(&bad).is_err(), "{key}");
    }
    assert!(ProxyEntry::from_json(&json!([])).is_err());
}

#[test]
fn the_control_port_listens_where_the_proxy_may() {
    let config = |control: &str, private_listen| ProxyConfig {
        control: Some(control.parse().unwrap()),
        private_listen,
        ..ProxyConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (control, private) in [
        ("0.0.0.0:0", true),
        ("203.0.113.9:1", true),
        ("10.1.2.3:1", false),
    ] {
        let started = runtime.block_on(RpcProxy::start_with(
            "http://127.0.0.1:1",
            ProxyRules::default(),
            config(control, private),
        ));
        assert!(started.is_err(), "{control}");
    }
}
