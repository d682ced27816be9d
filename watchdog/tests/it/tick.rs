//! `tick` through the library against the loopback sequencer and L1 doubles, native backend,
//! fixed clock: every path's summary line, every event kind, `status.prom` and
//! `last_tick.json` are pinned by golden files under `tests/golden/tick/`.

use watchdog::{
    Summary,
    state::lock::RunLock,
    testing::{
        l1::{Chain, serve},
        sequencer::Shape,
    },
};

use crate::{
    golden::assert_golden,
    rig::{B0, Rig, fatal_inputs, many_ops_inputs, wallet_inputs},
};

/// Pins the summary line of `summary` (and the events, when any) as `tick/<name>`.
fn pin(rig: &Rig, name: &str, summary: &Summary, events: &str) {
    assert_golden(
        &format!("tick/{name}.jsonl"),
        &rig.scrub(&format!("{}\n", summary.line())),
    );
    if !events.is_empty() {
        assert_golden(&format!("tick/{name}.event"), events);
    }
}

fn expect(summary: &Summary, outcome: &str, exit: u8) {
    assert_eq!(summary.outcome().as_str(), outcome, "{}", summary.line());
    assert_eq!(summary.exit_code(), exit, "{}", summary.line());
}

#[test]
fn bootstrap_compare_then_replay_agrees_then_idles() {
    let rig = Rig::initialized(wallet_inputs());
    assert_eq!(rig.checkpoints().len(), 1);
    assert!(rig.file("head.json").contains("\"agreed\":false"));

    // The sequencer still serves genesis at block 0: behind the never-agreed bootstrap.
    let (summary, events) = rig.tick();
    expect(&summary, "idle", 0);
    pin(&rig, "idle-behind-bootstrap", &summary, &events);

    // At B0 exactly: the bootstrap compare, without L1 work.
    rig.serve_canonical(B0);
    let (summary, events) = rig.tick();
    expect(&summary, "agreed", 0);
    pin(&rig, "bootstrap-agreed", &summary, &events);
    assert!(rig.file("head.json").contains("\"agreed\":true"));

    // Inputs at blocks 3..=12: replayed and published.
    rig.serve_canonical(12);
    let (summary, events) = rig.tick();
    expect(&summary, "agreed", 0);
    pin(&rig, "agreed", &summary, &events);
    assert!(events.is_empty());
    let head = rig.file("head.json");
    assert!(head.contains("\"block\":12,\"input_count\":5"), "{head}");
    assert_eq!(
        rig.checkpoints(),
        ["00000000000000000012-00000000000000000005"]
    );
    assert_golden("tick/agreed.last_tick.json", &rig.file("last_tick.json"));
    assert_golden("tick/agreed.status.prom", &rig.file("status.prom"));
    let checkpoint = rig
        .state
        .join("checkpoints/00000000000000000012-00000000000000000005");
    assert_eq!(
        std::fs::read(checkpoint.join("state.bin")).unwrap(),
        rig.canonical(12).1
    );
    assert_golden(
        "tick/agreed.manifest.json",
        &std::fs::read_to_string(checkpoint.join("manifest.json")).unwrap(),
    );

    let (summary, events) = rig.tick();
    expect(&summary, "idle", 0);
    pin(&rig, "idle", &summary, &events);
    // Totals accumulate across ticks.
    let last: serde_json::Value = serde_json::from_str(&rig.file("last_tick.json")).unwrap();
    assert_eq!(last["totals"]["inputs_replayed"], 5);
    assert_eq!(last["inputs_replayed"], 0);
}

#[test]
fn legacy_poll_shape_and_no_digest_route_download_the_state() {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_canonical(7);
    rig.seq.set(|s| {
        s.shape = Shape::Legacy;
        s.digest_route = false;
    });
    let (summary, events) = rig.tick();
    expect(&summary, "agreed", 0);
    pin(&rig, "agreed-download", &summary, &events);
    assert!(
        rig.file("head.json")
            .contains("\"block\":7,\"input_count\":3")
    );
}

#[test]
fn a_tampered_state_latches_once_then_stays_latched() {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_tampered(12, 40);
    rig.seq.set(|s| s.digest_route = false);
    let (summary, events) = rig.tick();
    expect(&summary, "diverged", 2);
    pin(&rig, "diverged-state-mismatch", &summary, &events);
    assert_eq!(events.lines().count(), 1);
    assert!(
        events.contains("\"mismatch_offset\":41,\"first_difference\":40"),
        "{events}"
    );
    assert_eq!(
        rig.file("incident/divergence.json"),
        events.trim_start_matches("watchdog_event ").trim_end()
    );
    assert_golden(
        "tick/diverged-state-mismatch.status.prom",
        &rig.file("status.prom"),
    );
    assert_golden(
        "tick/diverged-state-mismatch.evidence.json",
        &rig.file("incident/evidence.json"),
    );
    for item in [
        "sequencer_state.bin",
        "canonical_state.bin",
        "wallet_diff.json",
        "inputs.jsonl",
        "base/manifest.json",
        "canonical_machine",
    ] {
        assert!(rig.state.join("incident").join(item).exists(), "{item}");
    }
    assert_eq!(rig.file("incident/inputs.jsonl").lines().count(), 5);
    // The head did not move.
    assert!(rig.file("head.json").contains("\"block\":2,"));

    let (summary, events) = rig.tick();
    expect(&summary, "latched", 2);
    assert!(events.is_empty());
    pin(&rig, "latched", &summary, &events);
    assert_golden("tick/latched.status.prom", &rig.file("status.prom"));
}

#[test]
fn digest_mode_mismatch_has_no_offsets_in_the_event_but_keeps_the_bytes() {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_tampered(12, 0);
    let (summary, events) = rig.tick();
    expect(&summary, "diverged", 2);
    assert!(
        events.contains("\"mismatch_offset\":null,\"first_difference\":null"),
        "{events}"
    );
    // Fetched after the latch: same block, so kept, and the comparison is recorded.
    assert!(rig.state.join("incident/sequencer_state.bin").exists());
    assert!(
        rig.file("incident/evidence.json")
            .contains("\"first_difference\":0,\"mismatch_offset\":1")
    );
}

#[test]
fn a_bootstrap_the_sequencer_disagrees_with_latches_without_l1_work() {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_tampered(B0, 3);
    rig.seq.set(|s| s.digest_route = false);
    // No L1 at all: the compare must not need it.
    let mut settings = rig.settings();
    settings.rpc_url = None;
    let (summary, events) = rig.tick_with(settings);
    expect(&summary, "diverged", 2);
    pin(&rig, "diverged-bootstrap", &summary, &events);
}

#[test]
fn a_regressed_inclusion_block_latches() {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_canonical(12);
    expect(&rig.tick().0, "agreed", 0);
    rig.serve_canonical(7);
    let (summary, events) = rig.tick();
    expect(&summary, "diverged", 2);
    pin(&rig, "diverged-regressed", &summary, &events);
    assert!(
        rig.file("incident/evidence.json")
            .contains("\"base\":\"base\"")
    );
}

#[test]
fn a_machine_that_halts_on_an_input_is_canonical_machine_dead() {
    let rig = Rig::initialized(fatal_inputs());
    // Whatever the sequencer serves, the canonical machine cannot get past input 3.
    let (count, state) = rig.canonical(7);
    rig.seq.set(|s| {
        s.block = 12;
        s.count = count + 1;
        s.state = state;
    });
    let (summary, events) = rig.tick();
    expect(&summary, "diverged", 2);
    pin(&rig, "diverged-machine-dead", &summary, &events);
    assert!(
        events.contains("\"stop\":{\"status\":\"halted\""),
        "{events}"
    );
    assert!(rig.state.join("incident/canonical_machine").exists());
}

#[test]
fn the_sequencer_not_being_ready_or_reachable_is_transient() {
    let rig = Rig::initialized(wallet_inputs());
    rig.seq.set(|s| s.status = Some(404));
    let (summary, _) = rig.tick();
    expect(&summary, "failed", 1);
    pin(&rig, "sequencer-not-ready", &summary, "");
    assert_golden(
        "tick/sequencer-not-ready.status.prom",
        &rig.file("status.prom"),
    );
    assert_golden(
        "tick/sequencer-not-ready.last_tick.json",
        &rig.file("last_tick.json"),
    );

    rig.seq.set(|s| s.status = Some(503));
    let (summary, _) = rig.tick();
    pin(&rig, "sequencer-unavailable", &summary, "");

    let mut settings = rig.settings();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    settings.sequencer_url =
        Some(sequencer_client::RedactedUrl::parse(&format!("http://{closed}")).unwrap());
    let (summary, _) = rig.tick_with(settings);
    assert_eq!(
        summary.reason_value().unwrap().as_str(),
        "sequencer_unavailable",
        "{}",
        summary.line()
    );
}

#[test]
fn hostile_sequencer_answers_are_bad_responses() {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_canonical(12);
    // An empty state body.
    rig.seq.set(|s| {
        s.digest_route = false;
        s.state = Vec::new();
    });
    let (summary, _) = rig.tick();
    expect(&summary, "failed", 1);
    pin(&rig, "sequencer-bad-response", &summary, "");
    let published: Vec<String> = rig
        .checkpoints()
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(published.len(), 1, "nothing published: {published:?}");
}

#[test]
fn an_l1_behind_the_sequencer_is_l1_head_lags() {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_canonical(12);
    rig.chain.lock().unwrap().safe = 10;
    let (summary, _) = rig.tick();
    expect(&summary, "failed", 1);
    pin(&rig, "l1-head-lags", &summary, "");
    rig.chain.lock().unwrap().safe = 20;
    expect(&rig.tick().0, "agreed", 0);
}

#[test]
fn a_reorg_below_the_head_is_an_anchor_mismatch() {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_canonical(12);
    rig.chain.lock().unwrap().salt = 1;
    let (summary, _) = rig.tick();
    expect(&summary, "failed", 1);
    pin(&rig, "l1-anchor-mismatch", &summary, "");
}

#[test]
fn a_confirm_provider_that_disagrees_prevents_the_latch() {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_tampered(12, 5);
    // The confirmation provider lacks the last input.
    let mut other = Chain::with_inputs(wallet_inputs());
    other.inputs.pop();
    let confirm = serve(other);
    let mut settings = rig.settings();
    settings.confirm_rpc_url =
        Some(sequencer_client::RedactedUrl::parse(&format!("http://{confirm}")).unwrap());
    let (summary, events) = rig.tick_with(settings.clone());
    expect(&summary, "failed", 1);
    assert!(events.is_empty());
    pin(&rig, "provider-disagreement", &summary, "");
    assert!(!rig.state.join("incident").exists());

    // An agreeing confirmation provider lets the latch through.
    let confirm = serve(Chain::with_inputs(wallet_inputs()));
    settings.confirm_rpc_url =
        Some(sequencer_client::RedactedUrl::parse(&format!("http://{confirm}")).unwrap());
    let (summary, events) = rig.tick_with(settings);
    expect(&summary, "diverged", 2);
    assert_eq!(events.lines().count(), 1);
    let last: serde_json::Value = serde_json::from_str(&rig.file("last_tick.json")).unwrap();
    assert!(
        last["rpc_requests"]["l1_confirm"].as_u64().unwrap() > 0,
        "{last}"
    );
}

#[test]
fn setup_problems_are_operator_errors() {
    let rig = Rig::new(wallet_inputs());
    // Not initialized: no directory at all, then an empty one.
    let (summary, _) = rig.tick();
    expect(&summary, "failed", 1);
    pin(&rig, "missing-head", &summary, "");
    assert!(
        !rig.state.exists(),
        "a tick never creates the state directory"
    );

    let init = rig.init();
    assert_eq!(init.exit_code(), 0);
    let mut settings = rig.settings();
    settings.app_address = Some(alloy_primitives::Address::repeat_byte(0x42));
    let (summary, _) = rig.tick_with(settings);
    expect(&summary, "failed", 1);
    pin(&rig, "identity-mismatch", &summary, "");

    // A head.json pointing outside checkpoints/ is refused and left as it is.
    let head = rig.file("head.json");
    let bad = head.replace("checkpoints/", "checkpoints/../");
    std::fs::write(rig.state.join("head.json"), &bad).unwrap();
    let (summary, _) = rig.tick();
    pin(&rig, "invalid-head", &summary, "");
    assert_eq!(rig.file("head.json"), bad);
    std::fs::write(rig.state.join("head.json"), &head).unwrap();

    // A checkpoint whose manifest no longer matches the head.
    let manifest = rig
        .state
        .join(format!("{}/manifest.json", head_checkpoint(&head)));
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("\"input_count\":0", "\"input_count\":1"),
    )
    .unwrap();
    rig.serve_canonical(12);
    let (summary, _) = rig.tick();
    pin(&rig, "checkpoint-corrupt", &summary, "");
}

fn head_checkpoint(head: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(head).unwrap();
    value["checkpoint"].as_str().unwrap().to_owned()
}

#[test]
fn a_held_lock_is_lock_busy_and_nothing_is_written() {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_canonical(B0);
    expect(&rig.tick().0, "agreed", 0);
    let before = (
        rig.file("last_tick.json"),
        rig.file("status.prom"),
        rig.file("head.json"),
    );
    let held = RunLock::try_acquire(&rig.state.join("run.lock")).unwrap();
    rig.serve_canonical(12);
    let (summary, _) = rig.tick();
    expect(&summary, "failed", 1);
    pin(&rig, "lock-busy", &summary, "");
    assert_eq!(
        before,
        (
            rig.file("last_tick.json"),
            rig.file("status.prom"),
            rig.file("head.json")
        )
    );
    drop(held);
    expect(&rig.tick().0, "agreed", 0);
}

#[test]
fn an_unsafe_state_directory_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let rig = Rig::initialized(wallet_inputs());
    std::fs::set_permissions(&rig.state, std::fs::Permissions::from_mode(0o770)).unwrap();
    let (summary, _) = rig.tick();
    expect(&summary, "failed", 1);
    assert_eq!(
        summary.reason_value().unwrap().as_str(),
        "unsafe_permissions"
    );
    assert!(!rig.state.join("last_tick.json").exists());
}

#[test]
fn gc_removes_leftovers_at_the_start_of_a_tick() {
    let rig = Rig::initialized(wallet_inputs());
    let checkpoints = rig.state.join("checkpoints");
    for stray in [".tmp-01STRAY", "00000000000000000009-00000000000000000002"] {
        std::fs::create_dir(checkpoints.join(stray)).unwrap();
    }
    std::fs::create_dir(rig.state.join("incident.tmp-01STRAY")).unwrap();
    std::fs::create_dir(checkpoints.join("keep-me")).unwrap();
    rig.serve_canonical(B0);
    expect(&rig.tick().0, "agreed", 0);
    assert_eq!(
        rig.checkpoints(),
        ["00000000000000000002-00000000000000000000", "keep-me"]
    );
    assert!(!rig.state.join("incident.tmp-01STRAY").exists());
}

#[test]
fn tick_options_override_the_deadline_and_cancel_a_tick() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use watchdog::TickOptions;
    use watchdog::settings::Deadline;

    let rig = Rig::initialized(wallet_inputs());
    rig.serve_canonical(12);
    let watchdog = rig.watchdog();

    // A cancelled tick gives up before comparing and publishes nothing.
    let mut events = Vec::new();
    let cancel = TickOptions {
        cancel: Some(Arc::new(AtomicBool::new(true))),
        ..TickOptions::default()
    };
    let summary = watchdog.tick_with(cancel, &mut events);
    expect(&summary, "failed", 1);
    assert_eq!(
        summary.reason_value().map(|r| r.as_str()),
        Some("cancelled")
    );
    assert!(events.is_empty());
    assert!(rig.file("head.json").contains("\"agreed\":false"));

    // An already spent deadline for this tick only.
    let spent = TickOptions {
        deadline: Some(Deadline(Some(std::time::Duration::from_nanos(1)))),
        ..TickOptions::default()
    };
    let summary = watchdog.tick_with(spent, &mut events);
    expect(&summary, "failed", 1);
    assert_eq!(
        summary.reason_value().map(|r| r.as_str()),
        Some("deadline_exceeded")
    );

    // The watchdog's own settings are untouched: the next plain tick agrees.
    let (summary, _) = rig.tick();
    expect(&summary, "agreed", 0);
}

#[test]
fn injected_l1_provider_and_sequencer_client_replace_the_urls() {
    use sequencer_client::{RedactedUrl, SequencerClient};

    let rig = Rig::initialized(wallet_inputs());
    rig.serve_canonical(12);
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    // The configured URLs point nowhere; only the injected provider and client can work.
    let mut settings = rig.settings();
    settings.rpc_url = None;
    settings.sequencer_url = Some(RedactedUrl::parse(&dead).unwrap());
    let provider = l1::connect(
        &rig.l1_url(),
        &l1::RpcConfig::default(),
        &l1::RequestBudget::unlimited(),
    )
    .unwrap();
    let client = SequencerClient::new(rig.settings().sequencer_url.unwrap()).unwrap();
    let watchdog = rig
        .watchdog_with(settings)
        .with_l1(provider)
        .with_sequencer(std::sync::Arc::new(client));
    let mut events = Vec::new();
    let summary = watchdog.tick(&mut events);
    expect(&summary, "agreed", 0);
    assert!(events.is_empty());
}

/// `tick` through the binary on a fresh [`many_ops_inputs`] rig, with `args` and `env` added
/// and debug logs of the feed as JSON: the exit code, the summary and the recovery log line
/// (`threads`, `workers`) when the tick fed inputs.
fn tick_binary(
    args: &[&str],
    env: &[(&str, &str)],
) -> (i32, serde_json::Value, Option<(u64, u64)>) {
    let rig = Rig::initialized(many_ops_inputs(24));
    rig.serve_canonical(12);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sequencer-watchdog"));
    rig.operator_env(cmd.arg("tick").args(args))
        .args(["--log-format", "json"])
        .env("RUST_LOG", "info,watchdog::feed=debug")
        .envs(env.iter().copied());
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let summary = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let recovery = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["event"] == "recovery_threads")
        .map(|line| {
            (
                line["threads"].as_u64().unwrap(),
                line["workers"].as_u64().unwrap(),
            )
        });
    (output.status.code().unwrap(), summary, recovery)
}

#[test]
fn the_recovery_thread_cap_reaches_the_engine_and_1_spawns_no_worker() {
    // The flag: one thread, so a batch of 24 signatures spawns no recovery worker.
    let (code, summary, recovery) = tick_binary(&["--recovery-threads", "1"], &[]);
    assert_eq!(
        (code, summary["outcome"].as_str()),
        (0, Some("agreed")),
        "{summary}"
    );
    assert_eq!(recovery, Some((1, 0)));

    // The variable, capped by the machine's cores: a worker per thread beyond the fold's.
    let cores = std::thread::available_parallelism().map_or(1, usize::from) as u64;
    let (code, summary, recovery) = tick_binary(&[], &[("CARTESI_WATCHDOG_RECOVERY_THREADS", "2")]);
    assert_eq!(
        (code, summary["outcome"].as_str()),
        (0, Some("agreed")),
        "{summary}"
    );
    let threads = cores.min(2);
    assert_eq!(recovery, Some((threads, threads - 1)));

    // The flag beats the variable; unset means every core.
    let (_, _, recovery) = tick_binary(
        &["--recovery-threads", "1"],
        &[("CARTESI_WATCHDOG_RECOVERY_THREADS", "2")],
    );
    assert_eq!(recovery, Some((1, 0)));
    let (_, _, recovery) = tick_binary(&[], &[]);
    assert_eq!(recovery.map(|(threads, _)| threads), Some(cores));

    // 0 and absurd values are refused before any work: exit 1, class operator.
    for (args, env, reason) in [
        (&["--recovery-threads", "0"][..], &[][..], "usage"),
        (&["--recovery-threads", "100000"][..], &[][..], "usage"),
        (
            &[][..],
            &[("CARTESI_WATCHDOG_RECOVERY_THREADS", "0")][..],
            "config_invalid",
        ),
        (
            &[][..],
            &[("CARTESI_WATCHDOG_RECOVERY_THREADS", "lots")][..],
            "config_invalid",
        ),
    ] {
        let (code, summary, recovery) = tick_binary(args, env);
        assert_eq!(code, 1, "{args:?} {env:?}: {summary}");
        assert_eq!(summary["class"], "operator", "{summary}");
        assert_eq!(summary["reason"], reason, "{summary}");
        assert_eq!(recovery, None);
    }
}
