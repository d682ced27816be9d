//! Crash injection at every durability step (conventions rule 26): the real binary runs a tick
//! with `FAILPOINTS=<point>=panic`, which ends it at that step as a crash would, then runs it
//! again and checks that it resumes from the last durable state with the same verdict, never
//! leaves an unloadable state or a false divergence, and that GC removes the leftovers.
//!
//! The same fail points order a race deterministically: `replay` is lock-free (spec §6.4), so
//! a tick may publish a new head and collect the old checkpoint while a replay copies it; the
//! in-process fail point `replay.before_copy` runs that tick at exactly that moment.
//!
//! Built and run by `cargo test`: the dev-dependency on this crate enables `failpoints`.
#![cfg(feature = "failpoints")]

// Shared with the `it` test binary, which uses all of them.
#[allow(dead_code)]
#[path = "it/cartesi_rig.rs"]
mod cartesi_rig;
#[allow(dead_code)]
#[path = "it/rig.rs"]
mod rig;

use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rig::{B0, Rig, list, many_ops_inputs, wallet_inputs};
use watchdog::ReplayOptions;

const NEW_HEAD: &str = "00000000000000000012-00000000000000000005";
const BOOTSTRAP: &str = "00000000000000000002-00000000000000000000";

struct Run {
    code: i32,
    summary: serde_json::Value,
    stderr: String,
}

fn run(rig: &Rig, args: &[&str], failpoints: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sequencer-watchdog"));
    rig.operator_env(cmd.args(args));
    if let Some(failpoints) = failpoints {
        cmd.env("FAILPOINTS", failpoints);
    }
    wait(cmd, args, failpoints)
}

/// Runs the prepared binary to its end (a hung run fails the test).
fn wait(mut cmd: Command, args: &[&str], failpoints: Option<&str>) -> Run {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A hung run fails the test instead of hanging it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let Output { stderr, .. } = child.wait_with_output().unwrap();
            panic!(
                "{args:?} {failpoints:?} hung:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(stdout).unwrap();
    let stderr = String::from_utf8(stderr).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "{args:?} {failpoints:?}: {stdout}\n{stderr}"
    );
    Run {
        code: status.code().expect("an exit code, not a signal"),
        summary: serde_json::from_str(&stdout).unwrap(),
        stderr,
    }
}

fn initialized() -> Rig {
    initialized_with(wallet_inputs())
}

fn initialized_with(inputs: Vec<watchdog::testing::l1::Placed>) -> Rig {
    let rig = Rig::new(inputs);
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
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    rig
}

fn head_block(rig: &Rig) -> u64 {
    let head: serde_json::Value = serde_json::from_str(&rig.file("head.json")).unwrap();
    head["block"].as_u64().unwrap()
}

/// The state stays readable: `status` exits 0.
fn assert_loadable(rig: &Rig, point: &str) {
    let status = run(rig, &["status"], None);
    assert_eq!(status.code, 0, "{point}: {}", status.summary);
}

#[test]
fn a_crash_at_any_publish_step_resumes_from_the_last_durable_head() {
    // (point, head after the crash, leftover expected in checkpoints/ before the next tick)
    let points: [(&str, u64, Option<&str>); 6] = [
        ("machine.publish.after_store", B0, None),
        ("machine.publish.after_sync", B0, None),
        ("machine.publish.after_rename", B0, None),
        ("publish.before_rename", B0, None),
        ("publish.before_head", B0, Some(NEW_HEAD)),
        ("publish.after_head", 12, Some(BOOTSTRAP)),
    ];
    for (point, head_after, leftover) in points {
        let rig = initialized();
        rig.serve_canonical(12);
        let crashed = run(&rig, &["tick"], Some(&format!("{point}=panic")));
        assert_eq!(
            crashed.code, 1,
            "{point}: {}\n{}",
            crashed.summary, crashed.stderr
        );
        assert_eq!(crashed.summary["class"], "internal", "{point}");
        assert_eq!(crashed.summary["reason"], "panic", "{point}");
        assert_eq!(head_block(&rig), head_after, "{point}: the durable head");
        assert_loadable(&rig, point);
        let entries = rig.checkpoints();
        assert!(
            entries.len() > 1,
            "{point}: the crash left something behind: {entries:?}"
        );
        if let Some(leftover) = leftover {
            assert!(
                entries.iter().any(|e| e == leftover),
                "{point}: {entries:?}"
            );
        }

        let resumed = run(&rig, &["tick"], None);
        assert_eq!(
            resumed.code, 0,
            "{point}: {}\n{}",
            resumed.summary, resumed.stderr
        );
        let expected = if head_after == 12 { "idle" } else { "agreed" };
        assert_eq!(resumed.summary["outcome"], expected, "{point}");
        assert!(
            !resumed.stderr.contains("watchdog_event"),
            "{point}: no false divergence"
        );
        assert_eq!(head_block(&rig), 12, "{point}");
        assert_eq!(
            rig.checkpoints(),
            [NEW_HEAD],
            "{point}: GC removed every leftover"
        );
        assert_loadable(&rig, point);
    }
}

#[test]
fn a_crash_while_latching_never_loses_the_divergence() {
    for point in ["latch.before_rename", "latch.after_rename"] {
        let rig = initialized();
        rig.serve_tampered(12, 40);
        let crashed = run(&rig, &["tick"], Some(&format!("{point}=panic")));
        assert_eq!(crashed.code, 1, "{point}: {}", crashed.summary);
        assert_eq!(
            head_block(&rig),
            B0,
            "{point}: the head never moves on a divergence"
        );
        assert_loadable(&rig, point);

        let again = run(&rig, &["tick"], None);
        let events = again
            .stderr
            .lines()
            .filter(|l| l.starts_with("watchdog_event "))
            .count();
        if point == "latch.before_rename" {
            // The latch was not durable: detected again, with its one event.
            assert_eq!(
                (again.code, again.summary["outcome"].as_str()),
                (2, Some("diverged")),
                "{point}"
            );
            assert_eq!(events, 1, "{point}: {}", again.stderr);
            assert!(
                list(&rig.state)
                    .iter()
                    .all(|n| !n.starts_with("incident.tmp-")),
                "GC"
            );
        } else {
            // The latch was durable: it holds (the crashed run could not announce it).
            assert_eq!(
                (again.code, again.summary["outcome"].as_str()),
                (2, Some("latched")),
                "{point}"
            );
            assert_eq!(events, 0, "{point}");
        }
        assert_eq!(rig.file("incident/divergence.json").lines().count(), 1);
    }
}

#[test]
fn a_crash_while_clearing_leaves_the_incident_latched_until_cleared_again() {
    let rig = initialized();
    rig.serve_tampered(12, 40);
    assert_eq!(run(&rig, &["tick"], None).code, 2);
    let clear = ["clear", "--block", "12", "--reason", "fixed"];
    let crashed = run(&rig, &clear, Some("clear.before_rename=panic"));
    assert_eq!(crashed.code, 1);
    assert!(rig.state.join("incident").is_dir());
    assert_eq!(run(&rig, &["tick"], None).summary["outcome"], "latched");
    let cleared = run(&rig, &clear, None);
    assert_eq!(cleared.code, 0, "{}", cleared.summary);
    assert_eq!(list(&rig.state.join("incidents")).len(), 1);
}

#[test]
fn a_head_published_during_a_replay_makes_it_source_changed() {
    let scenario = fail::FailScenario::setup();
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_canonical(12);

    let ticked = Arc::new(Mutex::new(None::<String>));
    let tick = {
        let wd = rig.watchdog();
        let ticked = ticked.clone();
        move || {
            let mut events = Vec::new();
            let summary = wd.tick(&mut events);
            *ticked.lock().unwrap() = Some(summary.line());
        }
    };
    fail::cfg_callback("replay.before_copy", tick).unwrap();

    let out = rig.tmp.path().join("out");
    let error = rig
        .watchdog()
        .replay(&ReplayOptions {
            from_block: B0,
            to_block: 12,
            out: out.clone(),
            from_checkpoint: None,
        })
        .expect_err("the source vanished under the replay");
    fail::remove("replay.before_copy");

    let tick = ticked
        .lock()
        .unwrap()
        .clone()
        .expect("the fail point ran the tick");
    assert!(tick.contains("\"outcome\":\"agreed\""), "{tick}");
    assert_eq!(
        (error.class().as_str(), error.reason().as_str()),
        ("transient", "source_changed"),
        "{error}"
    );
    assert!(!out.exists(), "the partial --out is removed");
    assert!(
        rig.file("head.json").contains("\"block\":12"),
        "the tick's head stands"
    );

    // Rerun, as the message says: the new head is the source now.
    let again = rig
        .watchdog()
        .replay(&ReplayOptions {
            from_block: 12,
            to_block: 12,
            out: out.clone(),
            from_checkpoint: None,
        })
        .unwrap();
    assert_eq!(again.outcome().as_str(), "replayed", "{}", again.line());
    scenario.teardown();
}

/// The binary on the Cartesi backend (the stub of `c`), with extra environment `env`.
fn run_cartesi(c: &cartesi_rig::CartesiRig, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sequencer-watchdog"));
    c.operator_env(cmd.args(args));
    cmd.envs(env.iter().copied());
    let failpoints = env
        .iter()
        .find(|(k, _)| *k == "FAILPOINTS")
        .map(|(_, v)| *v);
    wait(cmd, args, failpoints)
}

fn cartesi_initialized(api: cartesi_machine_stub::StubApi) -> cartesi_rig::CartesiRig {
    let c = cartesi_rig::CartesiRig::new(api, &cartesi_rig::INPUTS);
    let template = c.template.display().to_string();
    let b0 = B0.to_string();
    let init = [
        "init",
        "--snapshot-dir",
        &template,
        "--snapshot-safe-block",
        &b0,
    ];
    let r = run_cartesi(&c, &init, &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.summary, r.stderr);
    c
}

/// What a tick must leave as it was when it cannot decide: everything but its own bookkeeping
/// (`last_tick.json`, `status.prom`, the learned span, the lock) and the workspace it leaves
/// for the next tick's GC after an internal failure.
fn durable_state(rig: &Rig) -> Vec<(String, Option<String>)> {
    let bookkeeping = ["run.lock", "last_tick.json", "status.prom", "l1_span.json"];
    rig::tree(&rig.state, &bookkeeping)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("checkpoints/.tmp-"))
        .collect()
}

const STUBS: [cartesi_machine_stub::StubApi; 2] = [
    cartesi_machine_stub::StubApi::V19,
    cartesi_machine_stub::StubApi::V21,
];

/// A crash between two inputs, or while the new checkpoint's machine is published: the next
/// tick starts over from the durable head and reaches the same verdict.
#[test]
fn a_crash_mid_tick_on_the_cartesi_backend_resumes_with_the_same_verdict() {
    for api in STUBS {
        for point in [
            "feed.after_input=1*off->panic",
            "machine.publish.after_sync=panic",
        ] {
            let c = cartesi_initialized(api);
            c.serve(7);
            let crashed = run_cartesi(&c, &["tick"], &[("FAILPOINTS", point)]);
            assert_eq!(
                (crashed.code, crashed.summary["reason"].as_str()),
                (1, Some("panic")),
                "{api:?} {point}: {}\n{}",
                crashed.summary,
                crashed.stderr
            );
            assert_eq!(head_block(&c.rig), B0, "{api:?} {point}");
            let resumed = run_cartesi(&c, &["tick"], &[]);
            assert_eq!(
                (resumed.code, resumed.summary["outcome"].as_str()),
                (0, Some("agreed")),
                "{api:?} {point}: {}\n{}",
                resumed.summary,
                resumed.stderr
            );
            assert!(!resumed.stderr.contains("watchdog_event"));
            assert_eq!(head_block(&c.rig), 7, "{api:?} {point}");
            let last: serde_json::Value =
                serde_json::from_str(&c.rig.file("last_tick.json")).unwrap();
            assert_eq!(last["machine"]["rejected"], 1, "{last}");
        }
    }
}

/// A revert that cannot be trusted (the library reloads something else than it stored) or
/// cannot be done (the reload fails) ends the tick undecided, exit 1, with the state directory
/// as it was; the next tick, on a sane library, agrees.
#[test]
fn a_revert_that_cannot_be_trusted_or_done_fails_the_tick_and_keeps_the_state() {
    // The head load is the first, the reload of the revert base for the reject the second.
    let faults: [(&str, &str, &str, &str); 2] = [
        ("CM_STUB_PERTURB_LOAD", "1", "internal", "revert_failed"),
        (
            "CM_STUB_INJECT",
            "cm_load_new@1",
            "operator",
            "checkpoint_corrupt",
        ),
    ];
    for api in STUBS {
        for (name, value, class, reason) in faults {
            let c = cartesi_initialized(api);
            c.serve(7);
            let before = durable_state(&c.rig);
            let failed = run_cartesi(&c, &["tick"], &[(name, value)]);
            assert_eq!(
                (failed.code, failed.summary["class"].as_str()),
                (1, Some(class)),
                "{api:?} {name}={value}: {}\n{}",
                failed.summary,
                failed.stderr
            );
            assert_eq!(failed.summary["reason"], reason, "{api:?} {name}");
            assert_eq!(durable_state(&c.rig), before, "{api:?} {name}={value}");
            let again = run_cartesi(&c, &["tick"], &[]);
            assert_eq!(again.summary["outcome"], "agreed", "{api:?} {name}");
        }
    }
}

/// A failed store of a new revert base only costs that refresh: the journal still leads back,
/// and the tick agrees.
#[test]
fn a_failed_refresh_of_the_revert_base_does_not_change_the_verdict() {
    for api in STUBS {
        let c = cartesi_initialized(api);
        c.serve(7);
        // The first store of the tick is the refresh after the reject's replay.
        let ticked = run_cartesi(&c, &["tick"], &[("CM_STUB_INJECT", "cm_store")]);
        assert_eq!(
            (ticked.code, ticked.summary["outcome"].as_str()),
            (0, Some("agreed")),
            "{api:?}: {}\n{}",
            ticked.summary,
            ticked.stderr
        );
        assert!(
            ticked.stderr.contains("cannot refresh the revert base"),
            "{}",
            ticked.stderr
        );
    }
}

#[test]
fn a_recovery_panic_is_an_internal_failure_never_a_divergence() {
    let rig = initialized_with(many_ops_inputs(24));
    rig.serve_canonical(12);
    let before = rig::tree(&rig.state, &[]);
    // Every signature recovery after the third panics, so the fold meets one whichever
    // thread (a recovery worker or the machine's) runs it.
    let failed = run(&rig, &["tick"], Some("canonical.recover=3*off->panic"));
    assert_eq!(failed.code, 1, "{}\n{}", failed.summary, failed.stderr);
    assert_eq!(failed.summary["outcome"], "failed");
    assert_eq!(failed.summary["class"], "internal");
    assert_eq!(failed.summary["reason"], "panic");
    let message = failed.summary["message"].as_str().unwrap();
    assert!(message.contains("signature recovery panicked"), "{message}");
    assert!(
        !failed.stderr.contains("watchdog_event"),
        "{}",
        failed.stderr
    );
    assert!(!rig.state.join("incident").exists(), "no incident latched");
    assert_eq!(head_block(&rig), B0, "the head did not move");
    // Only the tick's own records changed and its workspace is left for the next run's GC;
    // the head, the checkpoints and the latch did not change.
    let durable = |tree: Vec<(String, Option<String>)>| {
        tree.into_iter()
            .filter(|(name, _)| {
                !["last_tick.json", "status.prom"].contains(&name.as_str())
                    && !name.starts_with("checkpoints/.tmp-")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(durable(rig::tree(&rig.state, &[])), durable(before));

    // The same inputs without the injection: replayed and agreed.
    let again = run(&rig, &["tick"], None);
    assert_eq!(
        (again.code, again.summary["outcome"].as_str()),
        (0, Some("agreed")),
        "{}\n{}",
        again.summary,
        again.stderr
    );
    assert_eq!(head_block(&rig), 12);
}
