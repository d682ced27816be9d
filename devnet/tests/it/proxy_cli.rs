//! `devnet proxy`: the standalone proxy binary end to end.

use std::process::{Command, Stdio};
use std::time::Duration;

use fault_proxy::{RemoteProxy, RuleSet};
use serde_json::{Value, json};

use crate::child::{spawn_announced, terminate};
use crate::client::rpc;
use crate::fake_upstream::node;

#[tokio::test]
async fn the_proxy_command_serves_rules_from_a_file_until_sigterm() {
    let node = node().await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.json");
    let log = dir.path().join("proxy-cli.jsonl");
    std::fs::write(
        &rules,
        r#"{"rules": [{"when": {"method": "eth_chainId"}, "action": {"chain_id": {"v": 10}}}]}"#,
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_devnet"));
    command
        .args([
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--mode",
            "rpc",
            "--edge",
            "cli",
        ])
        .arg("--upstream")
        .arg(&node.url)
        .arg("--rules")
        .arg(&rules)
        .arg("--log")
        .arg(&log)
        .args(["--control-listen", "127.0.0.1:0"])
        .stderr(Stdio::null());
    let (mut child, announced) = spawn_announced(&mut command).await;
    let listen = announced["listen"].as_str().unwrap();
    assert!(listen.starts_with("127.0.0.1:"), "{announced}");
    assert_eq!(announced["mode"], "rpc");
    let control = announced["control"].as_str().unwrap();
    assert!(control.starts_with("127.0.0.1:"), "{announced}");

    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
    let answer = rpc(&format!("http://{listen}"), body.clone()).await;
    assert_eq!(answer["result"], "0xa");
    // The remote control reads the record and replaces the rules.
    let remote = RemoteProxy::new(&format!("http://{control}"), listen).unwrap();
    assert_eq!(remote.entries().await.unwrap().len(), 1);
    remote.set_rules(&RuleSet::default()).await.unwrap();
    let answer = rpc(&format!("http://{listen}"), body).await;
    assert_eq!(
        answer["result"], "0x7a69",
        "forwarded once the rules are cleared"
    );

    let status = terminate(&mut child, Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}");
    let record: Value = serde_json::from_str(
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (record["edge"].clone(), record["action"].clone()),
        (json!("cli"), json!("chain_id"))
    );
}

#[test]
fn the_proxy_command_refuses_non_loopback_addresses() {
    let output = Command::new(env!("CARGO_BIN_EXE_devnet"))
        .args([
            "proxy",
            "--listen",
            "0.0.0.0:0",
            "--upstream",
            "http://127.0.0.1:1",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a loopback address"));
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn the_proxy_command_as_the_proxy_image_runs_it() {
    let node = node().await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_devnet"));
    command
        .args(["proxy", "--listen", "127.0.0.1:0", "--edge", "image"])
        .arg("--upstream")
        .arg(&node.url)
        .stderr(Stdio::null());
    let (mut child, announced) = spawn_announced(&mut command).await;
    assert_eq!(announced["edge"], "image", "{announced}");
    let listen = announced["listen"].as_str().unwrap();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
    let answer = rpc(&format!("http://{listen}"), body).await;
    assert!(answer["result"].is_string(), "{answer}");
    let status = terminate(&mut child, Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}");

    // A private address is refused without the flag (after parsing: exit 1, not a usage error).
    let output = Command::new(env!("CARGO_BIN_EXE_devnet"))
        .args([
            "proxy",
            "--listen",
            "10.213.7.30:0",
            "--upstream",
            "http://127.0.0.1:1",
        ])
        .output()
        .unwrap();
    assert_ne!(output.status.code(), Some(0));
    assert_ne!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}
