//! The `attach` backend against a `local` stack that already has history (the contracts, a
//! deposit, a transfer): capabilities are probed, `genesis-agree` passes, and every scenario
//! that adds L1 inputs is `skipped(L1Inputs)` without deploying.

use devnet_pins::{ANVIL_ADDRESSES, addresses};
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

/// A staging rehearsal: a second local stack on another chain (11 155 111, Sepolia's id) whose
/// sequencer runs the `sepolia` wallet configuration. `attach` finds out the chain from the
/// node, the InputBox from the application and the wallet configuration from the sequencer's
/// finalized state; `genesis-agree` passes there, and `image-tick` runs the watchdog image
/// against the same endpoints (skipped, saying why, when no engine or image is here outside
/// CI).
#[tokio::test]
async fn attach_to_a_stack_on_another_chain_with_another_wallet_configuration() {
    const CHAIN: u64 = 11_155_111;
    let staging = Harness::start(StackOptions {
        chain_id: Some(CHAIN),
        wallet_config: Some("sepolia".into()),
        ..StackOptions::default()
    })
    .await
    .expect("a local stack on chain 11155111");
    assert_eq!(staging.deployment().chain_id(), CHAIN);
    let net = staging.deployment();
    let target = AttachTarget::parse(net.url(Edge::ClientToL1), net.url(Edge::ClientToSeq), None)
        .expect("loopback URLs");

    let identity = target.deployer().identify().await.expect("identified");
    assert_eq!(identity.chain_id, CHAIN);
    assert_eq!(identity.app, addresses::APPLICATION);
    assert_eq!(
        identity.input_box,
        addresses::INPUT_BOX,
        "read from the application"
    );
    assert_eq!(
        identity.wallet_config, "sepolia",
        "read from the served state"
    );
    assert_eq!(identity.genesis(), "genesis:sepolia");
    let attach = |app, wallet: Option<&str>| {
        target
            .clone()
            .with_app(app)
            .with_wallet_config(wallet.map(str::to_owned))
            .deployer()
    };
    let named = attach(None, Some("devnet")).identify().await;
    assert_eq!(
        named.expect("a named configuration").wallet_config,
        "devnet",
        "a name wins over the state"
    );
    let unknown = attach(None, Some("mainnet")).identify().await;
    let unknown = unknown.expect_err("no such configuration");
    assert!(
        unknown.to_string().contains("unknown wallet configuration"),
        "{unknown}"
    );
    let not_an_app = attach(Some(ANVIL_ADDRESSES[5]), None).identify().await;
    let not_an_app = not_an_app.expect_err("an account is no application");
    assert!(not_an_app.to_string().contains("InputBox"), "{not_an_app}");

    let options = RunOptions {
        backend: Backend::Attach,
        attach: Some(target),
        ..RunOptions::from_env().expect("DEVNET_SEED / DEVNET_KEEP")
    };
    let verdict = devnet_scenarios::run_with("genesis-agree", &options)
        .await
        .expect("a registered scenario");
    assert!(verdict.passed(), "\n{}", verdict.failure_report());
    let verdict = devnet_scenarios::run_with("image-tick", &options)
        .await
        .expect("a registered scenario");
    if !super::image_skipped(&verdict) {
        assert!(verdict.passed(), "\n{}", verdict.failure_report());
        let ticks = verdict
            .evidence
            .watchdog
            .iter()
            .filter(|run| run.args == "tick")
            .count();
        assert_eq!(ticks, 2, "one tick in the image, one on the host");
    }
    staging.shutdown().await.expect("teardown");
}
