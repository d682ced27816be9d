//! `replay` is lock-free (spec §6.4): a tick may publish a new head and collect the old
//! checkpoint while a replay copies it. The fail point `replay.before_copy` runs that tick
//! at the exact moment between reading the source's manifest and copying its machine, so the
//! race is deterministic: replay ends `transient/source_changed`, removes its `--out`, and
//! the state directory holds the tick's new head.
//!
//! Its own test binary: the fail-point registry is process-wide.
#![cfg(feature = "failpoints")]

// Shared with the `it` test binary, which uses all of them.
#[allow(dead_code)]
#[path = "it/fake_sequencer.rs"]
mod fake_sequencer;
#[allow(dead_code)]
#[path = "it/l1_rpc.rs"]
mod l1_rpc;
#[allow(dead_code)]
#[path = "it/rig.rs"]
mod rig;

use std::sync::{Arc, Mutex};

use rig::{B0, Rig, wallet_inputs};
use watchdog::ReplayOptions;

#[test]
fn a_head_published_during_replay_is_source_changed() {
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
