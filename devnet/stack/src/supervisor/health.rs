//! Health checks: anvil answers (and, with interval mining, makes progress); the sequencer's
//! `/healthz` answers 200.

use std::time::Duration;

use anyhow::Context as _;
use tokio::time::Instant;

use crate::local::{LocalStack, Mining};

/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The last observed L1 head and when it last moved.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Progress {
    head: Option<(u64, Instant)>,
}

/// One round of checks: `Ok(detail)` or `Err(reason)` per component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Health {
    pub(super) anvil: Result<String, String>,
    pub(super) sequencer: Result<String, String>,
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

/// Probes both components.
pub(super) async fn check(
    stack: &LocalStack,
    http: &reqwest::Client,
    progress: &mut Progress,
) -> Health {
    let anvil = check_anvil(stack, progress).await;
    let sequencer = check_sequencer(http, stack.sequencer_url()).await;
    Health { anvil, sequencer }
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
