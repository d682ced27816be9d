//! Every named scenario (`devnet run <name>`) as a test on each backend that can run it: a
//! fresh stack each, the real `sequencer-watchdog` binary, and every expectation of the
//! scenario must hold (log hygiene included). `local` runs them all on anvil with the real
//! contracts; `in-process` runs every one whose capabilities the synthetic L1 offers (all but
//! `Evm`), the spec's † scenarios among them; `attach` (in [`attach`]) runs against a `local`
//! stack. `DEVNET_SEED` and `DEVNET_KEEP` apply as for `devnet run`; a failure prints the
//! seed, the evidence and the repro line.

mod attach;

use devnet_scenarios::deploy::{Backend, Caps, ComposeDeployer, InProcessDeployer, LocalDeployer};
use devnet_scenarios::{RunOptions, SCENARIOS, Status};

async fn scenario(name: &str, backend: Backend) {
    if backend == Backend::Compose
        && !COMPOSE_ALWAYS.contains(&name)
        && !devnet_scenarios::container::under_ci()
    {
        #[allow(clippy::print_stdout)] // the skip's reason belongs in the test output
        {
            println!("{name} on compose skipped: it runs under CI=true (it also runs on local)");
        }
        return;
    }
    let options = RunOptions {
        backend,
        ..RunOptions::from_env().expect("DEVNET_SEED / DEVNET_KEEP")
    };
    let verdict = devnet_scenarios::run_with(name, &options)
        .await
        .expect("a registered scenario");
    if image_skipped(&verdict) {
        return;
    }
    assert!(verdict.passed(), "\n{}", verdict.failure_report());
}

/// Whether `verdict` was skipped for want of the watchdog image, which is allowed outside CI
/// only (it prints why); under `CI=true` a missing engine or image fails.
pub(crate) fn image_skipped(verdict: &devnet_scenarios::Verdict) -> bool {
    match verdict.status(false) {
        Status::Skipped { cap } if cap == "Image" => {
            let why = verdict.evidence.notes.join("; ");
            assert!(
                !devnet_scenarios::container::under_ci(),
                "{}: the watchdog image is required under CI=true: {why}",
                verdict.name
            );
            #[allow(clippy::print_stdout)] // the skip's reason belongs in the test output
            {
                println!("{} skipped: {why}", verdict.name);
            }
            true
        }
        _ => false,
    }
}

/// One test per `name => test` pair on `backend`, and the list of names as `LIST`.
macro_rules! scenario_tests {
    ($backend:expr, $list:ident, { $($test:ident => $name:literal,)* }) => {
        const $list: &[&str] = &[$($name),*];
        $(
            #[tokio::test]
            async fn $test() {
                scenario($name, $backend).await;
            }
        )*
    };
}

scenario_tests!(Backend::Local, LOCAL, {
    genesis_agree => "genesis-agree",
    image_tick => "image-tick",
    deposit_transfer_withdraw => "deposit-transfer-withdraw",
    batch_close_agree => "batch-close-agree",
    idempotent_retick => "idempotent-retick",
    tampered_state => "tampered-state",
    tamper_body_digest_blind => "tamper-body-digest-blind",
    dropped_deposit => "dropped-deposit",
    wrong_fee => "wrong-fee",
    skipped_op => "skipped-op",
    regressed_inclusion => "regressed-inclusion",
    sequencer_stalled => "sequencer-stalled",
    log_range_cap => "log-range-cap",
    log_range_cap_suggest => "log-range-cap-suggest",
    sequencer_l1_faults => "sequencer-l1-faults",
    sequencer_outage => "sequencer-outage",
    sequencer_transient_matrix => "sequencer-transient-matrix",
    l1_outage => "l1-outage",
    kill_sequencer => "kill-sequencer",
    sequencer_upgrade => "sequencer-upgrade",
    concurrent_ticks => "concurrent-ticks",
    corrupt_checkpoint => "corrupt-checkpoint",
    clear_relatch => "clear-relatch",
    provider_disagreement => "provider-disagreement",
    torn_publish => "torn-publish",
    checkpoint_publish_crash => "checkpoint-publish-crash",
    legacy_shape_agree => "legacy-shape-agree",
    transient_matrix => "transient-matrix",
    chain_id_mismatch => "chain-id-mismatch",
    reorg_tip => "reorg-tip",
    reorg_below_safe => "reorg-below-safe",
    reorg_below_head => "reorg-below-head",
    chaos_no_false_divergence => "chaos-no-false-divergence",
});

scenario_tests!(Backend::InProcess, IN_PROCESS, {
    genesis_agree_in_process => "genesis-agree",
    deposit_transfer_withdraw_in_process => "deposit-transfer-withdraw",
    batch_close_agree_in_process => "batch-close-agree",
    idempotent_retick_in_process => "idempotent-retick",
    tampered_state_in_process => "tampered-state",
    tamper_body_digest_blind_in_process => "tamper-body-digest-blind",
    dropped_deposit_in_process => "dropped-deposit",
    wrong_fee_in_process => "wrong-fee",
    skipped_op_in_process => "skipped-op",
    regressed_inclusion_in_process => "regressed-inclusion",
    sequencer_stalled_in_process => "sequencer-stalled",
    log_range_cap_in_process => "log-range-cap",
    log_range_cap_suggest_in_process => "log-range-cap-suggest",
    sequencer_l1_faults_in_process => "sequencer-l1-faults",
    sequencer_outage_in_process => "sequencer-outage",
    sequencer_transient_matrix_in_process => "sequencer-transient-matrix",
    l1_outage_in_process => "l1-outage",
    kill_sequencer_in_process => "kill-sequencer",
    sequencer_upgrade_in_process => "sequencer-upgrade",
    concurrent_ticks_in_process => "concurrent-ticks",
    corrupt_checkpoint_in_process => "corrupt-checkpoint",
    clear_relatch_in_process => "clear-relatch",
    torn_publish_in_process => "torn-publish",
    checkpoint_publish_crash_in_process => "checkpoint-publish-crash",
    legacy_shape_agree_in_process => "legacy-shape-agree",
    transient_matrix_in_process => "transient-matrix",
    chain_id_mismatch_in_process => "chain-id-mismatch",
    reorg_tip_in_process => "reorg-tip",
    reorg_below_safe_in_process => "reorg-below-safe",
    chaos_no_false_divergence_in_process => "chaos-no-false-divergence",
});

// On compose every scenario needs the engine and the images (`Image`): without them it is
// skipped with the reason printed, except under CI=true, where that fails. The partition drills
// and `genesis-agree` run wherever an engine has the images; the others that compose can run
// (each already runs on local) run under CI=true only, to keep a developer's `cargo test` short.
scenario_tests!(Backend::Compose, COMPOSE, {
    watchdog_l1_partition_compose => "watchdog-l1-partition",
    sequencer_l1_partition_compose => "sequencer-l1-partition",
    genesis_agree_compose => "genesis-agree",
    image_tick_compose => "image-tick",
    deposit_transfer_withdraw_compose => "deposit-transfer-withdraw",
    batch_close_agree_compose => "batch-close-agree",
    tampered_state_compose => "tampered-state",
    tamper_body_digest_blind_compose => "tamper-body-digest-blind",
    dropped_deposit_compose => "dropped-deposit",
    wrong_fee_compose => "wrong-fee",
    skipped_op_compose => "skipped-op",
    regressed_inclusion_compose => "regressed-inclusion",
    sequencer_stalled_compose => "sequencer-stalled",
    sequencer_outage_compose => "sequencer-outage",
    l1_outage_compose => "l1-outage",
    kill_sequencer_compose => "kill-sequencer",
    sequencer_upgrade_compose => "sequencer-upgrade",
    clear_relatch_compose => "clear-relatch",
    legacy_shape_agree_compose => "legacy-shape-agree",
    reorg_tip_compose => "reorg-tip",
    reorg_below_safe_compose => "reorg-below-safe",
    idempotent_retick_compose => "idempotent-retick",
    log_range_cap_compose => "log-range-cap",
    log_range_cap_suggest_compose => "log-range-cap-suggest",
    sequencer_l1_faults_compose => "sequencer-l1-faults",
    sequencer_transient_matrix_compose => "sequencer-transient-matrix",
    transient_matrix_compose => "transient-matrix",
    chain_id_mismatch_compose => "chain-id-mismatch",
    chaos_no_false_divergence_compose => "chaos-no-false-divergence",
});

/// What runs on compose outside CI too.
const COMPOSE_ALWAYS: &[&str] = &[
    "watchdog-l1-partition",
    "sequencer-l1-partition",
    "genesis-agree",
];

/// The spec's † scenarios (`devnet.md` §9): they must run on `in-process`.
const DAGGER: &[&str] = &[
    "genesis-agree",
    "deposit-transfer-withdraw",
    "batch-close-agree",
    "idempotent-retick",
    "tampered-state",
    "dropped-deposit",
    "wrong-fee",
    "skipped-op",
    "regressed-inclusion",
    "log-range-cap",
    "transient-matrix",
    "reorg-tip",
    "reorg-below-safe",
];

#[test]
fn every_scenario_has_a_test() {
    let registered: Vec<_> = SCENARIOS
        .iter()
        .filter(|s| s.missing(LocalDeployer::CAPS | Caps::IMAGE).is_empty())
        .map(|s| s.name)
        .collect();
    assert_eq!(
        registered, LOCAL,
        "local runs every scenario but Partition's"
    );
    let on_compose = ComposeDeployer::CAPS | Caps::IMAGE;
    let mut runnable: Vec<_> = SCENARIOS
        .iter()
        .filter(|s| s.missing(on_compose).is_empty())
        .map(|s| s.name)
        .collect();
    let mut listed = COMPOSE.to_vec();
    runnable.sort_unstable();
    listed.sort_unstable();
    assert_eq!(
        listed, runnable,
        "compose runs every scenario its capabilities allow"
    );
    for name in COMPOSE_ALWAYS {
        assert!(COMPOSE.contains(name), "{name} is a compose test");
    }
    let runnable: Vec<_> = SCENARIOS
        .iter()
        .filter(|s| s.missing(InProcessDeployer::CAPS).is_empty())
        .map(|s| s.name)
        .collect();
    assert_eq!(runnable, IN_PROCESS, "in-process runs all that need no Evm");
    for name in DAGGER {
        assert!(IN_PROCESS.contains(name), "† {name} must run in-process");
    }
}

/// A scenario needing `Evm` (a plain ETH transfer replayed into a reorg) never runs on the
/// synthetic L1: skipped with the capability, failed under `--strict`.
#[tokio::test]
async fn evm_scenarios_are_skipped_in_process_and_fail_under_strict() {
    for name in ["reorg-below-head", "provider-disagreement"] {
        let verdict =
            devnet_scenarios::run(name, Backend::InProcess, devnet_scenarios::Seed::default())
                .await
                .expect("a registered scenario");
        assert_eq!(
            verdict.status(false),
            Status::Skipped { cap: "Evm".into() },
            "{name}"
        );
        assert_eq!(verdict.status(true), Status::Failed, "{name}");
        assert!(!verdict.passed(), "{name}: skipped is never passed");
        assert!(
            verdict.checks.is_empty() && verdict.evidence.urls.is_empty(),
            "{name}: a skipped scenario never deploys"
        );
    }
}

/// Harness helpers a backend cannot serve name the capability they need instead of failing
/// somewhere deeper; the backend-neutral ones work.
#[tokio::test]
async fn anvil_only_helpers_name_the_missing_capability_in_process() {
    use devnet_scenarios::deploy::Caps;
    use devnet_scenarios::{Harness, NeedsCap, StackOptions};

    let h = Harness::start(StackOptions {
        backend: Backend::InProcess,
        ..StackOptions::default()
    })
    .await
    .expect("an in-process stack");
    assert_eq!(h.backend(), Backend::InProcess);
    let missing = h.devnet().expect_err("no anvil in-process");
    assert_eq!(missing.cap, Caps::EVM);
    let err = h
        .rewrite_blocks_evm(1, Vec::new())
        .await
        .expect_err("a raw EVM rewrite needs anvil");
    assert_eq!(
        err.downcast_ref::<NeedsCap>().map(|n| n.cap),
        Some(Caps::EVM),
        "{err:#}"
    );
    let landed = h
        .deposit_input(1, 1_000)
        .await
        .expect("a synthetic deposit");
    assert_eq!(h.block_number().await.unwrap(), landed.block);
    assert_eq!(h.input_count().await.unwrap(), landed.index + 1);
    let before = h.block_hash(landed.block).await.unwrap();
    let rewritten = h
        .rewrite_blocks(
            landed.block,
            &[(landed.tx, Some(h.deposit_tx(1, 500)))],
            Vec::new(),
        )
        .await
        .expect("a rewrite on the synthetic L1");
    assert_eq!(
        rewritten,
        [(
            landed.block,
            before,
            h.block_hash(landed.block).await.unwrap()
        )]
    );
    assert_ne!(rewritten[0].1, rewritten[0].2);
    h.shutdown().await.expect("teardown");
}

/// With proxies on both watchdog edges, every request lands in
/// `logs/proxy-<edge>.jsonl` of the scenario's directory, and the evidence holds the last
/// entries of each edge as JSON objects.
#[tokio::test]
async fn both_watchdog_edges_log_their_proxy_traffic() {
    use devnet_scenarios::{Harness, PROXY_TAIL_ENTRIES, StackOptions};
    use fault_proxy::{ProxyRules, RuleSet};

    let h = Harness::start(StackOptions {
        backend: Backend::InProcess,
        wd_l1_rules: Some(ProxyRules::default()),
        wd_seq_rules: Some(RuleSet::default()),
        ..StackOptions::default()
    })
    .await
    .expect("an in-process stack");
    h.watchdog(&["init"]).await.unwrap().expect_exit(0).unwrap();
    for _ in 0..8 {
        h.tick().await.unwrap().expect_exit(0).unwrap();
    }
    for (edge, count) in [
        (
            "wd-l1",
            h.wd_l1_proxy().unwrap().entries().await.unwrap().len(),
        ),
        (
            "wd-seq",
            h.wd_seq_proxy().unwrap().entries().await.unwrap().len(),
        ),
    ] {
        let path = h.dir().join(format!("logs/proxy-{edge}.jsonl"));
        let text = std::fs::read_to_string(&path).expect("the proxy log");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), count, "{edge}: one line per request");
        assert!(count > 0, "{edge}: the watchdog went through the proxy");
        assert!(lines.iter().all(|l| l["edge"] == edge), "{edge}");
    }
    let tails = h.evidence().await.proxy_tail;
    let edges: Vec<&str> = tails.iter().map(|(edge, _)| edge.as_str()).collect();
    assert_eq!(edges, ["wd-l1", "wd-seq"]);
    for (edge, tail) in &tails {
        assert!(
            !tail.is_empty() && tail.len() <= PROXY_TAIL_ENTRIES,
            "{edge}: {}",
            tail.len()
        );
        assert!(tail.iter().all(|e| e["seq"].is_u64()), "{edge}");
    }
    h.shutdown().await.expect("teardown");
}

/// On compose the proxies are containers driven over their control ports: the watchdog's
/// requests through both are read back from the host, reach the evidence, and land in
/// `logs/proxy-<edge>.jsonl` at teardown. Without an engine and the images it is skipped
/// with the reason printed (under CI=true that fails).
#[tokio::test]
async fn compose_proxies_are_driven_remotely_and_log_at_teardown() {
    use devnet_scenarios::deploy::compose_unavailable;
    use devnet_scenarios::{Harness, StackOptions};
    use fault_proxy::{ProxyRules, RuleSet};

    if let Some(why) = compose_unavailable().await {
        assert!(
            !devnet_scenarios::container::under_ci(),
            "compose is required under CI=true: {why}"
        );
        #[allow(clippy::print_stdout)] // the skip's reason belongs in the test output
        {
            println!("compose proxies skipped: {why}");
        }
        return;
    }
    let mut h = Harness::start(StackOptions {
        backend: Backend::Compose,
        wd_l1_rules: Some(ProxyRules::default()),
        wd_seq_rules: Some(RuleSet::default()),
        ..StackOptions::default()
    })
    .await
    .expect("a compose stack");
    h.watchdog(&["init"]).await.unwrap().expect_exit(0).unwrap();
    h.tick().await.unwrap().expect_exit(0).unwrap();
    let mut counts = Vec::new();
    for (edge, proxy) in [
        ("wd-l1", h.wd_l1_proxy().unwrap()),
        ("wd-seq", h.wd_seq_proxy().unwrap()),
    ] {
        assert!(!proxy.url().contains("127.0.0.1"), "{edge}: a container");
        let entries = proxy.entries().await.unwrap();
        assert!(!entries.is_empty(), "{edge}: the watchdog went through it");
        assert!(entries.iter().all(|e| e.edge == edge), "{edge}");
        counts.push((edge, entries.len()));
    }
    let tails = h.evidence().await.proxy_tail;
    let edges: Vec<&str> = tails.iter().map(|(edge, _)| edge.as_str()).collect();
    assert_eq!(edges, ["wd-l1", "wd-seq"]);
    h.set_keep(true);
    let dir = h.dir().to_owned();
    h.shutdown().await.expect("teardown");
    for (edge, count) in counts {
        let text = std::fs::read_to_string(dir.join(format!("logs/proxy-{edge}.jsonl")))
            .expect("the proxy log");
        assert_eq!(text.lines().count(), count, "{edge}: one line per request");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
