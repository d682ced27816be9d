//! The `fault-proxy` binary: serves a rules file in front of an upstream, and refuses addresses
//! it may not listen on.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::client::rpc;
use crate::fake_upstream::node;

#[tokio::test]
async fn the_binary_announces_itself_and_applies_its_rules() {
    let node = node().await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.json");
    std::fs::write(
        &rules,
        r#"{"rules": [{"when": {"method": "eth_chainId"}, "action": {"chain_id": {"v": 10}}}]}"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fault-proxy"))
        .args(["--listen", "127.0.0.1:0", "--upstream", &node.url])
        .arg("--rules")
        .arg(&rules)
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
        .expect("the announcement line")
        .unwrap();
    let announced: Value = serde_json::from_str(&line).unwrap();
    let listen = announced["listen"].as_str().unwrap().to_owned();
    assert!(listen.starts_with("127.0.0.1:"), "{announced}");
    assert_eq!(announced["mode"], "rpc");
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []});
    let answer = rpc(&format!("http://{listen}"), body).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(answer["result"], "0xa");
}

#[test]
fn the_binary_refuses_public_and_unflagged_private_addresses() {
    let run = |listen: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_fault-proxy"))
            .args(["--listen", listen, "--upstream", "http://127.0.0.1:1"])
            .args(extra)
            .output()
            .unwrap()
    };
    let public = run("0.0.0.0:0", &[]);
    assert_eq!(public.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&public.stderr).contains("not a loopback address"));
    let private = run("10.213.7.30:0", &[]);
    assert_eq!(private.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&private.stderr).contains("loopback only"));
    assert!(private.stdout.is_empty());
}
