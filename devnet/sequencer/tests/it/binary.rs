//! The `devnet-sequencer` binary: one JSON line with its addresses, serving, SIGTERM exit.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::child::{spawn_announced, terminate};
use crate::fake_l1::{APP, FakeL1, INPUT_BOX};

#[tokio::test]
async fn the_binary_announces_its_addresses_and_stops_on_sigterm() {
    let l1 = FakeL1::start(2).await;
    let mut command = Command::new(env!("CARGO_BIN_EXE_devnet-sequencer"));
    command
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
        .stderr(Stdio::inherit());
    let (mut child, announced) = spawn_announced(&mut command).await;
    let url = announced["url"].as_str().unwrap().to_owned();
    let control = announced["control_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{announced}");
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

    let status = terminate(&mut child, Duration::from_secs(10)).await;
    assert!(status.success(), "{status}");
}
