//! The partition drills (`Partition`, the `compose` backend): a component is cut off the L1
//! network while the rest runs on, then joins it again. Neither is ever a divergence: the
//! watchdog cut off mid-tick fails transiently, a sequencer that cannot read L1 falls behind
//! (idle, then `liveness`), and once joined again the next tick agrees.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::common::{ALICE, BOB, CAROL, agree, failed_with};
use super::liveness::{LIMIT, lag_tick, stalled_past_the_limit};
use crate::deploy::Member;
use crate::{Checks, Harness};

/// How long a drill waits for the stack to reach a state it polls for.
const WAIT: Duration = Duration::from_secs(60);
const POLL_STEP: Duration = Duration::from_millis(100);

/// The sequencer's control `/status`.
async fn status(h: &Harness) -> Result<Value> {
    let control = h
        .deployment()
        .sequencer()
        .control_url()
        .context("the sequencer has no control API")?;
    let response = reqwest::Client::new()
        .get(format!("{control}/status"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .context("GET /status")?;
    Ok(response.error_for_status()?.json().await?)
}

/// Polls the sequencer's `/status` until `ready` holds of it, within [`WAIT`].
async fn wait_status(h: &Harness, what: &str, ready: impl Fn(&Value) -> bool) -> Result<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let last = status(h).await;
        if let Ok(value) = &last
            && ready(value)
        {
            return Ok(value.clone());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("{what}: not within {WAIT:?} (last /status: {last:?})");
        }
        tokio::time::sleep(POLL_STEP).await;
    }
}

/// `watchdog-l1-partition`: after agreement a transfer gives the next tick inputs to replay.
/// A `stall` on the digest route holds that tick between its sequencer reads and its L1
/// preflight (the sequencer's `/status` counts the held request); its container is cut off the
/// L1 network there and the stall released: the tick exits 1 `transient/l1_unavailable`, no
/// event. The next tick, in a container on both networks, agrees.
pub(super) async fn watchdog_l1_partition(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    let block = h.transfer(ALICE, BOB, 1_000).await?;
    h.set_faults(&["stall:/finalized_state/digest"]).await?;
    let name = crate::container::unique_name("devnet-watchdog-cut");
    let tick = h.spawn_named_tick(&name);
    let held = wait_status(h, "the tick's digest request held", |s| {
        s["held_requests"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    let cut = match held {
        Ok(_) => h.partition(&Member::Watchdog(name.clone())).await,
        Err(e) => Err(e),
    };
    // Released in any case, so the tick ends.
    h.set_faults(&[]).await?;
    let run = tick.await.context("the tick's task")??;
    cut?;
    checks.that(
        "the tick was cut off mid-tick",
        "its container ran until the cut",
        "held at the digest, then cut",
        true,
    );
    failed_with(
        checks,
        "tick cut off from L1 mid-tick",
        &run,
        "transient",
        Some("l1_unavailable"),
    );
    let tick = h.tick().await?;
    checks.run("tick on both networks again", &tick, 0, "agreed", None);
    checks.that(
        "agreed block",
        &block.to_string(),
        tick.summary["head_block"].to_string(),
        tick.summary["head_block"] == block,
    );
    Ok(())
}

/// `sequencer-l1-partition`: after agreement the sequencer is cut off the L1 network (it still
/// serves the watchdog) and a deposit lands. A tick within the lag limit is idle (0); once the
/// deposit is more than `LIMIT` (4) blocks below the head tag the tick exits 1
/// `liveness/sequencer_stalled`, no event; the sequencer's `/status` shows its L1 error. Joined
/// again, it reads the deposit, and the next tick agrees.
pub(super) async fn sequencer_l1_partition(h: &mut Harness, checks: &mut Checks) -> Result<()> {
    agree(h, checks).await?;
    h.partition(&Member::Sequencer).await?;
    let landed = h.deposit(CAROL, 100_000).await?;
    let tick = lag_tick(h).await?;
    checks.run("tick right after the deposit", &tick, 0, "idle", None);

    h.mine(2 * LIMIT + 2).await?;
    let cut = wait_status(h, "the sequencer's L1 error", |s| !s["l1_error"].is_null()).await?;
    checks.that(
        "the sequencer cannot read L1",
        "an l1_error in /status",
        cut["l1_error"].to_string(),
        true,
    );
    let tick = lag_tick(h).await?;
    stalled_past_the_limit(checks, &tick);

    h.rejoin(&Member::Sequencer).await?;
    let what = format!("the sequencer reading L1 again, past the deposit's block {landed}");
    wait_status(h, &what, |s| {
        s["l1_error"].is_null() && s["scanned_block"].as_u64().unwrap_or(0) >= landed
    })
    .await?;
    h.transfer(CAROL, BOB, 1_000).await?;
    let tick = lag_tick(h).await?;
    checks.run("tick once joined again", &tick, 0, "agreed", None);
    Ok(())
}
