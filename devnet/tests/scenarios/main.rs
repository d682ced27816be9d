//! Every named scenario (`devnet run <name>`) as a test: a fresh stack each, the real
//! `sequencer-watchdog` binary, and every expectation of the scenario must hold.

async fn scenario(name: &str) {
    let verdict = devnet::scenario::run(name)
        .await
        .expect("a registered scenario");
    assert!(
        verdict.passed(),
        "\n{}",
        devnet::scenario::table(&[verdict])
    );
}

#[test]
fn every_scenario_has_a_test() {
    let registered: Vec<_> = devnet::scenario::SCENARIOS.iter().map(|s| s.name).collect();
    assert_eq!(registered, NAMES);
}

const NAMES: &[&str] = &[
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
    "sequencer-outage",
    "l1-outage",
    "kill-sequencer",
    "concurrent-ticks",
    "corrupt-checkpoint",
    "clear-relatch",
    "provider-disagreement",
    "torn-publish",
    "legacy-shape-agree",
    "transient-matrix",
    "chain-id-mismatch",
];

#[tokio::test]
async fn genesis_agree() {
    scenario("genesis-agree").await;
}

#[tokio::test]
async fn deposit_transfer_withdraw() {
    scenario("deposit-transfer-withdraw").await;
}

#[tokio::test]
async fn batch_close_agree() {
    scenario("batch-close-agree").await;
}

#[tokio::test]
async fn idempotent_retick() {
    scenario("idempotent-retick").await;
}

#[tokio::test]
async fn tampered_state() {
    scenario("tampered-state").await;
}

#[tokio::test]
async fn dropped_deposit() {
    scenario("dropped-deposit").await;
}

#[tokio::test]
async fn wrong_fee() {
    scenario("wrong-fee").await;
}

#[tokio::test]
async fn skipped_op() {
    scenario("skipped-op").await;
}

#[tokio::test]
async fn regressed_inclusion() {
    scenario("regressed-inclusion").await;
}

#[tokio::test]
async fn log_range_cap() {
    scenario("log-range-cap").await;
}

#[tokio::test]
async fn sequencer_outage() {
    scenario("sequencer-outage").await;
}

#[tokio::test]
async fn l1_outage() {
    scenario("l1-outage").await;
}

#[tokio::test]
async fn kill_sequencer() {
    scenario("kill-sequencer").await;
}

#[tokio::test]
async fn concurrent_ticks() {
    scenario("concurrent-ticks").await;
}

#[tokio::test]
async fn corrupt_checkpoint() {
    scenario("corrupt-checkpoint").await;
}

#[tokio::test]
async fn clear_relatch() {
    scenario("clear-relatch").await;
}

#[tokio::test]
async fn legacy_shape_agree() {
    scenario("legacy-shape-agree").await;
}

#[tokio::test]
async fn provider_disagreement() {
    scenario("provider-disagreement").await;
}

#[tokio::test]
async fn torn_publish() {
    scenario("torn-publish").await;
}

#[tokio::test]
async fn transient_matrix() {
    scenario("transient-matrix").await;
}

#[tokio::test]
async fn chain_id_mismatch() {
    scenario("chain-id-mismatch").await;
}
