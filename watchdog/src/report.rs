//! What a tick leaves behind besides its summary: `last_tick.json`, `status.prom` and
//! `l1_span.json` (spec §4.3, §8.3). Failures here are logged and never change the outcome.

use std::sync::{Arc, Mutex};

use l1::RequestBudget;
use machine::{BackendInfo, MachineWorker};
use sequencer_client::RedactedUrl;
use sha2::{Digest, Sha256};

use crate::Summary;
use crate::core::Watchdog;
use crate::liveness::Liveness;
use crate::options::Backend;
use crate::source::SequencerSource;
use crate::state::files::{
    self, ConfigFile, LastTickFile, MachineRecord, RpcRequests, SpanFile, Totals,
};
use crate::state::fsx;
use crate::state::layout::StateDir;
use crate::state::prom::Metrics;

/// Request counters of one tick, read at the end.
#[derive(Default)]
pub(crate) struct Counters {
    l1: Mutex<Option<RequestBudget>>,
    confirm: Mutex<Option<RequestBudget>>,
    sequencer: Mutex<Option<Arc<dyn SequencerSource>>>,
}

impl Counters {
    pub(crate) fn watch_l1(&self, budget: &RequestBudget) {
        *self.l1.lock().unwrap_or_else(|e| e.into_inner()) = Some(budget.clone());
    }

    pub(crate) fn watch_confirm(&self, budget: &RequestBudget) {
        *self.confirm.lock().unwrap_or_else(|e| e.into_inner()) = Some(budget.clone());
    }

    pub(crate) fn watch_sequencer(&self, client: &Arc<dyn SequencerSource>) {
        *self.sequencer.lock().unwrap_or_else(|e| e.into_inner()) = Some(client.clone());
    }

    pub(crate) fn snapshot(&self) -> RpcRequests {
        let used = |m: &Mutex<Option<RequestBudget>>| {
            m.lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .map_or(0, RequestBudget::used)
        };
        RpcRequests {
            l1: used(&self.l1),
            l1_confirm: used(&self.confirm),
            sequencer: self
                .sequencer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .map_or(0, |source| source.requests()),
        }
    }
}

/// One tick's facts for the files it writes.
#[derive(Debug)]
pub(crate) struct TickRecord<'a> {
    pub summary: &'a Summary,
    pub head_block: Option<u64>,
    pub target_block: Option<u64>,
    pub inputs: u64,
    pub duration_ms: u64,
    pub incident_id: Option<String>,
    pub divergence_kind: Option<String>,
    pub counters: RpcRequests,
    pub machine: Option<MachineRecord>,
    pub liveness: Option<Liveness>,
}

/// The finality the last tick measured, if `last_tick.json` holds one.
pub(crate) fn previous_liveness(dir: &StateDir) -> Option<Liveness> {
    let bytes = fsx::read_capped(&dir.last_tick_path(), 1 << 20).ok()?;
    files::parse::<LastTickFile>(&bytes, 1).ok()?.liveness
}

/// What the machine of `worker` did so far; `None` if its thread is gone.
pub(crate) async fn machine_record(
    worker: &MachineWorker,
    backend: Backend,
) -> Option<MachineRecord> {
    let stats = worker.stats().await.ok()?;
    let library = match worker.info().await.ok()? {
        BackendInfo::Cartesi(info) => Some(info),
        BackendInfo::Native { .. } | BackendInfo::Scripted => None,
    };
    Some(MachineRecord {
        backend: backend.as_str().to_owned(),
        libcartesi_version: library.as_ref().map(|info| info.version_string()),
        generation: library.as_ref().map(|info| info.api.as_str().to_owned()),
        inputs_fed: stats.inputs,
        accepted: stats.accepted,
        rejected: stats.rejected,
        stores: stats.stores,
        loads: stats.loads,
        replayed: stats.replayed,
        duration_ms: u64::try_from(stats.busy.as_millis()).unwrap_or(u64::MAX),
    })
}

/// First 16 hex digits of SHA-256 of the URL: identifies a provider without revealing it.
pub(crate) fn provider_id(url: &RedactedUrl) -> String {
    hex::encode(Sha256::digest(url.expose().as_str().as_bytes()))[..16].to_owned()
}

/// The span learned for `provider`, if any.
pub(crate) fn read_span(dir: &StateDir, provider: &str) -> Option<u64> {
    let bytes = fsx::read_capped(&dir.span_path(), 1 << 16).ok()?;
    let span: SpanFile = files::parse(&bytes, 1).ok()?;
    (span.provider == provider && span.span > 0).then_some(span.span)
}

/// Persists the span learned for `provider`.
pub(crate) fn write_span(wd: &Watchdog, provider: &str, span: u64) {
    let file = SpanFile {
        version: 1,
        provider: provider.to_owned(),
        span,
        updated_at: crate::state::clock::rfc3339(wd.clock.now_unix()),
    };
    if let Err(e) = fsx::write_atomic(&wd.dir.span_path(), &files::render(&file)) {
        tracing::warn!(target: "watchdog::report", error = %e, "cannot write l1_span.json");
    }
}

/// Writes `last_tick.json` (with running totals) and the metrics file.
pub(crate) fn write_tick_files(
    wd: &Watchdog,
    config: Option<&ConfigFile>,
    record: &TickRecord<'_>,
) {
    let now = wd.clock.now_unix();
    let previous = fsx::read_capped(&wd.dir.last_tick_path(), 1 << 20)
        .ok()
        .and_then(|bytes| files::parse::<LastTickFile>(&bytes, 1).ok())
        .map(|last| last.totals)
        .unwrap_or_default();
    let totals = Totals {
        inputs_replayed: previous.inputs_replayed.saturating_add(record.inputs),
        rpc_requests: previous.rpc_requests.plus(record.counters),
    };
    let summary = record.summary;
    let last = LastTickFile {
        version: 1,
        finished_at: crate::state::clock::rfc3339(now),
        outcome: summary.outcome().as_str().to_owned(),
        exit_code: summary.exit_code(),
        class: summary.class().map(|c| c.as_str().to_owned()),
        reason: summary.reason_value().map(|r| r.as_str().to_owned()),
        message: summary.message().to_owned(),
        head_block: record.head_block,
        target_block: record.target_block,
        inputs_replayed: record.inputs,
        duration_ms: record.duration_ms,
        rpc_requests: record.counters,
        totals,
        incident_id: record.incident_id.clone(),
        machine: record.machine.clone(),
        liveness: record.liveness,
    };
    if let Err(e) = fsx::write_atomic(&wd.dir.last_tick_path(), &files::render(&last)) {
        tracing::warn!(target: "watchdog::report", error = %e, "cannot write last_tick.json");
    }
    let metrics = Metrics {
        app_address: config.map(|c| c.identity.app_address.to_ascii_lowercase()),
        chain_id: config.map(|c| c.identity.chain_id),
        exit_code: summary.exit_code(),
        divergence_kind: record.divergence_kind.clone(),
        head_block: record.head_block,
        target_block: record.target_block,
        liveness: record.liveness,
        last_tick_unix: now,
        duration_ms: record.duration_ms,
        inputs_replayed_total: totals.inputs_replayed,
        rpc_requests_total: [
            totals.rpc_requests.l1,
            totals.rpc_requests.l1_confirm,
            totals.rpc_requests.sequencer,
        ],
        tick_inputs_replayed: record.inputs,
        tick_rpc_requests: [
            record.counters.l1,
            record.counters.l1_confirm,
            record.counters.sequencer,
        ],
    };
    let path = wd
        .settings
        .metrics_file
        .clone()
        .unwrap_or_else(|| wd.dir.status_prom_path());
    if let Err(e) = fsx::write_atomic(&path, metrics.render().as_bytes()) {
        tracing::warn!(target: "watchdog::report", error = %e, "cannot write the metrics file");
    }
}
