//! `chaos-no-false-divergence`: a seeded mix of transfers and deposits, each tick under a
//! seeded transient fault on the watchdog's L1 edge or the sequencer edge. Transient faults
//! must never look like a divergence: every tick exits 0 or 1 with no event, and the last,
//! with every fault cleared, exits 0 at the sequencer's newest block.

use anyhow::Result;
use fault_proxy::ProxyRules;

use super::common::{ALICE, BOB, CAROL, init};
use super::provider::transient_l1_faults;
use crate::seed::Stream;
use crate::{Checks, Harness};

/// Ticks under seeded faults; one more clean tick follows (20 in all).
const FAULTED_TICKS: usize = 19;

/// One seeded fault for one tick.
#[derive(Debug)]
enum Fault {
    None,
    L1(&'static str, ProxyRules),
    Sequencer(String),
}

fn pick_fault(faults: &mut Stream) -> Fault {
    // Weights: none, one of the transient L1 faults of `transient-matrix`, sequencer 503,
    // sequencer slow (under the poll timeout).
    match faults.weighted(&[5, 4, 1, 2]) {
        1 => {
            let mut l1 = transient_l1_faults();
            let len = u64::try_from(l1.len()).unwrap_or(u64::MAX);
            let index = usize::try_from(faults.below(len)).unwrap_or(0);
            let (what, rules, _) = l1.swap_remove(index);
            Fault::L1(what, rules)
        }
        2 => Fault::Sequencer("unavailable".into()),
        3 => Fault::Sequencer(format!("slow:{}", faults.between(20, 400))),
        _ => Fault::None,
    }
}

/// Runs one seeded workload step; returns what it did.
async fn workload(h: &mut Harness, work: &mut Stream) -> Result<String> {
    let people = [ALICE, BOB, CAROL];
    Ok(match work.weighted(&[4, 2, 4]) {
        0 => {
            // Alice and Bob were funded before init; Carol may not have been yet.
            let from = people[usize::try_from(work.below(2))?];
            let to = if from == ALICE { BOB } else { ALICE };
            let amount = work.between(1, 5_000);
            h.transfer(from, to, amount).await?;
            format!("transfer {amount} from #{from} to #{to}")
        }
        1 => {
            let who = people[usize::try_from(work.below(3))?];
            let amount = work.between(1, 20_000);
            h.deposit(who, amount).await?;
            h.settle().await?;
            format!("deposit {amount} for #{who}")
        }
        _ => "nothing".to_owned(),
    })
}

/// `chaos-no-false-divergence`.
pub(super) async fn no_false_divergence(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    let mut work = h.seed.stream("chaos/workload");
    let mut faults = h.seed.stream("chaos/faults");
    h.deposit(ALICE, 500_000).await?;
    h.deposit(BOB, 500_000).await?;
    h.settle().await?;
    init(h, checks).await?;
    for i in 0..FAULTED_TICKS {
        let did = workload(h, &mut work).await?;
        let fault = pick_fault(&mut faults);
        let label = match &fault {
            Fault::None => "no fault".to_owned(),
            Fault::L1(what, _) => format!("wd→l1 {what}"),
            Fault::Sequencer(spec) => format!("sequencer {spec}"),
        };
        match fault {
            Fault::None => {}
            Fault::L1(_, rules) => h.set_wd_l1_rules(rules).await?,
            Fault::Sequencer(spec) => h.set_faults(&[spec.as_str()]).await?,
        }
        let tick = h.tick().await;
        h.set_wd_l1_rules(ProxyRules::default()).await?;
        h.set_faults(&[]).await?;
        let tick = tick?;
        h.note(format!(
            "tick {i}: {did}; {label} → {}",
            crate::describe(&tick)
        ));
        checks.not_diverged(&format!("tick {i} ({did}; {label})"), &tick);
    }
    let tick = h.tick().await?;
    let exit_ok = tick.exit_code == Some(0) && tick.events.is_empty();
    checks.that(
        "last tick, faults cleared",
        "exit 0, no event",
        crate::describe(&tick),
        exit_ok,
    );
    let head = &tick.summary["head_block"];
    checks.that(
        "the watchdog caught up",
        &format!("head block {}", h.finalized),
        head.to_string(),
        *head == h.finalized,
    );
    Ok(())
}
