//! Finality lag and `init` before the application is safe, against the loopback doubles: what
//! a tick learns about the sequencer's finality, the stall outcome (exit 1, class `liveness`,
//! never 2), the L1 request cost, and the typed failures of the new calls.

use serde_json::Value;
use watchdog::{Summary, liveness::DEFAULT_MAX_FINALITY_LAG_BLOCKS};

use watchdog::testing::l1::{HEAD, input_at};

use crate::{
    rig::{Rig, wallet_inputs},
    run_in,
};

fn last_tick(rig: &Rig) -> Value {
    serde_json::from_str(&rig.file("last_tick.json")).unwrap()
}

fn expect(summary: &Summary, outcome: &str, exit: u8) {
    assert_eq!(summary.outcome().as_str(), outcome, "{}", summary.line());
    assert_eq!(summary.exit_code(), exit, "{}", summary.line());
}

fn summary_json(summary: &Summary) -> Value {
    serde_json::from_str(&summary.line()).unwrap()
}

/// Initialized, and agreed with the sequencer at block 12 (every input of the wallet chain).
fn agreed() -> Rig {
    let rig = Rig::initialized(wallet_inputs());
    rig.serve_canonical(12);
    let (summary, _) = rig.tick();
    expect(&summary, "agreed", 0);
    rig
}

#[test]
fn every_tick_reports_the_l1_head_and_the_sequencers_finality() {
    let rig = agreed();
    let (summary, _) = rig.tick();
    expect(&summary, "idle", 0);
    let live = &summary_json(&summary)["liveness"];
    assert_eq!(live["l1_head_block"], HEAD);
    assert_eq!(live["l1_input_count"], 5);
    assert_eq!(live["sequencer_inclusion_block"], 12);
    assert_eq!(live["sequencer_input_count"], 5);
    assert_eq!(live["pending_inputs"], 0);
    assert_eq!(live["oldest_pending_block"], Value::Null);
    assert_eq!(live["finality_lag_blocks"], 0);
    assert_eq!(
        live["max_finality_lag_blocks"],
        DEFAULT_MAX_FINALITY_LAG_BLOCKS
    );
    assert_eq!(&last_tick(&rig)["liveness"], live);
    // Two cheap L1 requests beside the sequencer poll.
    assert_eq!(last_tick(&rig)["rpc_requests"]["l1"], 2);
    let prom = rig.file("status.prom");
    for line in [
        "cartesi_watchdog_l1_head_block{app_address=\"0x4ce6aac3fdd6e1d6e0d5d3fa2d44a4e2e7a1e083\",chain=\"31337\"} 20\n",
        "cartesi_watchdog_sequencer_inclusion_block{app_address=\"0x4ce6aac3fdd6e1d6e0d5d3fa2d44a4e2e7a1e083\",chain=\"31337\"} 12\n",
        "cartesi_watchdog_pending_inputs{app_address=\"0x4ce6aac3fdd6e1d6e0d5d3fa2d44a4e2e7a1e083\",chain=\"31337\"} 0\n",
        "cartesi_watchdog_finality_lag_blocks{app_address=\"0x4ce6aac3fdd6e1d6e0d5d3fa2d44a4e2e7a1e083\",chain=\"31337\"} 0\n",
        "cartesi_watchdog_checked_block{app_address=\"0x4ce6aac3fdd6e1d6e0d5d3fa2d44a4e2e7a1e083\",chain=\"31337\"} 12\n",
    ] {
        assert!(prom.contains(line), "{line} not in\n{prom}");
    }
    // `status` shows the last measurement.
    let status = summary_json(&rig.watchdog().status());
    assert_eq!(&status["liveness"], live);
}

#[test]
fn an_input_older_than_the_threshold_is_a_stall_never_a_divergence() {
    let rig = agreed();
    // The chain grows to block 30; input 5 lands at block 24 and the sequencer never
    // finalizes it: the lag is 30 − 24 = 6.
    {
        let mut chain = rig.chain.lock().unwrap();
        chain.head = 30;
        chain.safe = 30;
        chain.inputs.push(input_at(5, 24, 0, 1, b"waits"));
    }
    let mut settings = rig.settings();
    settings.max_finality_lag_blocks = 5;
    let head_before = rig.file("head.json");
    let (summary, events) = rig.tick_with(settings.clone());
    expect(&summary, "failed", 1);
    assert!(events.is_empty(), "no watchdog_event: {events}");
    let line = summary_json(&summary);
    assert_eq!(line["class"], "liveness");
    assert_eq!(line["reason"], "sequencer_stalled");
    let message = line["message"].as_str().unwrap();
    assert!(
        message.contains("input 5 (L1 block 24) for 6 blocks, over the limit of 5"),
        "{message}"
    );
    let live = &line["liveness"];
    assert_eq!(live["pending_inputs"], 1);
    assert_eq!(live["oldest_pending_block"], 24);
    assert_eq!(live["finality_lag_blocks"], 6);
    assert_eq!(
        rig.file("head.json"),
        head_before,
        "a stall changes no state"
    );
    assert_eq!(last_tick(&rig)["class"], "liveness");
    // The oldest pending input's block cost index-filtered eth_getLogs over the blocks after
    // the previous tick's head (21..=30), halved under the double's 4-block cap: [21, 30]
    // refused, [21, 25] refused, [21, 23] empty, [24, 25] found; plus the two probe requests.
    assert_eq!(last_tick(&rig)["rpc_requests"]["l1"], 6);
    let prom = rig.file("status.prom");
    assert!(prom.contains("state=\"warning\"} 1\n"), "{prom}");
    assert!(prom.contains("state=\"failed\"} 0\n"), "{prom}");
    assert!(prom.contains("cartesi_watchdog_finality_lag_blocks{app_address=\"0x4ce6aac3fdd6e1d6e0d5d3fa2d44a4e2e7a1e083\",chain=\"31337\"} 6\n"));
    assert!(prom.contains("cartesi_watchdog_max_finality_lag_blocks{app_address=\"0x4ce6aac3fdd6e1d6e0d5d3fa2d44a4e2e7a1e083\",chain=\"31337\"} 5\n"));

    // The same stall again: the input's block is remembered, two requests suffice.
    let (summary, _) = rig.tick_with(settings.clone());
    expect(&summary, "failed", 1);
    assert_eq!(last_tick(&rig)["rpc_requests"]["l1"], 2);

    // Under a looser threshold the pending input is fine: idle, exit 0.
    settings.max_finality_lag_blocks = 6;
    let (summary, _) = rig.tick_with(settings);
    expect(&summary, "idle", 0);
    assert_eq!(summary_json(&summary)["liveness"]["pending_inputs"], 1);

    // Once the sequencer finalizes it, nothing is pending.
    rig.serve_canonical(24);
    let (summary, _) = rig.tick();
    expect(&summary, "agreed", 0);
    let live = &summary_json(&summary)["liveness"];
    assert_eq!(live["pending_inputs"], 0);
    assert_eq!(live["sequencer_inclusion_block"], 24);
    assert_eq!(live["finality_lag_blocks"], 0);
}

#[test]
fn an_l1_failing_the_new_calls_is_transient_and_changes_nothing() {
    let rig = agreed();
    let head = rig.file("head.json");
    let mut settings = rig.settings();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    settings.rpc_url =
        Some(sequencer_client::RedactedUrl::parse(&format!("http://{closed}")).unwrap());
    let (summary, _) = rig.tick_with(settings);
    expect(&summary, "failed", 1);
    assert_eq!(summary_json(&summary)["class"], "transient");
    assert_eq!(summary_json(&summary)["reason"], "l1_unavailable");
    assert_eq!(rig.file("head.json"), head);

    // An input the count announces but that no eth_getLogs after the sequencer's block
    // returns (the double places it at block 11, below the finalized block 12):
    // `l1_incomplete`, neither a stall nor a divergence.
    rig.chain
        .lock()
        .unwrap()
        .inputs
        .push(input_at(5, 11, 9, 9, b"hidden"));
    let (summary, _) = rig.tick();
    expect(&summary, "failed", 1);
    assert_eq!(summary_json(&summary)["class"], "transient");
    assert_eq!(summary_json(&summary)["reason"], "l1_incomplete");
    assert_eq!(rig.file("head.json"), head);
}

#[test]
fn zero_or_absurd_thresholds_are_usage_errors() {
    let rig = agreed();
    let tick = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["tick"];
        all.extend_from_slice(args);
        let state = rig.state.display().to_string();
        let l1 = rig.l1_url();
        let mut vars = vec![
            ("CARTESI_WATCHDOG_STATE_DIR", state.as_str()),
            ("CARTESI_WATCHDOG_BLOCKCHAIN_HTTP_ENDPOINT", l1.as_str()),
        ];
        vars.extend_from_slice(env);
        run_in(rig.tmp.path(), &all, &vars, b"")
    };
    for (args, env) in [
        (&["--max-finality-lag-blocks", "0"][..], &[][..]),
        (&["--max-finality-lag-blocks", "100001"][..], &[][..]),
        (&["--max-finality-lag-blocks", "-3"][..], &[][..]),
        (
            &[][..],
            &[("CARTESI_WATCHDOG_MAX_FINALITY_LAG_BLOCKS", "0")][..],
        ),
        (
            &[][..],
            &[(
                "CARTESI_WATCHDOG_MAX_FINALITY_LAG_BLOCKS",
                "18446744073709551615",
            )][..],
        ),
    ] {
        let run = tick(args, env);
        assert_eq!(run.code, 1, "{args:?} {env:?}: {}", run.stdout);
        let summary = run.summary_json();
        assert_eq!(summary["class"], "operator", "{}", run.stdout);
        assert_eq!(summary["reason"], "usage", "{}", run.stdout);
    }
    // A sane value passes through the flag and the environment alike.
    let run = tick(&["--max-finality-lag-blocks", "7"], &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.summary_json()["liveness"]["max_finality_lag_blocks"], 7);
    let run = tick(&[], &[("CARTESI_WATCHDOG_MAX_FINALITY_LAG_BLOCKS", "9")]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.summary_json()["liveness"]["max_finality_lag_blocks"], 9);
}

/// `init` from genesis at B0, which must fail.
fn failed_init(rig: &Rig) -> watchdog::Error {
    rig.watchdog()
        .init(&watchdog::InitOptions {
            snapshot: Some("genesis:devnet".into()),
            snapshot_block: Some(crate::rig::B0),
            ..Default::default()
        })
        .unwrap_err()
}

#[test]
fn init_before_the_application_is_safe_is_transient_then_succeeds() {
    let rig = Rig::new(wallet_inputs());
    {
        let mut chain = rig.chain.lock().unwrap();
        chain.app_deployed_at = 15;
        chain.safe = 14;
    }
    let error = failed_init(&rig);
    assert_eq!(error.class(), watchdog::Class::Transient, "{error}");
    assert_eq!(error.reason().as_str(), "application_not_safe", "{error}");
    let message = error.to_string();
    assert!(
        message.contains("deployed at block 15, above the L1 safe block 14"),
        "{message}"
    );
    assert!(
        !rig.state.join("head.json").exists(),
        "nothing initialized yet"
    );

    // Once the safe head reaches the deployment block, init succeeds.
    rig.chain.lock().unwrap().safe = 15;
    let init = rig.init();
    assert_eq!(init.outcome().as_str(), "initialized", "{}", init.line());

    // An address with no code even at `latest` is still a configuration error.
    let rig = Rig::new(wallet_inputs());
    rig.chain.lock().unwrap().app_deployed_at = HEAD + 1;
    let error = failed_init(&rig);
    assert_eq!(error.class(), watchdog::Class::Operator, "{error}");
}
