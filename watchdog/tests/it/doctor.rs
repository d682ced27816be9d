//! `doctor` against the loopback doubles: every check passes on a healthy setup, and each
//! failing check is named with its reason, exit 1, while the state directory stays byte for
//! byte the same (a tree digest before and after).

use sequencer_client::RedactedUrl;
use watchdog::{
    Settings, Summary,
    state::lock::RunLock,
    testing::l1::{CHAIN_ID, Chain, serve, serve_shared},
};

use crate::rig::{Rig, tree, wallet_inputs};

/// Runs `doctor` with `settings`; asserts the state directory did not change. Returns the
/// summary, the lines printed and the `checks` extra as (name, status, reason).
fn doctor(rig: &Rig, settings: Settings) -> (Summary, String, Vec<(String, String, String)>) {
    let before = rig.state.exists().then(|| tree(&rig.state, &[]));
    let mut out = Vec::new();
    let summary = rig.watchdog_with(settings).doctor(&mut out);
    let after = rig.state.exists().then(|| tree(&rig.state, &[]));
    assert_eq!(before, after, "doctor changed the state directory");
    let line: serde_json::Value = serde_json::from_str(&summary.line()).unwrap();
    let checks = line["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
                c["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let out = String::from_utf8(out).unwrap();
    assert_ne!(summary.exit_code(), 2, "{}", summary.line());
    (summary, out, checks)
}

/// The status of check `name`.
fn status<'a>(checks: &'a [(String, String, String)], name: &str) -> (&'a str, &'a str) {
    let (_, status, reason) = checks
        .iter()
        .find(|(n, _, _)| n == name)
        .unwrap_or_else(|| panic!("no check {name}: {checks:?}"));
    (status, reason)
}

/// Exactly `name` fails with `reason`; the summary says so and exits 1.
fn only_failure(rig: &Rig, settings: Settings, name: &str, reason: &str) {
    let (summary, out, checks) = doctor(rig, settings);
    assert_eq!(summary.exit_code(), 1, "{}", summary.line());
    assert_eq!(summary.outcome().as_str(), "failed");
    assert_eq!(status(&checks, name), ("failed", reason), "{checks:?}");
    let failed: Vec<_> = checks.iter().filter(|c| c.1 == "failed").collect();
    assert_eq!(failed.len(), 1, "{checks:?}");
    assert!(summary.line().contains(&format!("\"reason\":\"{reason}\"")));
    assert!(
        out.lines()
            .any(|l| l.starts_with("FAIL") && l.contains(name) && l.contains(reason)),
        "{out}"
    );
}

#[test]
fn every_check_passes_on_a_healthy_setup_and_nothing_is_written() {
    let rig = Rig::initialized(wallet_inputs());
    let mut settings = rig.settings();
    let confirm = serve_shared(rig.chain.clone());
    settings.confirm_rpc_url = Some(RedactedUrl::parse(&format!("http://{confirm}")).unwrap());
    let (summary, out, checks) = doctor(&rig, settings);
    assert_eq!(summary.outcome().as_str(), "checked", "{}", summary.line());
    assert_eq!(summary.exit_code(), 0);
    let names: Vec<&str> = checks.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "state_dir",
            "lock",
            "config",
            "head",
            "l1",
            "confirm",
            "sequencer",
            "checkpoint"
        ]
    );
    assert!(checks.iter().all(|c| c.1 == "ok"), "{checks:?}");
    assert_eq!(out.lines().count(), 8, "{out}");
    assert!(out.lines().all(|l| l.starts_with("ok  ")), "{out}");
    assert!(out.contains("InputBox has code"), "{out}");

    // Without a confirm provider that check is skipped, and the rest still pass.
    let (summary, _, checks) = doctor(&rig, rig.settings());
    assert_eq!(summary.exit_code(), 0, "{}", summary.line());
    assert_eq!(status(&checks, "confirm").0, "skipped");
}

#[test]
fn the_binary_prints_a_line_per_check_then_the_summary() {
    let rig = Rig::initialized(wallet_inputs());
    let before = tree(&rig.state, &[]);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sequencer-watchdog"));
    let output = rig.operator_env(&mut cmd).arg("doctor").output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 9, "{stdout}");
    assert!(lines[8].starts_with(r#"{"schema_version":1,"command":"doctor","outcome":"checked""#));
    assert_eq!(tree(&rig.state, &[]), before);
}

#[test]
fn a_missing_or_unsafe_state_directory_fails_and_skips_the_rest() {
    let rig = Rig::new(wallet_inputs());
    let (summary, _, checks) = doctor(&rig, rig.settings());
    assert_eq!(summary.exit_code(), 1);
    assert_eq!(status(&checks, "state_dir"), ("failed", "missing_head"));
    assert!(checks[1..].iter().all(|c| c.1 == "skipped"), "{checks:?}");
    assert!(!rig.state.exists());

    let rig = Rig::initialized(wallet_inputs());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rig.state, std::fs::Permissions::from_mode(0o770)).unwrap();
    let (summary, _, checks) = doctor(&rig, rig.settings());
    assert_eq!(summary.exit_code(), 1);
    assert_eq!(
        status(&checks, "state_dir"),
        ("failed", "unsafe_permissions")
    );
}

#[test]
fn a_held_lock_fails_only_the_lock_check() {
    let rig = Rig::initialized(wallet_inputs());
    let _held = RunLock::try_acquire(&rig.state.join("run.lock")).unwrap();
    only_failure(&rig, rig.settings(), "lock", "lock_busy");
}

#[test]
fn config_and_head_problems_are_named() {
    let rig = Rig::initialized(wallet_inputs());
    let mut settings = rig.settings();
    settings.chain_id = Some(1);
    let (summary, _, checks) = doctor(&rig, settings);
    assert_eq!(summary.exit_code(), 1);
    assert_eq!(status(&checks, "config"), ("failed", "identity_mismatch"));

    std::fs::write(rig.state.join("head.json"), b"{\"version\":1}").unwrap();
    let (summary, _, checks) = doctor(&rig, rig.settings());
    assert_eq!(summary.exit_code(), 1);
    assert_eq!(status(&checks, "head"), ("failed", "invalid_head"));
    assert_eq!(status(&checks, "l1").0, "skipped");
}

#[test]
fn l1_failures_are_named() {
    let rig = Rig::initialized(wallet_inputs());
    let mut settings = rig.settings();
    settings.rpc_url = Some(RedactedUrl::parse("http://127.0.0.1:1").unwrap());
    only_failure(&rig, settings, "l1", "l1_unavailable");

    rig.chain.lock().unwrap().chain_id = 5;
    only_failure(&rig, rig.settings(), "l1", "chain_id_mismatch");
    rig.chain.lock().unwrap().chain_id = CHAIN_ID;

    // The head recorded another hash for its block than L1 has.
    let head = rig.file("head.json");
    let hash = serde_json::from_str::<serde_json::Value>(&head).unwrap()["block_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = format!("0x{}", "ab".repeat(32));
    std::fs::write(rig.state.join("head.json"), head.replace(&hash, &other)).unwrap();
    only_failure(&rig, rig.settings(), "l1", "l1_anchor_mismatch");
}

#[test]
fn a_confirm_provider_on_another_history_disagrees() {
    let rig = Rig::initialized(wallet_inputs());
    let mut forked = Chain::with_inputs(wallet_inputs());
    forked.salt = 99;
    let confirm = serve(forked);
    let mut settings = rig.settings();
    settings.confirm_rpc_url = Some(RedactedUrl::parse(&format!("http://{confirm}")).unwrap());
    only_failure(&rig, settings, "confirm", "provider_disagreement");
}

#[test]
fn an_unavailable_sequencer_is_named() {
    let rig = Rig::initialized(wallet_inputs());
    rig.seq.set(|s| s.status = Some(503));
    only_failure(&rig, rig.settings(), "sequencer", "sequencer_unavailable");
}

#[test]
fn a_corrupt_checkpoint_is_named() {
    let rig = Rig::initialized(wallet_inputs());
    let checkpoint = rig.state.join("checkpoints").join(&rig.checkpoints()[0]);
    let native = checkpoint.join("machine/native.bin");
    let mut bytes = std::fs::read(&native).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&native, bytes).unwrap();
    only_failure(&rig, rig.settings(), "checkpoint", "checkpoint_corrupt");
}

/// On the Cartesi backend (the stub of either generation): the checkpoint check names the
/// library and its generation and compares the template hash with the application's; another
/// on-chain template hash fails it.
#[test]
fn the_cartesi_checkpoint_check_names_the_library_and_the_template_hash() {
    use crate::cartesi_rig::{CartesiRig, INPUTS};
    for api in [
        cartesi_machine_stub::StubApi::V19,
        cartesi_machine_stub::StubApi::V21,
    ] {
        let c = CartesiRig::new(api, &INPUTS);
        assert_eq!(c.init().exit_code(), 0);
        let (summary, out, checks) = doctor(&c.rig, c.settings());
        assert_eq!(summary.exit_code(), 0, "{}", summary.line());
        assert_eq!(status(&checks, "checkpoint"), ("ok", ""));
        let line = out.lines().find(|l| l.contains("checkpoint")).unwrap();
        assert!(
            line.contains("libcartesi") && line.contains("(API "),
            "{line}"
        );
        assert!(line.contains("template hash"), "{line}");

        c.rig.chain.lock().unwrap().template_hash = alloy_primitives::B256::repeat_byte(0x5a);
        only_failure(&c.rig, c.settings(), "checkpoint", "template_hash_mismatch");
    }
}
