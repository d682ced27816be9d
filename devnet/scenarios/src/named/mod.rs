//! The registry of named scenarios (spec `devnet.md` §9) and their dispatch. The scenarios
//! themselves live in one module per theme: [`agree`], [`divergence`], [`provider`] (the
//! watchdog's L1 edge), [`liveness`], [`range_cap`], [`sequencer_edge`], [`sequencer_l1`] (the
//! sequencer's L1 edge), [`upgrade`] (a rolling sequencer restart), [`state_dir`], [`reorg`] and
//! [`chaos`].

mod agree;
mod chaos;
mod common;
mod divergence;
mod liveness;
mod partition;
mod provider;
mod range_cap;
mod reorg;
mod sequencer_edge;
mod sequencer_l1;
mod state_dir;
mod upgrade;

use anyhow::Result;
use devnet_sequencer::ResponseShape;
use fault_proxy::{ProxyRules, RuleSet};

use super::checks::{Allow, Checks};
use super::{Harness, StackOptions};
use crate::deploy::Caps;

/// A scenario's name, what it shows, and what it expects.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioInfo {
    /// `devnet run <name>`.
    pub name: &'static str,
    /// One line.
    pub description: &'static str,
    /// The expected watchdog verdict, as the table shows it.
    pub expected: &'static str,
    /// `ERROR`/`panicked` log lines the scenario expects; each must occur.
    pub allow: &'static [Allow],
    /// What the backend must offer; on one that lacks any of it the scenario is
    /// `skipped(<cap>)` and never runs. Every scenario but `genesis-agree` mines and adds
    /// inputs on the L1 (`Mining`, `L1Inputs`).
    pub needs: Caps,
}

impl ScenarioInfo {
    /// Adds `caps` to what the scenario needs.
    const fn needing(mut self, caps: Caps) -> Self {
        self.needs = self.needs.union(caps);
        self
    }

    /// What `caps` lacks of what the scenario needs (empty when it can run).
    pub fn missing(&self, caps: Caps) -> Caps {
        caps.missing(self.needs)
    }
}

/// A latched `state_mismatch` is logged at ERROR level.
const LATCH_STATE_MISMATCH: &[Allow] = &[Allow {
    pattern: "divergence state_mismatch at block",
    reason: "the watchdog logs the latch of a divergence at ERROR level",
}];

/// A latched `inclusion_block_regressed` is logged at ERROR level.
const LATCH_REGRESSED: &[Allow] = &[Allow {
    pattern: "divergence inclusion_block_regressed at block",
    reason: "the watchdog logs the latch of a divergence at ERROR level",
}];

/// What a scenario needs unless it says otherwise: mining, and inputs on the L1 (deposits
/// fund every transfer). An attached L1 refuses inputs, so there these scenarios are skipped.
const ORDINARY: Caps = Caps::MINING.union(Caps::L1_INPUTS);

const fn info(
    name: &'static str,
    expected: &'static str,
    description: &'static str,
) -> ScenarioInfo {
    ScenarioInfo {
        name,
        description,
        expected,
        allow: &[],
        needs: ORDINARY,
    }
}

const fn latching(
    name: &'static str,
    expected: &'static str,
    description: &'static str,
    allow: &'static [Allow],
) -> ScenarioInfo {
    ScenarioInfo {
        name,
        description,
        expected,
        allow,
        needs: ORDINARY,
    }
}

/// Every named scenario, in the order `--all` runs them.
pub const SCENARIOS: &[ScenarioInfo] = &[
    ScenarioInfo {
        // Neither mines nor adds inputs: it runs against any attached stack, whatever its
        // history, anvil or not.
        needs: Caps::NONE,
        ..info(
            "genesis-agree",
            "0 agreed",
            "init at block 0; the first tick agrees with genesis",
        )
    },
    ScenarioInfo {
        // Like genesis-agree, it runs against any stack whose endpoints the host network
        // reaches, given the image.
        needs: Caps::IMAGE,
        ..info(
            "image-tick",
            "0 agreed in the image",
            "the watchdog image's init and tick (docker run, host network) agree where the host binary does",
        )
    },
    info(
        "deposit-transfer-withdraw",
        "0 agreed; exact balances",
        "a deposit, a transfer and a withdrawal; agreement and exact balances",
    ),
    info(
        "batch-close-agree",
        "0 agreed at the newest batch",
        "a burst that closes several batches; agreement at the newest",
    ),
    info(
        "idempotent-retick",
        "0 idle, two L1 requests",
        "after agreement a tick is idle; its only L1 requests are the finality check's two",
    )
    // It counts the requests through a proxy on the watchdog's L1 edge.
    .needing(Caps::RPC_FAULTS),
    latching(
        "tampered-state",
        "2 state_mismatch; then latched",
        "tamper-state → exit 2 state_mismatch, then latched",
        LATCH_STATE_MISMATCH,
    )
    .needing(Caps::SEQ_FAULTS),
    latching(
        "tamper-body-digest-blind",
        "0 (digest pin); 2 (download pin)",
        "tamper-body: the digest pin cannot see it (0), the download pin can (2 state_mismatch)",
        LATCH_STATE_MISMATCH,
    )
    .needing(Caps::SEQ_FAULTS),
    latching(
        "dropped-deposit",
        "2 state_mismatch",
        "drop-deposit → exit 2 state_mismatch",
        LATCH_STATE_MISMATCH,
    )
    .needing(Caps::SEQ_FAULTS),
    latching(
        "wrong-fee",
        "2 state_mismatch",
        "wrong-fee → exit 2 state_mismatch",
        LATCH_STATE_MISMATCH,
    )
    .needing(Caps::SEQ_FAULTS),
    latching(
        "skipped-op",
        "2 state_mismatch",
        "skip-op → exit 2 state_mismatch",
        LATCH_STATE_MISMATCH,
    )
    .needing(Caps::SEQ_FAULTS),
    latching(
        "regressed-inclusion",
        "2 inclusion_block_regressed",
        "regress-inclusion → exit 2 inclusion_block_regressed",
        LATCH_REGRESSED,
    )
    .needing(Caps::SEQ_FAULTS),
    info(
        "sequencer-stalled",
        "0, 1 sequencer_stalled, 0 agreed",
        "freeze-finalized while a deposit lands: idle within the lag limit, 1 liveness/sequencer_stalled past it (never 2), agreement once cleared",
    )
    .needing(Caps::SEQ_FAULTS),
    info(
        "log-range-cap",
        "0 agreed; rpc_usage (a)-(e), (g)",
        "3 000 inputs in 12 blocks under a 1 000-result cap on the watchdog's L1: bisection, exact cover, counted requests; a later tick makes no range error",
    )
    .needing(Caps::RPC_FAULTS),
    info(
        "log-range-cap-suggest",
        "0 agreed; suggestions followed",
        "log-range-cap with the error suggesting the largest fitting range: the watchdog follows it",
    )
    .needing(Caps::RPC_FAULTS),
    info(
        "sequencer-l1-faults",
        "0 agreed; seq bisects, finalizes",
        "a one-shot 503 and a 2-result cap on eth_getLogs of the sequencer's L1 (seq→l1): it retries, bisects, reads each block once and finalizes; the watchdog agrees",
    )
    .needing(Caps::RPC_FAULTS),
    info(
        "sequencer-outage",
        "1 sequencer_unavailable; then 0",
        "the sequencer answers 503 → exit 1, never 2; agreement once it recovers",
    )
    .needing(Caps::SEQ_FAULTS),
    info(
        "sequencer-transient-matrix",
        "1 transient/* each; 0 cleared",
        "unavailable, slow beyond the timeout, stall; through a wd→seq proxy 503, dropped connections, truncated and invalid JSON, a hang → exit 1 transient each, never 2; slow under the timeout → 0; cleared → agreement",
    )
    .needing(Caps::SEQ_FAULTS.union(Caps::RPC_FAULTS)),
    info(
        "l1-outage",
        "1 l1_unavailable",
        "the L1 endpoint is down → exit 1 l1_unavailable, never 2",
    ),
    info(
        "kill-sequencer",
        "1 sequencer_unavailable; then 0",
        "the sequencer dies → exit 1; restarted, it recovers from L1 and agrees",
    )
    .needing(Caps::NODE_CONTROL),
    info(
        "sequencer-upgrade",
        "0 before, between, after; never 2",
        "a rolling sequencer restart mid-workload (soft-confirmed transfers in flight), the L1 running on → the watchdog agrees before and after, no event",
    )
    .needing(Caps::NODE_CONTROL),
    info(
        "concurrent-ticks",
        "1 lock_busy; first 0",
        "a tick while another holds the lock → exit 1 lock_busy, nothing written",
    )
    .needing(Caps::SEQ_FAULTS.union(Caps::STATE_DIR_FAULTS)),
    info(
        "corrupt-checkpoint",
        "1 operator each; repaired 0",
        "a flipped native.bin, a deleted head.json, a 0777 state dir → exit 1 operator",
    )
    .needing(Caps::STATE_DIR_FAULTS),
    latching(
        "clear-relatch",
        "2; cleared; 2 again",
        "clear while the fault persists → the next tick latches again",
        LATCH_STATE_MISMATCH,
    )
    .needing(Caps::SEQ_FAULTS),
    info(
        "provider-disagreement",
        "1 provider_disagreement",
        "a divergence the confirmation provider does not confirm → exit 1, no latch",
    )
    .needing(Caps::SEQ_FAULTS.union(Caps::EVM)),
    info(
        "torn-publish",
        "0 agreed; leftovers collected",
        "leftovers of a crashed publish → the next tick agrees and removes them",
    )
    .needing(Caps::STATE_DIR_FAULTS),
    info(
        "checkpoint-publish-crash",
        "0 after kills; GC'd; never 2",
        "a torn publish and a seeded SIGKILL loop of ticks while the sequencer advances → status readable, the next tick agrees, leftovers collected, never 2",
    )
    .needing(Caps::STATE_DIR_FAULTS),
    info(
        "legacy-shape-agree",
        "0 agreed",
        "the older l2_tx_index response shape, state pinned by download → agreement",
    ),
    info(
        "transient-matrix",
        "1 transient each; 0 cleared",
        "a frozen head, 429, 503, a rate-limit error, invalid JSON, a lagging head, bad safe/finalized tags, a dropped log on the watchdog's L1 → exit 1 transient each, never 2; cleared → agreement; a one-shot 503 → 0 (retried)",
    )
    .needing(Caps::RPC_FAULTS),
    info(
        "chain-id-mismatch",
        "1 operator/chain_id_mismatch",
        "the watchdog's L1 answers another chain id → exit 1 operator chain_id_mismatch",
    )
    .needing(Caps::RPC_FAULTS),
    info(
        "reorg-tip",
        "0",
        "a deposit not yet safe is replaced by a depth-1 reorg → agreement on the new chain",
    )
    .needing(Caps::REORG),
    latching(
        "reorg-below-safe",
        "2 state_mismatch",
        "a landed 600 000 deposit is rewritten below safe as 500 000 → exit 2 state_mismatch",
        LATCH_STATE_MISMATCH,
    )
    .needing(Caps::REORG),
    info(
        "reorg-below-head",
        "1 operator/l1_anchor_mismatch",
        "the agreed block is rewritten → exit 1 operator l1_anchor_mismatch, never 0",
    )
    .needing(Caps::REORG.union(Caps::EVM)),
    info(
        "chaos-no-false-divergence",
        "0/1 each, last 0",
        "20 ticks over a seeded mix of transfers and deposits under seeded transient faults → never 2; 0 once cleared",
    )
    .needing(Caps::RPC_FAULTS.union(Caps::SEQ_FAULTS)),
    info(
        "watchdog-l1-partition",
        "1 l1_unavailable mid-tick; then 0",
        "a tick held between its sequencer reads and its L1 preflight is cut off the L1 network → exit 1 transient/l1_unavailable, never 2; the next tick, joined, agrees",
    )
    .needing(Caps::PARTITION.union(Caps::SEQ_FAULTS)),
    info(
        "sequencer-l1-partition",
        "0, 1 sequencer_stalled; then 0",
        "the sequencer cut off the L1 network while a deposit lands: idle within the lag limit, 1 liveness/sequencer_stalled past it (never 2); joined again, agreement",
    )
    .needing(Caps::PARTITION.union(Caps::SEQ_FAULTS)),
];

/// The scenario named `name`.
pub fn find(name: &str) -> Option<&'static ScenarioInfo> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// How the stack of scenario `name` is built.
pub(super) fn options(name: &str) -> StackOptions {
    let mut options = StackOptions::default();
    match name {
        "batch-close-agree" => options.batch_max_ops = Some(4),
        "log-range-cap" => options.wd_l1_cap = Some(range_cap::cap(false)),
        "log-range-cap-suggest" => options.wd_l1_cap = Some(range_cap::cap(true)),
        "idempotent-retick" => options.wd_l1_rules = Some(ProxyRules::default()),
        "sequencer-transient-matrix" => options.wd_seq_rules = Some(RuleSet::default()),
        "sequencer-l1-faults" => options.seq_l1_rules = Some(sequencer_l1::rules()),
        "legacy-shape-agree" => options.shape = ResponseShape::Legacy,
        "transient-matrix" | "chain-id-mismatch" | "chaos-no-false-divergence" => {
            options.wd_l1_rules = Some(ProxyRules::default());
        }
        _ => {}
    }
    options
}

/// Runs scenario `name` on `h`, recording its expectations.
pub(super) async fn scenario(name: &str, h: &mut Harness, checks: &mut Checks) -> Result<()> {
    match name {
        "genesis-agree" => agree::genesis(h, checks).await,
        "image-tick" => agree::image_tick(h, checks).await,
        "deposit-transfer-withdraw" => agree::deposit_transfer_withdraw(h, checks).await,
        "batch-close-agree" => agree::batch_close(h, checks).await,
        "idempotent-retick" => agree::idempotent_retick(h, checks).await,
        "legacy-shape-agree" => common::agree(h, checks).await.map(drop),
        "tampered-state" => divergence::tampered_state(h, checks).await,
        "tamper-body-digest-blind" => divergence::tamper_body_digest_blind(h, checks).await,
        "dropped-deposit" => divergence::dropped_deposit(h, checks).await,
        "wrong-fee" => divergence::wrong_fee(h, checks).await,
        "skipped-op" => divergence::skipped_op(h, checks).await,
        "regressed-inclusion" => divergence::regressed_inclusion(h, checks).await,
        "sequencer-stalled" => liveness::sequencer_stalled(h, checks).await,
        "watchdog-l1-partition" => partition::watchdog_l1_partition(h, checks).await,
        "sequencer-l1-partition" => partition::sequencer_l1_partition(h, checks).await,
        "clear-relatch" => divergence::clear_relatch(h, checks).await,
        "provider-disagreement" => divergence::provider_disagreement(h, checks).await,
        "log-range-cap" => range_cap::log_range_cap(h, checks, false).await,
        "log-range-cap-suggest" => range_cap::log_range_cap(h, checks, true).await,
        "l1-outage" => provider::l1_outage(h, checks).await,
        "transient-matrix" => provider::transient_matrix(h, checks).await,
        "chain-id-mismatch" => provider::chain_id_mismatch(h, checks).await,
        "sequencer-l1-faults" => sequencer_l1::sequencer_l1_faults(h, checks).await,
        "sequencer-outage" => sequencer_edge::outage(h, checks).await,
        "sequencer-transient-matrix" => sequencer_edge::transient_matrix(h, checks).await,
        "kill-sequencer" => sequencer_edge::kill(h, checks).await,
        "sequencer-upgrade" => upgrade::sequencer_upgrade(h, checks).await,
        "concurrent-ticks" => state_dir::concurrent_ticks(h, checks).await,
        "corrupt-checkpoint" => state_dir::corrupt_checkpoint(h, checks).await,
        "torn-publish" => state_dir::torn_publish(h, checks).await,
        "checkpoint-publish-crash" => state_dir::checkpoint_publish_crash(h, checks).await,
        "reorg-tip" => reorg::tip(h, checks).await,
        "reorg-below-safe" => reorg::below_safe(h, checks).await,
        "reorg-below-head" => reorg::below_head(h, checks).await,
        "chaos-no-false-divergence" => chaos::no_false_divergence(h, checks).await,
        other => anyhow::bail!("no scenario named {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_allowlists_have_reasons() {
        let mut names: Vec<_> = SCENARIOS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SCENARIOS.len());
        for s in SCENARIOS {
            assert!(
                s.expected.len() <= 34,
                "{}: expected column too wide",
                s.name
            );
            for a in s.allow {
                assert!(!a.pattern.is_empty() && !a.reason.is_empty(), "{}", s.name);
            }
        }
    }
}
