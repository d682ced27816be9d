//! The `devnet-sequencer` binary: one JSON line with its addresses, serving, SIGTERM exit.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};
use serde_json::Value;

use crate::fake_l1::{APP, FakeL1, INPUT_BOX};

#[tokio::test]
async fn the_binary_announces_its_addresses_and_stops_on_sigterm() {
    let l1 = FakeL1::start(2).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_devnet-sequencer"))
        .args([
            "--rpc-url",
            &l1.url(),
            "--app",
            &APP.to_string(),
            "--input-box",
            &INPUT_BOX.to_string(),
            "--legacy-shape",
            "--fault",
            "tamper-state",
        ])
        .env("DEVNET_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let announced: Value = serde_json::from_str(&line).unwrap();
    let url = announced["url"].as_str().unwrap().to_owned();
    let control = announced["control_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    assert_ne!(url, control);

    let http = reqwest::Client::new();
    let body = http
        .get(format!("{url}/finalized_state/inclusion_block"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, r#"{"inclusion_block":0,"l2_tx_index":0}"#);
    let faults = http
        .get(format!("{control}/faults"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(faults, r#"{"faults":["tamper-state"]}"#);

    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    kill_process(pid, Signal::TERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status}");
}
