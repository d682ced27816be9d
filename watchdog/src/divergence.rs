//! Steps 13.1–13.5 of a tick (spec §5, §4.2): confirming the inputs with a second provider,
//! latching the divergence, announcing it and collecting the evidence.

use std::path::{Path, PathBuf};

use l1::RequestBudget;
use machine::MachineWorker;

use crate::alert::{EventSink, emit};
use crate::core::{Watchdog, connect_l1};
use crate::feed::{self, Anchor, Fed};
use crate::outcome::TickEnd;
use crate::report::{self, Counters};
use crate::source::SequencerSource;
use crate::state::event::{WatchdogEvent, first_difference};
use crate::state::files::{ConfigFile, HeadFile};
use crate::state::fsx;
use crate::state::incident::{self, Comparison, EvidenceWriter};
use crate::{Class, Error, Finding, Outcome, Reason, Result};

/// Step 13.1: re-reads (H.block, B] on the confirmation provider; any difference or failure is
/// a transient error, never a latch.
pub(crate) async fn confirm(
    wd: &Watchdog,
    config: &ConfigFile,
    head: &HeadFile,
    anchor: &Anchor,
    fed: &Fed,
    codes: &[i64],
    counters: &Counters,
) -> Result<()> {
    let Some(url) = &wd.settings.confirm_rpc_url else {
        return Ok(());
    };
    let unavailable = |e: Error| {
        Error::fail(
            Class::Transient,
            "confirm_unavailable",
            format!("confirm provider: {}", e.message()),
        )
    };
    let budget = RequestBudget::new(wd.settings.max_rpc_requests);
    counters.watch_confirm(&budget);
    let provider = connect_l1(url, &budget).map_err(unavailable)?;
    let identity = crate::identity::parsed(config)?;
    let span = report::read_span(&wd.dir, &report::provider_id(url));
    let reader = feed::reader(
        provider,
        identity.app,
        identity.input_box,
        identity.chain_id,
        codes.to_vec(),
        span,
    );
    let at_b = l1::block_by_number(reader.provider(), anchor.block)
        .await
        .map_err(|e| unavailable(e.into()))?;
    let count = reader
        .input_count_at(at_b.hash)
        .await
        .map_err(|e| unavailable(e.into()))?;
    let mut fingerprints = crate::feed::Fingerprints::default();
    let to = fed
        .stop
        .as_ref()
        .map_or(anchor.block, |stop| stop.input_block);
    if to > head.block {
        let mut cursor = reader.cursor(head.block + 1, to, head.input_count);
        while let Some(input) = cursor.next().await.map_err(|e| unavailable(e.into()))? {
            fingerprints.push(
                &input,
                &<sha2::Sha256 as sha2::Digest>::digest(&input.raw).into(),
            );
            if fingerprints.len() == fed.fingerprints.len() && fed.stop.is_some() {
                break;
            }
        }
    }
    if at_b.hash != anchor.hash || count != anchor.input_count || fingerprints != fed.fingerprints {
        return Err(Error::fail(
            Class::Transient,
            "provider_disagreement",
            format!(
                "the confirmation provider disagrees about the inputs of blocks {}..={}",
                head.block + 1,
                anchor.block
            ),
        ));
    }
    tracing::info!(target: "watchdog::tick", event = "confirmed", inputs = fingerprints.len(), "the confirmation provider agrees");
    Ok(())
}

/// What an incident can keep.
pub(crate) struct Evidence<'a> {
    pub(crate) sequencer_bytes: Option<Vec<u8>>,
    pub(crate) canonical: Option<Vec<u8>>,
    pub(crate) inputs: Option<PathBuf>,
    pub(crate) worker: Option<&'a MachineWorker>,
    pub(crate) client: Option<&'a dyn SequencerSource>,
    pub(crate) block: u64,
}

/// Steps 13.2–13.5: latch, event, evidence.
pub(crate) async fn latch(
    wd: &Watchdog,
    events: &mut dyn EventSink,
    event: WatchdogEvent,
    head: Option<&HeadFile>,
    mut evidence: Evidence<'_>,
) -> Result<TickEnd> {
    let kind = event.kind.clone();
    let id = event.incident_id.clone();
    let message = format!("divergence {kind} at block {}", evidence.block);
    match incident::latch(&wd.dir, &event) {
        Ok(dir) => {
            emit(events, &event);
            tracing::error!(target: "watchdog::tick", event = "latched", kind = %kind, incident = %id, "{message}");
            if evidence.sequencer_bytes.is_none() && evidence.client.is_some() {
                evidence.sequencer_bytes =
                    best_effort_download(evidence.client, evidence.block).await;
            }
            collect(wd, &dir, head, &evidence).await;
            Ok(TickEnd {
                outcome: Outcome::Diverged(finding(&kind)),
                reason: Some(Reason::new(finding(&kind).as_str())),
                message,
                incident_id: Some(id),
                divergence_kind: Some(kind),
            })
        }
        Err(e) => {
            emit(events, &event);
            tracing::error!(target: "watchdog::tick", event = "latch_failed", error = %e, "cannot create incident/");
            Ok(TickEnd {
                outcome: Outcome::Diverged(finding(&kind)),
                reason: Some(Reason::LATCH_FAILED),
                message: format!("{message}; the latch could not be created: {e}"),
                incident_id: Some(id),
                divergence_kind: Some(kind),
            })
        }
    }
}

fn finding(kind: &str) -> Finding {
    match kind {
        "inclusion_block_regressed" => Finding::InclusionBlockRegressed,
        "canonical_machine_dead" => Finding::CanonicalMachineDead,
        _ => Finding::StateMismatch,
    }
}

/// In digest mode, the sequencer's bytes are fetched after the latch, kept only if they are
/// the state of block B.
async fn best_effort_download(client: Option<&dyn SequencerSource>, block: u64) -> Option<Vec<u8>> {
    match client?.download_state(1 << 30).await {
        Ok(state) if state.meta.inclusion_block == block => Some(state.bytes),
        _ => None,
    }
}

async fn collect(wd: &Watchdog, dir: &Path, head: Option<&HeadFile>, evidence: &Evidence<'_>) {
    let comparison = match (&evidence.canonical, &evidence.sequencer_bytes) {
        (Some(a), Some(b)) => first_difference(a, b).map(|d| Comparison {
            first_difference: d,
            mismatch_offset: d + 1,
        }),
        _ => None,
    };
    let mut writer = EvidenceWriter::start(dir, comparison);
    match &evidence.sequencer_bytes {
        Some(bytes) => writer.file("sequencer_state", "sequencer_state.bin", bytes),
        None => writer.missing("sequencer_state", "transient: not available for this block"),
    }
    match &evidence.canonical {
        Some(bytes) => writer.file("canonical_state", "canonical_state.bin", bytes),
        None => writer.missing("canonical_state", "operator: no canonical state"),
    }
    if let (Some(a), Some(b)) = (&evidence.sequencer_bytes, &evidence.canonical)
        && let (Ok(a), Ok(b)) = (crate::snapshot::decode(a), crate::snapshot::decode(b))
    {
        let diff = crate::snapshot::diff(&a, &b);
        let text = crate::json::to_string(&diff).unwrap_or_default();
        writer.file(
            "wallet_diff",
            "wallet_diff.json",
            format!("{text}\n").as_bytes(),
        );
    }
    if let Some(inputs) = &evidence.inputs {
        match std::fs::read(inputs) {
            Ok(bytes) => writer.file("inputs", "inputs.jsonl", &bytes),
            Err(e) => writer.missing("inputs", &format!("internal: {e}")),
        }
    }
    if let Some(head) = head {
        match fsx::copy_tree(&wd.dir.head_dir(head), &dir.join("base")) {
            Ok(()) => writer.item("base", "base"),
            Err(e) => writer.missing("base", &format!("internal: {e}")),
        }
    }
    if let Some(worker) = evidence.worker {
        match worker.store(dir.join("canonical_machine")).await {
            Ok(_) => writer.item("canonical_machine", "canonical_machine"),
            Err(e) => writer.missing("canonical_machine", &format!("internal: {e}")),
        }
    }
    writer.finish();
}
