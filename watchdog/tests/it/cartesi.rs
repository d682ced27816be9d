//! The watchdog on the Cartesi backend, end to end, on both generations of the libcartesi stub:
//! `init` from a stored template checked against the on-chain template hash, ticks agreeing
//! over inputs including a rejected one, what `last_tick.json` and `status` say about the
//! machine, `replay --out` giving a bootstrap that `init` accepts through its lineage, a
//! divergence, a machine that dies on an exception, and bad bootstraps refused with nothing
//! written.

use cartesi_machine_stub::StubApi;
use machine::{Machine, RunControl};
use serde_json::Value;
use watchdog::{ReplayOptions, Summary, Watchdog};

use crate::cartesi_rig::{CartesiRig, DEAD_INPUTS, INPUTS};
use crate::rig::{B0, list, tree};

const BOTH: [StubApi; 2] = [StubApi::V19, StubApi::V21];

fn expect(summary: &Summary, outcome: &str, exit: u8) {
    assert_eq!(summary.outcome().as_str(), outcome, "{}", summary.line());
    assert_eq!(summary.exit_code(), exit, "{}", summary.line());
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn generation(api: StubApi) -> &'static str {
    match api {
        StubApi::V19 => "0.19",
        _ => "0.21",
    }
}

#[test]
fn init_ticks_replay_and_a_divergence_on_the_cartesi_backend() {
    for api in BOTH {
        end_to_end(api);
    }
}

fn end_to_end(api: StubApi) {
    let c = CartesiRig::new(api, &INPUTS);
    let rig = &c.rig;
    // The template's root hash is the application's on-chain template hash.
    expect(&c.init(), "initialized", 0);
    let bootstrap = rig
        .state
        .join("checkpoints/00000000000000000002-00000000000000000000");
    let manifest = json(&std::fs::read_to_string(bootstrap.join("manifest.json")).unwrap());
    assert_eq!(manifest["machine_backend"], "cartesi");
    assert_eq!(manifest["template_hash"], manifest["machine_root_hash"]);
    let status = json(&c.watchdog().status().line());
    assert_eq!(status["identity"]["machine_backend"], "cartesi", "{status}");
    // The binary, configured as an operator would, says the same.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sequencer-watchdog"));
    let output = c.operator_env(cmd.arg("status")).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let printed = json(String::from_utf8(output.stdout).unwrap().trim_end());
    assert_eq!(printed["identity"], status["identity"]);

    // The bootstrap compare at B0.
    c.serve(B0);
    expect(&c.tick().0, "agreed", 0);

    // The head is the bootstrap: replay it to block 7 into a new directory.
    let out = rig.tmp.path().join("replayed");
    let replayed = c
        .watchdog()
        .replay(&ReplayOptions {
            from_block: B0,
            to_block: 7,
            out: out.clone(),
            from_checkpoint: None,
        })
        .unwrap();
    expect(&replayed, "replayed", 0);
    assert_eq!(
        std::fs::read(out.join("state.bin")).unwrap(),
        c.canonical(7).1
    );
    let lineage = json(&std::fs::read_to_string(out.join("manifest.json")).unwrap());
    assert_eq!(lineage["template_hash"], manifest["template_hash"]);

    // Blocks 3..=7: hello, a reject, world.
    c.serve(7);
    let (summary, events) = c.tick();
    expect(&summary, "agreed", 0);
    assert!(events.is_empty());
    assert_eq!(json(&summary.line())["inputs_replayed"], 3);
    let last = json(&rig.file("last_tick.json"));
    let machine = &last["machine"];
    assert_eq!(machine["backend"], "cartesi", "{last}");
    assert_eq!(machine["generation"], generation(api));
    assert!(machine["libcartesi_version"].is_string(), "{machine}");
    // The head loaded once; the reject reloaded the base once and re-ran `hello`, then stored
    // a base there; `world` went into the journal, so the state query stored a base for its
    // copy (the third load); the checkpoint is the third store.
    let counts: Vec<u64> = [
        "inputs_fed",
        "accepted",
        "rejected",
        "stores",
        "loads",
        "replayed",
    ]
    .iter()
    .map(|key| machine[key].as_u64().unwrap())
    .collect();
    assert_eq!(counts, [3, 2, 1, 3, 3, 1], "{api:?}: {machine}");
    let status = json(&c.watchdog().status().line());
    assert_eq!(status["last_tick"]["machine"], *machine);
    let head = json(&rig.file("head.json"));
    assert_eq!(
        (head["block"].as_u64(), head["input_count"].as_u64()),
        (Some(7), Some(3))
    );
    let checkpoint = rig.state.join(head["checkpoint"].as_str().unwrap());
    let agreed = json(&std::fs::read_to_string(checkpoint.join("manifest.json")).unwrap());
    assert_eq!(
        agreed["template_hash"], manifest["template_hash"],
        "lineage"
    );

    // The replayed machine bootstraps another state directory at block 7 through its lineage.
    let other = Watchdog::open(rig.tmp.path().join("other"), c.settings())
        .with_clock(std::sync::Arc::new(watchdog::FixedClock(crate::rig::T0)));
    let init = c.init_from(&other, &out.join("machine"), 7);
    expect(&init, "initialized", 0);
    assert_eq!(
        json(&init.line())["state_sha256"],
        json(&replayed.line())["sha256"]
    );

    // At block 12 the sequencer serves a wrong state: latched, with evidence, exit 2, one event.
    c.serve_tampered(12, 20);
    let (summary, events) = c.tick();
    expect(&summary, "diverged", 2);
    assert_eq!(events.lines().count(), 1, "{events}");
    let event = events
        .strip_prefix("watchdog_event ")
        .expect("an event line");
    let event = json(event.trim_end());
    assert_eq!(event["kind"], "state_mismatch");
    assert_ne!(event["canonical_sha256"], event["sequencer_sha256"]);
    let evidence = json(&rig.file("incident/evidence.json"));
    assert_eq!(evidence["collection"], "finished", "{evidence}");
    assert!(list(&rig.state.join("incident")).contains(&"canonical_machine".to_owned()));
    // Latched: exit 2 on every run, no second event.
    let (summary, events) = c.tick();
    expect(&summary, "latched", 2);
    assert!(events.is_empty());
}

#[test]
fn an_input_raising_an_exception_is_canonical_machine_dead() {
    for api in BOTH {
        let c = CartesiRig::new(api, &DEAD_INPUTS);
        expect(&c.init(), "initialized", 0);
        // The sequencer claims block 9 with all three inputs executed.
        let (_, state) = c.canonical(5);
        c.rig.serve(9, 3, state);
        let (summary, events) = c.tick();
        expect(&summary, "diverged", 2);
        assert_eq!(events.lines().count(), 1, "{events}");
        let event = json(events.strip_prefix("watchdog_event ").unwrap().trim_end());
        assert_eq!(event["kind"], "canonical_machine_dead");
        assert_eq!(event["stop"]["status"], "exception", "{event}");
        assert_eq!(event["stop"]["input_index"], 2);
        let last = json(&c.rig.file("last_tick.json"));
        assert_eq!(last["machine"]["rejected"], 1, "{last}");
    }
}

/// A template whose root is not the application's on-chain template hash, or not the
/// operator's pin: refused before anything is written, naming both hashes.
#[test]
fn a_bootstrap_off_the_template_hash_is_refused_with_nothing_written() {
    for api in BOTH {
        let c = CartesiRig::new(api, &INPUTS);
        std::fs::create_dir(&c.rig.state).unwrap();
        let onchain = c.rig.chain.lock().unwrap().template_hash;
        c.rig.chain.lock().unwrap().template_hash = alloy_primitives::B256::repeat_byte(7);
        let err = c
            .watchdog()
            .init(&watchdog::InitOptions {
                snapshot: Some(c.template.display().to_string()),
                snapshot_block: Some(B0),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(err.reason().as_str(), "template_hash_mismatch", "{err}");
        assert_eq!(err.class(), watchdog::Class::Operator);
        let message = err.message();
        assert!(message.contains(&"07".repeat(32)), "{message}");
        assert!(message.contains(&hex::encode(onchain)), "{message}");
        assert_eq!(tree(&c.rig.state, &["run.lock"]), [], "{api:?}");

        // The on-chain hash is right, the pin is not.
        c.rig.chain.lock().unwrap().template_hash = onchain;
        let err = c
            .watchdog()
            .init(&watchdog::InitOptions {
                snapshot: Some(c.template.display().to_string()),
                snapshot_block: Some(B0),
                cm_image_hash: Some(format!("0x{}", "ab".repeat(32))),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(err.reason().as_str(), "template_hash_mismatch", "{err}");
        assert!(err.message().contains("--cm-image-hash"));
        assert_eq!(tree(&c.rig.state, &["run.lock"]), []);

        // A machine after inputs without a lineage cannot be traced to the template.
        let after = stored_after(&c, "hello", "after");
        let err = c
            .watchdog()
            .init(&watchdog::InitOptions {
                snapshot: Some(after.display().to_string()),
                snapshot_block: Some(3),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(err.reason().as_str(), "template_hash_unknown", "{err}");
        assert_eq!(tree(&c.rig.state, &["run.lock"]), []);
    }
}

/// A copy of the template fed `payload`, stored in `<tmp>/<name>/machine`.
fn stored_after(c: &CartesiRig, payload: &str, name: &str) -> std::path::PathBuf {
    let work = c.rig.tmp.path().join(format!("{name}-work"));
    std::fs::create_dir_all(&work).unwrap();
    let mut m = CartesiRig::backend(c.api, &work)
        .load_machine(&c.template)
        .unwrap();
    let input = c.rig.chain.lock().unwrap().inputs[0].advance();
    let input = canonical::EvmAdvance {
        payload: payload.as_bytes().to_vec().into(),
        ..input
    };
    m.advance(&input.encode(), &RunControl::default()).unwrap();
    let dir = c.rig.tmp.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    m.store(&dir.join("machine")).unwrap();
    dir.join("machine")
}

/// Bootstraps that are no rollup template waiting for input: a machine dead at an exception,
/// and (0.19) one with a shared backing store. Each is an operator error, nothing written.
#[test]
fn a_bootstrap_not_waiting_for_input_or_sharing_its_files_is_refused() {
    for api in BOTH {
        let c = CartesiRig::new(api, &INPUTS);
        std::fs::create_dir(&c.rig.state).unwrap();
        let dead = stored_after(&c, "exception", "dead");
        let err = c
            .watchdog()
            .init(&watchdog::InitOptions {
                snapshot: Some(dead.display().to_string()),
                snapshot_block: Some(B0),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(
            (err.class(), err.reason().as_str()),
            (watchdog::Class::Operator, "checkpoint_corrupt"),
            "{err}"
        );
        assert!(err.message().contains("not waiting for input"), "{err}");
        assert_eq!(tree(&c.rig.state, &["run.lock"]), []);
    }
    let c = CartesiRig::new(StubApi::V19, &INPUTS);
    std::fs::create_dir(&c.rig.state).unwrap();
    let config = c.template.join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    let shared = text.replace("\"config\":{}", "\"config\":{\"shared\":true}");
    assert_ne!(shared, text);
    std::fs::write(&config, shared).unwrap();
    let err = c.init_result();
    assert_eq!(err.reason().as_str(), "checkpoint_corrupt", "{err}");
    assert!(err.message().contains("shared backing store"), "{err}");
    assert_eq!(tree(&c.rig.state, &["run.lock"]), []);
}

impl CartesiRig {
    fn init_result(&self) -> watchdog::Error {
        self.watchdog()
            .init(&watchdog::InitOptions {
                snapshot: Some(self.template.display().to_string()),
                snapshot_block: Some(B0),
                ..Default::default()
            })
            .unwrap_err()
    }
}

/// `--state-source range:state`: on 0.21 the state is the labeled memory range, read without a
/// copy of the machine, and the ticks agree; 0.19 has no labeled ranges, which `init` reports.
/// The backend is injected (`Watchdog::with_backend`) rather than configured.
#[test]
fn the_state_can_be_a_labeled_memory_range_on_0_21() {
    let c = CartesiRig::with_range(StubApi::V21, &INPUTS);
    let work = c.rig.tmp.path().join("injected-work");
    std::fs::create_dir(&work).unwrap();
    let injected = std::sync::Arc::new(CartesiRig::backend(StubApi::V21, &work));
    let watchdog = || c.watchdog().with_backend(injected.clone());
    let init = c.init_from(&watchdog(), &c.template, B0);
    expect(&init, "initialized", 0);
    let config = json(&c.rig.file("config.json"));
    assert_eq!(config["identity"]["state_source"], "range:state");
    c.serve(7);
    let mut events = Vec::new();
    let summary = watchdog().tick(&mut events);
    expect(&summary, "agreed", 0);
    let last = json(&c.rig.file("last_tick.json"));
    // No inspect: the range is read from the live machine, so no copy is loaded for it.
    assert_eq!(last["machine"]["loads"], 2, "{last}");

    let c = CartesiRig::with_range(StubApi::V19, &INPUTS);
    std::fs::create_dir(&c.rig.state).unwrap();
    let err = c.init_result();
    assert_eq!(err.reason().as_str(), "state_extraction_failed", "{err}");
    assert_eq!(tree(&c.rig.state, &["run.lock"]), []);
}
