//! `l1 scan` against the loopback JSON-RPC double.

use watchdog::testing::l1::{APP, Chain, INPUT_BOX, serve};

use crate::{golden::assert_golden, run_in, scratch};

fn app() -> String {
    format!("{APP:#x}")
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn scan_prints_every_input_in_order_then_the_summary() {
    let addr = serve(Chain::sample());
    let url = format!("http://user:SECRETPW@{addr}/rpc/SECRETKEY?apikey=SECRETQ");
    let r = run_in(
        &scratch(),
        &[
            "l1",
            "scan",
            "--rpc-url",
            &url,
            "--app-address",
            &app(),
            "--from",
            "0",
            "--to",
            "20",
        ],
        &[("RUST_LOG", "debug")],
        b"",
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        !r.stdout.contains("SECRET") && !r.stderr.contains("SECRET"),
        "{}",
        r.stderr
    );
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{}", r.stdout);
    // Byte-exact input lines; the summary's request count depends on the split plan, which is
    // the l1 crate's business, so only its shape is pinned here.
    assert_golden(
        "l1-scan-inputs.jsonl",
        &format!("{}\n", lines[..5].join("\n")),
    );
    let s = r.summary_json();
    assert_eq!(s["command"], "l1 scan");
    assert_eq!(s["outcome"], "scanned");
    assert_eq!(s["exit_code"], 0);
    assert_eq!(s["target_block"], 20);
    assert_eq!(
        (s["from"].as_u64(), s["to"].as_u64(), s["inputs"].as_u64()),
        (Some(0), Some(20), Some(5))
    );
    assert!(
        s["requests"].as_u64().unwrap() > 6,
        "range errors must have forced splits: {s}"
    );
    let indices: Vec<u64> = lines[..5]
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["index"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(indices, [0, 1, 2, 3, 4]);
}

#[test]
fn scan_from_the_middle_starts_at_the_count_before_it() {
    let addr = serve(Chain::sample());
    let url = format!("http://{addr}");
    let env = [
        ("CARTESI_WATCHDOG_BLOCKCHAIN_HTTP_ENDPOINT", url.as_str()),
        ("CARTESI_WATCHDOG_APP_ADDRESS", &app()),
        ("CARTESI_WATCHDOG_BLOCKCHAIN_ID", "31337"),
    ];
    let input_box = format!("{INPUT_BOX:#x}");
    let r = run_in(
        &scratch(),
        &[
            "l1",
            "scan",
            "--input-box-address",
            &input_box,
            "--from",
            "4",
            "--to",
            "8",
        ],
        &env,
        b"",
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    let input: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(
        (input["index"].as_u64(), input["block"].as_u64()),
        (Some(2), Some(7))
    );
    assert_eq!(r.summary_json()["inputs"], 1);

    let empty = run_in(
        &scratch(),
        &["l1", "scan", "--from", "13", "--to", "20"],
        &env,
        b"",
    );
    assert_eq!(empty.code, 0, "{}", empty.stderr);
    assert_eq!(empty.stdout.lines().count(), 1);
    assert_eq!(empty.summary_json()["inputs"], 0);
}

#[test]
fn scan_failures_have_their_class_and_reason() {
    let addr = serve(Chain::sample());
    let url = format!("http://{addr}");
    let base = [
        "l1",
        "scan",
        "--rpc-url",
        &url,
        "--app-address",
        &app(),
        "--from",
        "0",
        "--to",
        "20",
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        run_in(&scratch(), &args, &[], b"")
    };
    let wrong_box = "0x0000000000000000000000000000000000000001";
    let cases: [(&[&str], &str, &str); 4] = [
        (&["--chain-id", "1"], "operator", "chain_id_mismatch"),
        (
            &["--input-box-address", wrong_box],
            "operator",
            "identity_mismatch",
        ),
        (
            &["--max-rpc-requests", "3"],
            "transient",
            "rpc_budget_exhausted",
        ),
        (
            &["--long-block-range-error-codes", "x"],
            "operator",
            "config_invalid",
        ),
    ];
    for (extra, class, reason) in cases {
        let r = with(extra);
        assert_eq!(r.code, 1, "{extra:?}: {}", r.stdout);
        let s = r.summary_json();
        assert_eq!(
            (s["class"].as_str(), s["reason"].as_str()),
            (Some(class), Some(reason)),
            "{extra:?}: {s}"
        );
        assert_eq!(s["outcome"], "failed");
    }
}

#[test]
fn scan_settings_errors_are_usage_or_config() {
    let r = run_in(
        &scratch(),
        &[
            "l1",
            "scan",
            "--app-address",
            &app(),
            "--from",
            "0",
            "--to",
            "1",
        ],
        &[],
        b"",
    );
    assert_eq!(r.code, 1);
    assert_golden("l1-scan-no-rpc-url.jsonl", &r.stdout);

    let r = run_in(
        &scratch(),
        &[
            "l1",
            "scan",
            "--rpc-url",
            "http://127.0.0.1:1",
            "--app-address",
            &app(),
            "--from",
            "5",
            "--to",
            "1",
        ],
        &[],
        b"",
    );
    assert_eq!(r.summary_json()["reason"], "usage");

    let r = run_in(
        &scratch(),
        &[
            "l1",
            "scan",
            "--app-address",
            &app(),
            "--from",
            "0",
            "--to",
            "1",
        ],
        &[(
            "CARTESI_WATCHDOG_BLOCKCHAIN_HTTP_ENDPOINT",
            "ftp://u:SECRET@h/KEY",
        )],
        b"",
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.summary_json()["reason"], "config_invalid");
    assert!(!r.stdout.contains("SECRET") && !r.stderr.contains("SECRET"));

    let r = run_in(
        &scratch(),
        &[
            "l1",
            "scan",
            "--rpc-url",
            "http://127.0.0.1:1",
            "--app-address",
            "0x70997970C51812dc3A010C7d01b50e0d17dc79c8x",
            "--from",
            "0",
            "--to",
            "1",
        ],
        &[],
        b"",
    );
    assert_eq!(r.summary_json()["reason"], "usage");
}

#[test]
fn an_unreachable_provider_is_transient_and_the_url_stays_secret() {
    let url = format!(
        "http://user:SECRETPW@127.0.0.1:{}/v3/SECRETKEY",
        closed_port()
    );
    let r = run_in(
        &scratch(),
        &[
            "l1",
            "scan",
            "--rpc-url",
            &url,
            "--app-address",
            &app(),
            "--from",
            "0",
            "--to",
            "1",
        ],
        &[("RUST_LOG", "debug")],
        b"",
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    let s = r.summary_json();
    assert_eq!(
        (s["class"].as_str(), s["reason"].as_str()),
        (Some("transient"), Some("l1_unavailable")),
        "{s}"
    );
    assert!(
        !r.stdout.contains("SECRET") && !r.stderr.contains("SECRET"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn the_deadline_bounds_the_whole_command() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let r = run_in(
        &scratch(),
        &[
            "l1",
            "scan",
            "--rpc-url",
            &url,
            "--app-address",
            &app(),
            "--from",
            "0",
            "--to",
            "1",
            "--deadline",
            "300ms",
        ],
        &[],
        b"",
    );
    assert_eq!(r.code, 1);
    let s = r.summary_json();
    assert_eq!(
        (s["class"].as_str(), s["reason"].as_str()),
        (Some("transient"), Some("deadline_exceeded")),
        "{s}"
    );
}
