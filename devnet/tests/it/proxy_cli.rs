//! `devnet proxy`: the standalone proxy binary end to end.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

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
    let mut child = Command::new(env!("CARGO_BIN_EXE_devnet"))
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
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    });
    let line = tokio::time::timeout(Duration::from_secs(60), line)
        .await
        .expect("the listen line")
        .unwrap();
    let announced: Value = serde_json::from_str(&line).unwrap();
    let listen = announced["listen"].as_str().unwrap();
    assert!(listen.starts_with("127.0.0.1:"), "{line}");
    assert_eq!(announced["mode"], "rpc");

    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
    let answer: Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("http://{listen}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["result"], "0xa");

    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap());
    let status = tokio::time::timeout(Duration::from_secs(30), status)
        .await
        .expect("the proxy exits on SIGTERM")
        .unwrap();
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
