//! Health checks: anvil answers (and, with interval mining, makes progress); the sequencer's
//! `/healthz` answers 200; and, with interval mining, the chain-halt checks: the L1 head must
//! advance, and the sequencer's finalized checkpoint must move while the L1 holds inputs it has
//! not finalized. A failing chain-halt check makes the stack `degraded` until it passes again.

use std::time::Duration;

use anyhow::Context as _;
use tokio::time::Instant;

use crate::local::{LocalStack, Mining};

/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The last observed L1 head and finalized checkpoint, and when each last moved.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Progress {
    head: Option<(u64, Instant)>,
    /// The checkpoint's block, since when it waits with inputs pending, and the L1's input
    /// count when it last moved.
    checkpoint: Option<(u64, Instant, u64)>,
}

/// One round of checks: `Ok(detail)` or `Err(reason)` per component, and the failing
/// chain-halt checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Health {
    pub(super) anvil: Result<String, String>,
    pub(super) sequencer: Result<String, String>,
    pub(super) halted: Vec<String>,
}

impl Health {
    /// The text recorded in the state file: `ok` or the failure.
    pub(super) fn label(result: &Result<String, String>) -> String {
        match result {
            Ok(_) => "ok".to_owned(),
            Err(reason) => reason.clone(),
        }
    }
}

/// Probes both components; `stall_after` is how long the checkpoint may stand still while the
/// L1 holds inputs it has not finalized.
pub(super) async fn check(
    stack: &LocalStack,
    http: &reqwest::Client,
    progress: &mut Progress,
    stall_after: Duration,
) -> Health {
    let anvil = check_anvil(stack, progress).await;
    let sequencer = check_sequencer(http, stack.sequencer_url()).await;
    let mut halted = Vec::new();
    if let Err(reason) = &anvil
        && reason.starts_with("stuck")
    {
        halted.push(format!("the L1 head is {reason}"));
    }
    if matches!(stack.mining(), Mining::Interval(_))
        && let Some(reason) = check_finality(stack, progress, stall_after).await
    {
        halted.push(reason);
    }
    Health {
        anvil,
        sequencer,
        halted,
    }
}

/// `Some(reason)` when the checkpoint has not moved for `stall_after` while the L1 received
/// inputs for the application after it last moved. (The count when it moved includes its own
/// batch, so an idle stack has none pending.) Unreadable values pass (the component checks
/// report those).
async fn check_finality(
    stack: &LocalStack,
    progress: &mut Progress,
    stall_after: Duration,
) -> Option<String> {
    let status = tokio::time::timeout(PROBE_TIMEOUT, stack.control_status())
        .await
        .ok()?
        .ok()??;
    let block = status.get("checkpoint")?.get("inclusion_block")?.as_u64()?;
    let on_l1 = tokio::time::timeout(PROBE_TIMEOUT, stack.devnet().l1().input_count())
        .await
        .ok()?
        .ok()?;
    let now = Instant::now();
    let (since, base) = match progress.checkpoint {
        Some((seen, at, base)) if seen == block => (at, base),
        _ => (now, on_l1),
    };
    let pending = on_l1.saturating_sub(base);
    // The clock runs only while something is pending.
    let since = if pending == 0 { now } else { since };
    progress.checkpoint = Some((block, since, base));
    let still = now.saturating_duration_since(since);
    (pending > 0 && still > stall_after).then(|| {
        format!(
            "the sequencer is not finalizing: checkpoint at block {block} for {}s while {pending} \
             L1 inputs arrived after it",
            still.as_secs()
        )
    })
}

async fn check_anvil(stack: &LocalStack, progress: &mut Progress) -> Result<String, String> {
    let block = match tokio::time::timeout(PROBE_TIMEOUT, stack.devnet().block_number()).await {
        Ok(Ok(block)) => block,
        Ok(Err(e)) => return Err(format!("eth_blockNumber failed: {e:#}")),
        Err(_) => return Err("eth_blockNumber timed out".to_owned()),
    };
    let now = Instant::now();
    let since = match progress.head {
        Some((seen, at)) if seen == block => at,
        _ => {
            progress.head = Some((block, now));
            now
        }
    };
    if let Mining::Interval(secs) = stack.mining() {
        let limit = Duration::from_secs(secs.saturating_mul(3));
        if now.saturating_duration_since(since) > limit {
            return Err(format!("stuck at block {block}"));
        }
    }
    Ok(format!("block {block}"))
}

async fn check_sequencer(http: &reqwest::Client, url: &str) -> Result<String, String> {
    let probe = async {
        let reply = http
            .get(format!("{url}/healthz"))
            .timeout(PROBE_TIMEOUT)
            .send()
            .await
            .context("GET /healthz")?;
        let status = reply.status();
        let body = reply.text().await.unwrap_or_default();
        anyhow::ensure!(status.is_success(), "/healthz answered {status}: {body}");
        Ok(body)
    };
    probe.await.map_err(|e| format!("{e:#}"))
}
