//! `status`, `clear` and `replay` through the library, against the loopback doubles.

use std::{os::unix::fs::PermissionsExt, path::Path};

use watchdog::{ReplayOptions, Summary, state::lock::RunLock};

use crate::{
    golden::assert_golden,
    rig::{B0, Rig, T0, fatal_inputs, list, wallet_inputs},
};

fn pin(rig: &Rig, name: &str, summary: &Summary) {
    assert_golden(name, &rig.scrub(&format!("{}\n", summary.line())));
}

fn json(summary: &Summary) -> serde_json::Value {
    serde_json::from_str(&summary.line()).unwrap()
}

/// Every file under `dir` with its bytes, for "nothing was written" checks.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for name in list(dir) {
        let path = dir.join(&name);
        if path.is_dir() {
            out.extend(
                snapshot(&path)
                    .into_iter()
                    .map(|(n, b)| (format!("{name}/{n}"), b)),
            );
        } else {
            out.push((name, std::fs::read(&path).unwrap()));
        }
    }
    out
}

const ID: &str = "20260921T141320Z-state_mismatch-00000000000000000012";

/// An initialized rig with a latched `state_mismatch` at block 12.
fn latched() -> Rig {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_tampered(12, 40);
    let (summary, _) = rig.tick();
    assert_eq!(summary.outcome().as_str(), "diverged", "{}", summary.line());
    rig
}

#[test]
fn status_reads_everything_and_writes_nothing() {
    let rig = Rig::new(wallet_inputs());
    let summary = rig.watchdog().status();
    assert_eq!(summary.exit_code(), 1);
    pin(&rig, "status/missing.jsonl", &summary);

    rig.init();
    let summary = rig.watchdog().status();
    assert_eq!(summary.exit_code(), 0, "{}", summary.line());
    pin(&rig, "status/initialized.jsonl", &summary);

    rig.serve_tampered(12, 40);
    rig.tick();
    // No lock needed: status runs beside a tick holding it, and changes nothing.
    let held = RunLock::try_acquire(&rig.state.join("run.lock")).unwrap();
    let before = snapshot(&rig.state);
    let summary = rig.watchdog().status();
    assert_eq!(before, snapshot(&rig.state));
    drop(held);
    assert_eq!(summary.exit_code(), 0, "latched is still a readable state");
    pin(&rig, "status/latched.jsonl", &summary);
    let value = json(&summary);
    assert_eq!(value["latched"], true);
    assert_eq!(value["incident"]["divergence"]["kind"], "state_mismatch");
    assert_eq!(value["incident"]["evidence"]["collection"], "finished");
    assert_eq!(value["incident_id"], ID);

    // A broken head: exit 1 with its reason, and what could be read.
    std::fs::write(rig.state.join("head.json"), b"{\"version\":1}").unwrap();
    let summary = rig.watchdog().status();
    assert_eq!(summary.exit_code(), 1);
    let value = json(&summary);
    assert_eq!(value["reason"], "invalid_head");
    assert_eq!(value["identity"]["chain_id"], 31337);
    assert_eq!(value["latched"], true);
}

#[test]
fn clear_archives_the_incident_and_the_next_tick_compares_again() {
    let rig = Rig::initialized(wallet_inputs());
    let no_incident = rig.watchdog().clear(12, "nothing to clear").unwrap_err();
    assert_eq!(no_incident.reason().as_str(), "no_incident");

    rig.serve_tampered(12, 40);
    rig.tick();
    let wrong = rig.watchdog().clear(11, "wrong block").unwrap_err();
    assert_eq!(wrong.reason().as_str(), "wrong_block");
    pin(
        &rig,
        "clear/wrong-block.jsonl",
        &Summary::failed(Some("clear"), &wrong),
    );
    for reason in ["", "two\nlines"] {
        assert_eq!(
            rig.watchdog()
                .clear(12, reason)
                .unwrap_err()
                .reason()
                .as_str(),
            "usage"
        );
    }
    let held = RunLock::try_acquire(&rig.state.join("run.lock")).unwrap();
    assert_eq!(
        rig.watchdog()
            .clear(12, "busy")
            .unwrap_err()
            .reason()
            .as_str(),
        "lock_busy"
    );
    drop(held);
    assert!(
        rig.state.join("incident").is_dir(),
        "refusals change nothing"
    );

    let summary = rig
        .watchdog()
        .clear(12, "sequencer redeployed with fixed image")
        .unwrap();
    assert_eq!(summary.exit_code(), 0);
    pin(&rig, "clear/cleared.jsonl", &summary);
    assert!(!rig.state.join("incident").exists());
    let archived = rig.state.join("incidents").join(ID);
    assert_golden(
        "clear/resolution.json",
        &std::fs::read_to_string(archived.join("resolution.json")).unwrap(),
    );
    assert!(archived.join("divergence.json").exists() && archived.join("base").is_dir());

    // The fault persists: the next tick latches again, once; a second clear gets `-2`.
    let (summary, events) = rig.tick();
    assert_eq!(summary.outcome().as_str(), "diverged");
    assert_eq!(events.lines().count(), 1);
    let summary = rig.watchdog().clear(12, "again").unwrap();
    assert_eq!(json(&summary)["archived"], format!("incidents/{ID}-2"));

    // Fixed: agreement.
    rig.serve_canonical(12);
    assert_eq!(rig.tick().0.outcome().as_str(), "agreed");
}

#[test]
fn an_unreadable_or_hostile_marker_is_cleared_under_a_name_built_here() {
    let rig = Rig::initialized(wallet_inputs());
    std::fs::create_dir(rig.state.join("incident")).unwrap();
    std::fs::write(rig.state.join("incident/divergence.json"), b"\x00garbage").unwrap();
    let (summary, events) = rig.tick();
    assert_eq!(summary.outcome().as_str(), "latched");
    assert!(events.is_empty());
    let summary = rig.watchdog().clear(99, "marker lost").unwrap();
    let expected = format!(
        "incidents/{}-unreadable_marker-00000000000000000099",
        "20260921T141320Z"
    );
    assert_eq!(json(&summary)["archived"], expected);

    // The unreadable marker itself is kept in the archive.
    assert!(rig.state.join(&expected).join("divergence.json").exists());

    // A marker whose id tries to leave incidents/.
    latched_with_id(&rig, "../../escaped");
    let summary = rig.watchdog().clear(12, "hostile id").unwrap();
    let archived = json(&summary)["archived"].as_str().unwrap().to_owned();
    assert!(
        archived.starts_with("incidents/20260921T141320Z-unreadable_marker-"),
        "{archived}"
    );
    assert!(!rig.tmp.path().join("escaped").exists());
}

fn latched_with_id(rig: &Rig, id: &str) {
    let incident = rig.state.join("incident");
    std::fs::create_dir(&incident).unwrap();
    let event = format!(
        "{{\"kind\":\"state_mismatch\",\"previous_safe_block\":2,\"sequencer_inclusion_block\":12,\"mismatch_offset\":null,\"first_difference\":null,\"canonical_sha256\":null,\"sequencer_sha256\":null,\"previous_input_count\":0,\"input_count\":5,\"chain_id\":31337,\"app_address\":\"0x00\",\"incident_id\":\"{id}\",\"detected_at\":\"x\",\"schema_version\":1}}"
    );
    std::fs::write(incident.join("divergence.json"), event).unwrap();
}

fn options(rig: &Rig, from: u64, to: u64, out: &str) -> ReplayOptions {
    ReplayOptions {
        from_block: from,
        to_block: to,
        out: rig.tmp.path().join(out),
        from_checkpoint: None,
    }
}

#[test]
fn replay_from_the_head_rederives_the_state_without_touching_the_state_dir() {
    let rig = Rig::initialized(wallet_inputs());
    let before = snapshot(&rig.state);
    let summary = rig
        .watchdog()
        .replay(&options(&rig, B0, 12, "out"))
        .unwrap();
    assert_eq!(
        before,
        snapshot(&rig.state),
        "replay writes nothing in the state directory"
    );
    assert_eq!(summary.outcome().as_str(), "replayed", "{}", summary.line());
    pin(&rig, "replay/replayed.jsonl", &summary);
    let out = rig.tmp.path().join("out");
    assert_eq!(
        list(&out),
        ["inputs.jsonl", "machine", "manifest.json", "state.bin"]
    );
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let (_, expected) = rig.canonical(12);
    assert_eq!(std::fs::read(out.join("state.bin")).unwrap(), expected);
    assert_eq!(
        std::fs::read_to_string(out.join("inputs.jsonl"))
            .unwrap()
            .lines()
            .count(),
        5
    );
    assert_golden(
        "replay/manifest.json",
        &std::fs::read_to_string(out.join("manifest.json")).unwrap(),
    );

    // The output machine is a bootstrap: init another state directory from it at block 12.
    let other = Rig::new(wallet_inputs());
    let init = other
        .watchdog()
        .init(&watchdog::InitOptions {
            snapshot: Some(out.join("machine").display().to_string()),
            snapshot_block: Some(12),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(init.outcome().as_str(), "initialized", "{}", init.line());
    assert_eq!(json(&init)["state_sha256"], json(&summary)["sha256"]);
}

#[test]
fn replay_refuses_bad_outputs_and_ranges() {
    let rig = Rig::initialized(wallet_inputs());
    let wd = rig.watchdog();
    std::fs::create_dir(rig.tmp.path().join("taken")).unwrap();
    let cases = [
        (options(&rig, B0, 12, "taken"), "usage"),
        (options(&rig, B0, 12, "state/out"), "usage"),
        (options(&rig, 3, 12, "a"), "usage"),
        (options(&rig, B0, 1, "b"), "usage"),
        (options(&rig, B0, 12, "missing/parent"), "usage"),
        (options(&rig, B0, 25, "c"), "l1_head_lags"),
    ];
    for (options, reason) in cases {
        let error = wd.replay(&options).unwrap_err();
        assert_eq!(error.reason().as_str(), reason, "{options:?}: {error}");
        if reason != "usage" || !options.out.ends_with("taken") {
            assert!(!options.out.exists(), "{options:?} left its output");
        }
    }
    assert!(!rig.state.join("out").exists());
}

#[test]
fn replay_from_an_incident_base_reproduces_the_run_and_a_dead_machine_stops() {
    let rig = latched();
    let base = rig.state.join("incident/base");
    let mut settings = rig.settings();
    settings.state_dir = None;
    let detached = watchdog::Watchdog::detached(settings)
        .with_clock(std::sync::Arc::new(watchdog::FixedClock(T0)));
    let mut from_base = options(&rig, B0, 12, "from-base");
    from_base.from_checkpoint = Some(base);
    let summary = detached.replay(&from_base).unwrap();
    assert_eq!(summary.outcome().as_str(), "replayed", "{}", summary.line());
    assert_eq!(
        std::fs::read(rig.tmp.path().join("from-base/state.bin")).unwrap(),
        std::fs::read(rig.state.join("incident/canonical_state.bin")).unwrap()
    );
    // Without a state directory, the head is not an option.
    let error = detached
        .replay(&options(&rig, B0, 12, "no-source"))
        .unwrap_err();
    assert_eq!(error.reason().as_str(), "usage");

    let dead = Rig::initialized(fatal_inputs());
    let summary = dead
        .watchdog()
        .replay(&options(&dead, B0, 12, "dead"))
        .unwrap();
    assert_eq!(summary.outcome().as_str(), "stopped");
    assert_eq!(summary.exit_code(), 0);
    pin(&dead, "replay/stopped.jsonl", &summary);
    assert_eq!(
        list(&dead.tmp.path().join("dead")),
        ["inputs.jsonl", "machine"]
    );
}
