//! The state commands through the real binary: exit codes, one summary line on stdout, the
//! alert line on stderr, secrets never printed or persisted, `l1 scan --state-dir`.

use watchdog::{state::lock::RunLock, testing::l1::APP};

use crate::{
    Run,
    golden::assert_golden,
    rig::{B0, Rig, fatal_inputs, wallet_inputs},
    run_in,
};

/// Runs the binary with the rig's settings in the environment (the RPC URL carrying secrets).
fn run(rig: &Rig, args: &[&str]) -> Run {
    let secret_rpc = format!("http://user:SECRETPW@{}/SECRETKEY?apikey=SECRETQ", rig.l1);
    let state = rig.state.display().to_string();
    let seq = rig.seq.url();
    let app = format!("{APP:#x}");
    let env = [
        ("CARTESI_WATCHDOG_STATE_DIR", state.as_str()),
        (
            "CARTESI_WATCHDOG_BLOCKCHAIN_HTTP_ENDPOINT",
            secret_rpc.as_str(),
        ),
        ("CARTESI_WATCHDOG_SEQUENCER_URL", seq.as_str()),
        ("CARTESI_WATCHDOG_APP_ADDRESS", app.as_str()),
        ("CARTESI_WATCHDOG_BLOCKCHAIN_ID", "31337"),
        ("CARTESI_WATCHDOG_MACHINE_BACKEND", "native"),
        ("RUST_LOG", "debug"),
    ];
    let r = run_in(rig.tmp.path(), args, &env, b"");
    assert!(
        !r.stdout.contains("SECRET") && !r.stderr.contains("SECRET"),
        "{args:?} leaked a secret:\n{}\n{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(
        r.stdout.lines().count(),
        1,
        "{args:?}: one summary line\n{}",
        r.stdout
    );
    r
}

fn outcome(r: &Run) -> String {
    r.summary_json()["outcome"].as_str().unwrap().to_owned()
}

#[test]
fn a_whole_incident_through_the_binary() {
    let rig = Rig::new(wallet_inputs());
    let b0 = B0.to_string();
    let r = run(
        &rig,
        &[
            "init",
            "--snapshot-dir",
            "genesis:devnet",
            "--snapshot-safe-block",
            &b0,
        ],
    );
    assert_eq!(
        (r.code, outcome(&r).as_str()),
        (0, "initialized"),
        "{}",
        r.stderr
    );

    rig.serve_canonical(12);
    let r = run(&rig, &["tick"]);
    assert_eq!(
        (r.code, outcome(&r).as_str()),
        (0, "agreed"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("watchdog_event"));

    let r = run(&rig, &["status"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.summary_json()["head"]["block"], 12);

    rig.serve_tampered(12, 1);
    rig.seq.set(|s| s.block = 13);
    rig.chain.lock().unwrap().head = 20;
    let r = run(&rig, &["tick", "--log-format", "json"]);
    assert_eq!(
        (r.code, outcome(&r).as_str()),
        (2, "diverged"),
        "{}",
        r.stderr
    );
    let alerts: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("watchdog_event "))
        .collect();
    assert_eq!(alerts.len(), 1, "{}", r.stderr);
    // Every other stderr line is a JSON log record.
    for line in r
        .stderr
        .lines()
        .filter(|l| !l.starts_with("watchdog_event "))
    {
        let log: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(log["level"].is_string());
    }

    let r = run(&rig, &["tick"]);
    assert_eq!((r.code, outcome(&r).as_str()), (2, "latched"));
    assert!(!r.stderr.contains("watchdog_event"));

    let r = run(&rig, &["clear", "--block", "13", "--reason", "redeployed"]);
    assert_eq!(
        (r.code, outcome(&r).as_str()),
        (0, "cleared"),
        "{}",
        r.stderr
    );
    let r = run(&rig, &["clear", "--block", "13", "--reason", "again"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.summary_json()["reason"], "no_incident");

    let out = rig.tmp.path().join("replayed").display().to_string();
    let r = run(
        &rig,
        &[
            "replay",
            "--from-block",
            "12",
            "--to-block",
            "13",
            "--out",
            &out,
        ],
    );
    assert_eq!(
        (r.code, outcome(&r).as_str()),
        (0, "replayed"),
        "{}",
        r.stderr
    );
    assert_eq!(r.summary_json()["input_count_to"], 5);

    // Nothing in the state directory holds the RPC URL's secrets.
    for (name, bytes) in files(&rig.state) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains("SECRET"),
            "{name}"
        );
    }
}

#[test]
fn a_halting_machine_logs_from_its_thread_and_the_binary_still_finishes() {
    // The native halt is logged on the machine thread while the command writes stderr too.
    let rig = Rig::initialized(fatal_inputs());
    let (count, state) = rig.canonical(7);
    rig.seq.set(|s| {
        s.block = 12;
        s.count = count + 1;
        s.state = state;
    });
    let r = run(&rig, &["tick"]);
    assert_eq!(
        (r.code, outcome(&r).as_str()),
        (2, "diverged"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("machine::native"), "{}", r.stderr);
    let alert = r
        .stderr
        .lines()
        .find(|l| l.starts_with("watchdog_event "))
        .unwrap();
    assert!(
        alert.contains("\"kind\":\"canonical_machine_dead\""),
        "{alert}"
    );
}

fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn a_held_lock_exits_1_lock_busy_with_a_log_line() {
    let rig = Rig::initialized(wallet_inputs());
    let _held = RunLock::try_acquire(&rig.state.join("run.lock")).unwrap();
    for args in [&["tick"][..], &["clear", "--block", "1", "--reason", "x"]] {
        let r = run(&rig, args);
        assert_eq!(r.code, 1, "{args:?}");
        assert_eq!(r.summary_json()["reason"], "lock_busy");
        assert!(r.stderr.contains("lock_busy"), "{}", r.stderr);
    }
    assert!(!rig.state.join("last_tick.json").exists());
    // status needs no lock.
    assert_eq!(run(&rig, &["status"]).code, 0);
}

#[test]
fn usage_errors_of_the_state_commands_exit_1() {
    let rig = Rig::initialized(wallet_inputs());
    let r = run(&rig, &["clear", "--block", "1", "--reason", ""]);
    assert_eq!(r.code, 1);
    assert_eq!(r.summary_json()["reason"], "usage");
    let r = run(
        &rig,
        &[
            "replay",
            "--from-block",
            "2",
            "--to-block",
            "1",
            "--out",
            "x",
        ],
    );
    assert_eq!(r.code, 1);
    assert_eq!(r.summary_json()["reason"], "usage");
    let r = run_in(rig.tmp.path(), &["status"], &[], b"");
    assert_eq!(r.code, 1);
    assert_golden("status/no-state-dir.jsonl", &r.stdout);
}

#[test]
fn scan_takes_the_identity_and_span_from_the_state_dir() {
    let rig = Rig::initialized(wallet_inputs());
    // A tick learns the provider's span.
    rig.serve_canonical(12);
    assert_eq!(rig.tick().0.outcome().as_str(), "agreed");
    assert!(rig.state.join("l1_span.json").exists());
    let span_before = std::fs::read(rig.state.join("l1_span.json")).unwrap();

    let url = rig.l1_url();
    let state = rig.state.display().to_string();
    let scan = |extra: &[&str]| {
        let mut args = vec!["l1", "scan", "--rpc-url", &url, "--from", "3", "--to", "12"];
        args.extend_from_slice(extra);
        run_in(rig.tmp.path(), &args, &[], b"")
    };
    let with_state = scan(&["--state-dir", &state]);
    assert_eq!(
        with_state.code, 0,
        "{}\n{}",
        with_state.stdout, with_state.stderr
    );
    assert_eq!(with_state.summary_json()["inputs"], 5);
    let app = format!("{APP:#x}");
    let stateless = scan(&["--app-address", &app]);
    assert_eq!(stateless.code, 0, "{}", stateless.stderr);
    let requests = |r: &Run| r.summary_json()["requests"].as_u64().unwrap();
    assert!(
        requests(&with_state) < requests(&stateless),
        "the learned span saves range errors: {} vs {}",
        requests(&with_state),
        requests(&stateless)
    );
    assert_eq!(
        span_before,
        std::fs::read(rig.state.join("l1_span.json")).unwrap(),
        "read-only"
    );

    let r = scan(&[
        "--state-dir",
        &state,
        "--app-address",
        "0x4242424242424242424242424242424242424242",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.summary_json()["reason"], "identity_mismatch");
}
