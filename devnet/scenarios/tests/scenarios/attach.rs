//! The `attach` backend against a `local` stack that already has history (the contracts, a
//! deposit, a transfer): capabilities are probed, `genesis-agree` passes, and every scenario
//! that adds L1 inputs is `skipped(L1Inputs)` without deploying.

use devnet_scenarios::deploy::{Backend, Caps};
use devnet_scenarios::topology::Edge;
use devnet_scenarios::{
    AttachTarget, Harness, NeedsCap, RunOptions, SCENARIOS, StackOptions, Status,
};

/// The faults armed on the sequencer behind `control` (`GET /faults`).
async fn armed(control: &str) -> Vec<String> {
    let body: serde_json::Value = reqwest::get(format!("{control}/faults"))
        .await
        .expect("GET /faults")
        .json()
        .await
        .expect("a JSON fault list");
    serde_json::from_value(body["faults"].clone()).expect("a list of fault specs")
}

#[tokio::test]
async fn attach_to_a_local_stack_runs_genesis_agree_and_skips_input_scenarios() {
    let mut local = Harness::start(StackOptions::default())
        .await
        .expect("a local stack");
    local.deposit(1, 600_000).await.expect("a deposit");
    let transferred = local.transfer(1, 2, 400_000).await.expect("a transfer");
    let net = local.deployment();
    let control = net.sequencer().control_url().expect("a local control URL");
    let target = AttachTarget::parse(
        net.url(Edge::ClientToL1),
        net.url(Edge::ClientToSeq),
        Some(control),
    )
    .expect("loopback URLs");
    let caps = target.deployer().probe().await.expect("the probe");
    assert_eq!(
        caps,
        Caps::RPC_FAULTS | Caps::MINING | Caps::REORG | Caps::SEQ_FAULTS
    );
    let options = RunOptions {
        backend: Backend::Attach,
        attach: Some(target.clone()),
        ..RunOptions::from_env().expect("DEVNET_SEED / DEVNET_KEEP")
    };

    let verdict = devnet_scenarios::run_with("genesis-agree", &options)
        .await
        .expect("a registered scenario");
    assert!(verdict.passed(), "\n{}", verdict.failure_report());
    assert_eq!(verdict.backend, "attach");
    // The watchdog replayed the attached history from genesis: it agreed at or past the
    // block where the transfer was finalized.
    let tick = verdict
        .evidence
        .watchdog
        .iter()
        .find(|run| run.args == "tick")
        .expect("a recorded tick");
    let head = tick.summary["head_block"].as_u64().expect("a head block");
    assert!(
        head >= transferred,
        "agreed at {head}, before {transferred}"
    );

    for info in SCENARIOS
        .iter()
        .filter(|s| s.needs.contains(Caps::L1_INPUTS))
    {
        let verdict = devnet_scenarios::run_with(info.name, &options)
            .await
            .expect("a registered scenario");
        match verdict.status(false) {
            Status::Skipped { cap } => assert!(cap.contains("L1Inputs"), "{}: {cap}", info.name),
            other => panic!("{}: {other:?}, expected skipped(L1Inputs)", info.name),
        }
        assert!(
            verdict.checks.is_empty() && verdict.evidence.urls.is_empty(),
            "{}: a skipped scenario never deploys",
            info.name
        );
    }
    let runnable: Vec<_> = SCENARIOS
        .iter()
        .filter(|s| s.missing(caps).is_empty())
        .map(|s| s.name)
        .collect();
    assert_eq!(runnable, ["genesis-agree"], "the rest add L1 inputs");

    // On the attached stack the harness refuses inputs by capability, and faults it arms on
    // the sequencer it does not own are disarmed at shutdown.
    let attached = Harness::start(StackOptions {
        backend: Backend::Attach,
        attach: Some(target),
        ..StackOptions::default()
    })
    .await
    .expect("an attached harness");
    let err = attached
        .deposit_input(1, 1)
        .await
        .expect_err("no deposit on an attached L1");
    assert_eq!(
        err.downcast_ref::<NeedsCap>().map(|n| n.cap),
        Some(Caps::L1_INPUTS),
        "{err:#}"
    );
    attached.set_faults(&["tamper-state"]).await.expect("armed");
    assert_eq!(armed(control).await, ["tamper-state"]);
    attached.shutdown().await.expect("teardown");
    assert!(armed(control).await.is_empty(), "disarmed at shutdown");
    local.shutdown().await.expect("teardown");
}
