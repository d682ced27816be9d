//! `tick`: one compare cycle (spec §5).
//!
//! The flow is linear: latch check → lock → config and head → cheap poll → decide on P → pin
//! B → decide on B → L1 preflight → load → stream and feed → completeness → extract →
//! compare → publish or latch. Every path ends in one [`Summary`]; every path past the lock
//! refreshes `last_tick.json` and `status.prom`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use alloy_primitives::B256;
use l1::{HeadTag, InputReader, L1Provider, RequestBudget};
use machine::RunControl;
use sha2::{Digest, Sha256};

use crate::alert::{EventSink, Forward};
use crate::checkpoint::{self, STATE_FILE, check_manifest, new_manifest, worker_version};
use crate::core::{
    TickOptions, Watchdog, block_on_cancellable, connect_l1, deadline_instant, sequencer,
};
use crate::divergence::{Evidence, confirm, latch};
use crate::feed;
use crate::liveness::{self, L1Head, Liveness};
use crate::outcome::TickEnd;
use crate::progress::Reporting;
use crate::report::{self, Counters, TickRecord};
use crate::source::{Pinned, SequencerSource, pin, sequencer_error};
use crate::state::StateError;
use crate::state::event::{WatchdogEvent, first_difference};
use crate::state::files::{ConfigFile, HeadFile, MachineRecord, ManifestFile};
use crate::state::fsx;
use crate::state::incident;
use crate::state::layout::checkpoint_name;
use crate::state::lock::RunLock;
use crate::{Class, Error, Finding, Outcome, Reason, Result, Summary};

const COMMAND: &str = "tick";

/// Facts gathered along the way, reported even when the tick fails.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    pub head_block: Option<u64>,
    pub target_block: Option<u64>,
    pub inputs: u64,
    pub span: Option<(String, u64)>,
    pub config: Option<ConfigFile>,
    /// The tick's workspace `checkpoints/.tmp-<id>/`, once created.
    pub workspace: Option<PathBuf>,
    /// What the machine did, once one was loaded.
    pub machine: Option<MachineRecord>,
    /// The L1 head-tag block and input count, read while the sequencer was polled.
    pub l1_head: Option<Result<L1Head>>,
    /// The sequencer's finalized block and the input count there, once known.
    pub finalized: Option<(u64, u64)>,
    /// The finality the tick measured.
    pub liveness: Option<Liveness>,
}

impl Watchdog {
    /// `tick` (spec §5): one compare cycle. `events` receives the `watchdog_event` of a new
    /// latch (any [`std::io::Write`] gets the raw line). Every path ends in a summary, failures
    /// included.
    pub fn tick_with(
        &self,
        options: TickOptions,
        events: &mut (impl EventSink + ?Sized),
    ) -> crate::Summary {
        let mut settings = self.settings.clone();
        if let Some(deadline) = options.deadline {
            settings.deadline = deadline;
        }
        if let Some(url) = options.confirm_rpc_url {
            settings.confirm_rpc_url = Some(url);
        }
        if let Some(budget) = options.max_rpc_requests {
            settings.max_rpc_requests = budget;
        }
        let this = Watchdog {
            dir: self.dir.clone(),
            attached: self.attached,
            settings,
            clock: self.clock.clone(),
            backend_override: self.backend_override.clone(),
            progress: options.progress.or_else(|| self.progress.clone()),
            cancel: options.cancel,
            l1_override: self.l1_override.clone(),
            sequencer_override: self.sequencer_override.clone(),
        };
        this.tick(events)
    }

    /// `tick` with the settings the watchdog was opened with; see [`tick_with`](Self::tick_with).
    pub fn tick(&self, events: &mut (impl EventSink + ?Sized)) -> crate::Summary {
        if let Err(error) = self.require_attached() {
            return crate::Summary::failed(Some("tick"), &error);
        }
        run(self, &mut Forward(events))
    }
}

/// Runs one tick; `events` receives the raw `watchdog_event` line of a new latch.
pub(crate) fn run(wd: &Watchdog, events: &mut dyn EventSink) -> Summary {
    let started = Instant::now();
    if wd.dir.is_latched() {
        return latched(wd, started);
    }
    if let Err(error) = wd.dir.check_permissions().map_err(|e| match e {
        StateError::Fs(_) => Error::fail(
            Class::Operator,
            "missing_head",
            format!(
                "{} is not an initialized state directory",
                wd.dir.root().display()
            ),
        ),
        other => other.into(),
    }) {
        return Summary::failed(Some(COMMAND), &error).duration(started.elapsed());
    }
    let _lock = match RunLock::try_acquire(&wd.dir.lock_path()) {
        Ok(lock) => lock,
        Err(error) => {
            tracing::warn!(target: "watchdog::tick", event = "lock_busy", "another command holds run.lock");
            return Summary::failed(Some(COMMAND), &error.into()).duration(started.elapsed());
        }
    };
    let counters = Counters::default();
    let mut progress = Progress::default();
    let result = locked(wd, events, &counters, &mut progress);
    discard_workspace(&result, progress.workspace.as_deref());
    let end = result.unwrap_or_else(|error| {
        tracing::warn!(target: "watchdog::tick", event = "failed", class = error.class().as_str(), reason = error.reason().as_str(), "{error}");
        TickEnd {
            outcome: Outcome::Failed(error.class()),
            reason: Some(error.reason()),
            message: error.message(),
            incident_id: None,
            divergence_kind: None,
        }
    });
    let mut summary = Summary::new(Some(COMMAND), end.outcome, end.message.clone())
        .inputs_replayed(progress.inputs)
        .duration(started.elapsed());
    if let Some(reason) = end.reason {
        summary = summary.reason(reason);
    }
    if let Some(block) = progress.head_block {
        summary = summary.head_block(block);
    }
    if let Some(block) = progress.target_block {
        summary = summary.target_block(block);
    }
    if let Some(id) = &end.incident_id {
        summary = summary.incident_id(id.clone());
    }
    summary = summary.extra("liveness", &progress.liveness);
    let record = TickRecord {
        summary: &summary,
        head_block: progress.head_block,
        target_block: progress.target_block,
        inputs: progress.inputs,
        duration_ms: started.elapsed().as_millis() as u64,
        incident_id: end.incident_id.clone(),
        divergence_kind: end.divergence_kind.clone(),
        counters: counters.snapshot(),
        machine: progress.machine.clone(),
        liveness: progress.liveness,
    };
    report::write_tick_files(wd, progress.config.as_ref(), &record);
    if let Some((provider, span)) = &progress.span {
        report::write_span(wd, provider, *span);
    }
    summary
}

/// Removes what is left of the tick's workspace (a publish renamed it away; idle, diverged
/// and transient or operator failures leave scratch data), so such a tick leaves
/// `checkpoints/` as it found it. After a deadline or a cancel a machine step may still be
/// running in it, and after an internal failure (I/O, a caught panic) it is left as evidence:
/// those are removed by the next tick's GC (spec §4.1, §5).
fn discard_workspace(result: &Result<TickEnd>, workspace: Option<&Path>) {
    let Some(workspace) = workspace else { return };
    if let Err(e) = result
        && (e.class() == Class::Internal
            || [Reason::DEADLINE_EXCEEDED, Reason::CANCELLED].contains(&e.reason()))
    {
        return;
    }
    if let Err(e) = fsx::remove_any(workspace) {
        tracing::warn!(target: "watchdog::gc", event = "gc_failed", error = %e, "workspace not removed");
    }
}

/// Step 1: a latched incident answers 2 without any work.
fn latched(wd: &Watchdog, started: Instant) -> Summary {
    let event = incident::read_divergence(&wd.dir);
    let id = (!event.incident_id.is_empty()).then(|| event.incident_id.clone());
    let mut summary = Summary::new(
        Some(COMMAND),
        Outcome::Latched,
        format!(
            "incident {} is latched; run `status`, then `clear` once handled",
            event.kind
        ),
    )
    .reason(Reason::INCIDENT_LATCHED)
    .duration(started.elapsed());
    if let Some(id) = &id {
        summary = summary.incident_id(id.clone());
    }
    if let Some(block) = event.sequencer_inclusion_block {
        summary = summary.target_block(block);
    }
    tracing::warn!(target: "watchdog::tick", event = "latched", kind = %event.kind, "incident latched");
    if let Ok(_lock) = RunLock::try_acquire(&wd.dir.lock_path()) {
        incident::mark_interrupted(&wd.dir);
        let config = wd.dir.read_config().ok().flatten();
        let head_block = wd.dir.read_head().ok().flatten().map(|h| h.block);
        let record = TickRecord {
            summary: &summary,
            head_block,
            target_block: event.sequencer_inclusion_block,
            inputs: 0,
            duration_ms: started.elapsed().as_millis() as u64,
            incident_id: id,
            divergence_kind: Some(event.kind.clone()),
            counters: Default::default(),
            machine: None,
            liveness: None,
        };
        report::write_tick_files(wd, config.as_ref(), &record);
    }
    summary
}

fn missing_head() -> Error {
    Error::fail(
        Class::Operator,
        "missing_head",
        "no head.json: run `init` first (tick never bootstraps)",
    )
}

/// Steps 3–14, holding the lock.
fn locked(
    wd: &Watchdog,
    events: &mut dyn EventSink,
    counters: &Counters,
    progress: &mut Progress,
) -> Result<TickEnd> {
    let config = wd.dir.read_config()?.ok_or_else(missing_head)?;
    progress.config = Some(config.clone());
    crate::identity::check(&wd.settings, &config)?;
    let head = wd.dir.read_head()?.ok_or_else(missing_head)?;
    progress.head_block = Some(head.block);
    let head_dir = wd.dir.head_dir(&head);
    let manifest = wd.dir.read_manifest(&head_dir)?;
    check_manifest(&head, &manifest)?;
    match wd.dir.gc(Some(&head)) {
        Ok(removed) if !removed.is_empty() => {
            tracing::info!(target: "watchdog::gc", removed = removed.len(), "removed leftovers");
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(target: "watchdog::gc", event = "gc_failed", error = %e, "gc failed")
        }
    }
    let deadline = wd.settings.deadline;
    block_on_cancellable(
        deadline,
        wd.cancel.as_ref(),
        compare(wd, events, counters, progress, &config, &head, &manifest),
    )
}

/// What step 5 / 7 decides about a sequencer block.
enum Decision {
    Idle(Option<Reason>),
    Regressed,
    BootstrapCompare,
    Replay,
}

fn decide(block: u64, head: &HeadFile) -> Decision {
    use std::cmp::Ordering::*;
    match (block.cmp(&head.block), head.agreed) {
        (Equal, true) => Decision::Idle(None),
        (Equal, false) => Decision::BootstrapCompare,
        (Less, true) => Decision::Regressed,
        (Less, false) => Decision::Idle(Some(Reason::SEQUENCER_BEHIND_BOOTSTRAP)),
        (Greater, _) => Decision::Replay,
    }
}

fn idle(block: u64, reason: Option<Reason>) -> TickEnd {
    tracing::info!(target: "watchdog::tick", event = "idle", block, "nothing new to compare");
    let message = match reason {
        Some(_) => format!("the sequencer (block {block}) is behind the never-agreed bootstrap"),
        None => format!("the sequencer is still at block {block}"),
    };
    TickEnd {
        outcome: Outcome::Idle,
        reason,
        message,
        incident_id: None,
        divergence_kind: None,
    }
}

/// The tick's L1 provider, built once (no request yet): the liveness probe and the replay
/// share it and its request budget.
struct L1Link {
    reader: InputReader<L1Provider>,
    provider_id: String,
    tag: HeadTag,
    codes: Vec<i64>,
}

impl L1Link {
    fn connect(wd: &Watchdog, config: &ConfigFile, counters: &Counters) -> Result<Self> {
        let budget = RequestBudget::new(wd.settings.max_rpc_requests);
        counters.watch_l1(&budget);
        let (provider, provider_id) = match &wd.l1_override {
            // An injected provider carries its own transport; its span is kept under its own id.
            Some(provider) => (provider.clone(), "injected".to_owned()),
            None => {
                let rpc_url = wd.settings.require_rpc_url()?;
                (
                    connect_l1(&rpc_url, &budget)?,
                    report::provider_id(&rpc_url),
                )
            }
        };
        let span = report::read_span(&wd.dir, &provider_id);
        let codes = crate::identity::codes(&wd.settings, config)?;
        let identity = crate::identity::parsed(config)?;
        let reader = feed::reader(
            provider,
            identity.app,
            identity.input_box,
            identity.chain_id,
            codes.clone(),
            span,
        );
        let tag = crate::identity::head_tag(&wd.settings, config)?;
        Ok(Self {
            reader,
            provider_id,
            tag,
            codes,
        })
    }
}

/// Steps 4–13, then the finality check of an `agreed` or `idle` end.
async fn compare(
    wd: &Watchdog,
    events: &mut dyn EventSink,
    counters: &Counters,
    progress: &mut Progress,
    config: &ConfigFile,
    head: &HeadFile,
    manifest: &ManifestFile,
) -> Result<TickEnd> {
    // A missing or invalid L1 setting stops the tick only where L1 is needed: a divergence
    // the sequencer shows without L1 work (a regression, a disagreeing bootstrap) still latches.
    let link = L1Link::connect(wd, config, counters);
    let end = replay_and_compare(
        wd,
        events,
        counters,
        progress,
        config,
        head,
        manifest,
        link.as_ref().ok(),
    )
    .await?;
    match link {
        Ok(link) => check_liveness(wd, progress, &link, end).await,
        Err(e) if matches!(end.outcome, Outcome::Agreed | Outcome::Idle) => Err(e),
        Err(_) => Ok(end),
    }
}

/// Measures the finality lag once the tick agreed or idled, and turns a stall into exit 1
/// `liveness/sequencer_stalled`. A tick that could not learn the sequencer's finalized input
/// count (idle behind a never-agreed bootstrap) reports no liveness.
async fn check_liveness(
    wd: &Watchdog,
    progress: &mut Progress,
    link: &L1Link,
    end: TickEnd,
) -> Result<TickEnd> {
    if !matches!(end.outcome, Outcome::Agreed | Outcome::Idle) {
        return Ok(end);
    }
    let (Some(l1_head), Some(finalized)) = (progress.l1_head.take(), progress.finalized) else {
        return Ok(end);
    };
    // After an agreement the checkpoint is published: say so beside the failure.
    let after = |error: Error| match end.outcome {
        Outcome::Agreed => Error::Failed {
            class: error.class(),
            reason: error.reason(),
            message: format!("{}; but {}", end.message, error.message()),
        },
        _ => error,
    };
    let previous = report::previous_liveness(&wd.dir);
    let measured = liveness::measure(
        &link.reader,
        l1_head.map_err(after)?,
        finalized,
        wd.settings.max_finality_lag_blocks,
        previous.as_ref(),
    )
    .await
    .map_err(after)?;
    progress.liveness = Some(measured);
    tracing::info!(
        target: "watchdog::liveness",
        l1_head_block = measured.l1_head_block,
        sequencer_inclusion_block = measured.sequencer_inclusion_block,
        pending_inputs = measured.pending_inputs,
        finality_lag_blocks = measured.finality_lag_blocks,
        "finality measured"
    );
    if measured.stalled() {
        return Err(after(measured.stall_error()));
    }
    Ok(end)
}

/// Steps 4–13 on the runtime.
#[allow(clippy::too_many_arguments)] // the tick's context, passed down unchanged
async fn replay_and_compare(
    wd: &Watchdog,
    events: &mut dyn EventSink,
    counters: &Counters,
    progress: &mut Progress,
    config: &ConfigFile,
    head: &HeadFile,
    manifest: &ManifestFile,
    link: Option<&L1Link>,
) -> Result<TickEnd> {
    let sequencer_url = match &wd.settings.sequencer_url {
        Some(url) => url.clone(),
        None => crate::settings::parse_url(&config.sequencer_url).map_err(|e| {
            Error::fail(
                Class::Operator,
                "config_invalid",
                format!("sequencer_url: {e}"),
            )
        })?,
    };
    let client: Arc<dyn SequencerSource> = match &wd.sequencer_override {
        Some(source) => source.clone(),
        None => Arc::new(sequencer(&sequencer_url, wd.settings.max_state_bytes)?),
    };
    counters.watch_sequencer(&client);

    // 4–5: cheap poll and decision on P; the L1 head-tag block and its input count are read
    // meanwhile, for the finality check.
    let point = match link {
        Some(link) => {
            let (point, l1_head) = tokio::join!(
                client.inclusion_block(),
                liveness::l1_head(&link.reader, link.tag)
            );
            progress.l1_head = Some(l1_head);
            point
        }
        None => client.inclusion_block().await,
    };
    let point = point.map_err(|e| sequencer_error(e, true))?;
    progress.target_block = Some(point.inclusion_block);
    match decide(point.inclusion_block, head) {
        Decision::Idle(reason) => {
            if reason.is_none() {
                progress.finalized = Some((head.block, head.input_count));
            }
            return Ok(idle(point.inclusion_block, reason));
        }
        Decision::Regressed => {
            return regressed(wd, events, config, head, point.inclusion_block).await;
        }
        Decision::BootstrapCompare | Decision::Replay => {}
    }

    // 6–7: pin B, decide again.
    let workspace = wd.dir.new_workspace()?;
    progress.workspace = Some(workspace.clone());
    let scratch = workspace.join("scratch");
    fsx::create_dir(&scratch)?;
    let pinned = pin(client.as_ref(), wd.settings.state_pin, &scratch).await?;
    progress.target_block = Some(pinned.block);
    match decide(pinned.block, head) {
        Decision::Idle(reason) => {
            if reason.is_none() {
                progress.finalized = Some((head.block, head.input_count));
            }
            return Ok(idle(pinned.block, reason));
        }
        Decision::Regressed => return regressed(wd, events, config, head, pinned.block).await,
        Decision::BootstrapCompare => {
            progress.finalized = Some((head.block, head.input_count));
            return bootstrap_compare(wd, events, config, head, &pinned).await;
        }
        Decision::Replay => {}
    }

    // 8: L1 preflight (without a link, connecting again reports why there is none).
    let connected;
    let link = match link {
        Some(link) => link,
        None => {
            connected = L1Link::connect(wd, config, counters)?;
            &connected
        }
    };
    let reader = &link.reader;
    let (provider_id, codes) = (&link.provider_id, &link.codes);
    let identity = crate::identity::parsed(config)?;
    let anchor = feed::preflight(
        reader,
        link.tag,
        head.block,
        &head.block_hash,
        head.input_count,
        pinned.block,
    )
    .await?;

    // 9: load H (its files stay untouched).
    let backend_kind = crate::identity::backend(config)?;
    let backend = wd.backend(backend_kind, &scratch)?;
    let machine_dir = wd.dir.head_dir(head).join("machine");
    let worker = checkpoint::load(backend, machine_dir, manifest, "head", |e| e).await?;

    // 10–12: feed, completeness, extraction.
    let ctl = RunControl {
        cycle_budget: config.max_cycles_per_input,
        deadline: deadline_instant(wd.settings.deadline),
        cancel: wd.cancel.clone(),
        ..RunControl::default()
    };
    let inputs_path = scratch.join("inputs.jsonl");
    let mut inputs_log =
        std::io::BufWriter::new(std::fs::File::create(&inputs_path).map_err(|e| {
            Error::fail(
                Class::Internal,
                "publish_failed",
                format!("{}: {e}", inputs_path.display()),
            )
        })?);
    let reporting = Reporting::start(
        wd.progress.as_deref(),
        anchor.input_count.saturating_sub(head.input_count),
    );
    let fed = feed::feed(
        reader,
        &worker,
        head.block,
        anchor.block,
        head.input_count,
        &mut inputs_log,
        &ctl,
        reporting.sink(),
    )
    .await;
    drop(reporting);
    let _ = inputs_log.flush();
    progress.machine = report::machine_record(&worker, backend_kind).await;
    let fed = fed?;
    progress.inputs = fed.inputs;
    if let Some(report) = &fed.report
        && let Some(span) = report.learned_span()
    {
        // A clean scan over full-span windows may try twice the span next time.
        let clean = report.range_errors == 0 && report.span_used.is_some();
        progress.span = Some((
            provider_id.clone(),
            if clean { span.saturating_mul(2) } else { span },
        ));
    }
    let canonical = if fed.stop.is_none() {
        feed::completeness(reader, &fed, &anchor).await?;
        let bytes = feed::extract(&worker, &identity.state_source, &ctl).await;
        progress.machine = report::machine_record(&worker, backend_kind).await;
        let bytes = bytes?;
        fsx::write_new(&scratch.join("canonical_state.bin"), &bytes)?;
        Some(bytes)
    } else {
        None
    };

    // 13: compare.
    let canonical_sha = canonical
        .as_ref()
        .map(|b| B256::from_slice(&Sha256::digest(b)));
    let mut agree = canonical_sha == Some(pinned.sha256);
    let sequencer_bytes = match &pinned.bytes {
        Some(path) => Some(fsx::read_capped(path, wd.settings.max_state_bytes)?),
        None => None,
    };
    if let (Some(a), Some(b)) = (&canonical, &sequencer_bytes) {
        agree &= a == b;
    }
    if agree {
        let Some(sha) = canonical_sha else {
            return Err(Error::fail(
                Class::Internal,
                "internal_error",
                "agreement without a canonical digest",
            ));
        };
        // Its bytes are synced; the entry becomes durable with the workspace's fsync in
        // `publish`, before the workspace is renamed into `checkpoints/`.
        fsx::rename_in(
            &scratch.join("canonical_state.bin"),
            &workspace.join(STATE_FILE),
        )?;
        fsx::remove_any(&scratch)?;
        let hash = worker.store(workspace.join("machine")).await;
        progress.machine = report::machine_record(&worker, backend_kind).await;
        let hash = hash.map_err(feed::store_error)?;
        let now = crate::state::clock::rfc3339(wd.clock.now_unix());
        let manifest = ManifestFile {
            template_hash: manifest.template_hash.clone(),
            ..new_manifest(
                backend_kind,
                &anchor,
                &sha,
                &hash,
                worker_version(&worker).await,
                "agreed",
                now,
            )
        };
        let new_head = HeadFile {
            version: 1,
            checkpoint: format!(
                "checkpoints/{}",
                checkpoint_name(anchor.block, anchor.input_count)
            ),
            block: anchor.block,
            input_count: anchor.input_count,
            state_sha256: hex::encode(sha),
            block_hash: format!("{:#x}", anchor.hash),
            agreed: true,
        };
        wd.dir
            .publish(&workspace, &manifest, &new_head)
            .map_err(|e| Error::fail(Class::Internal, "publish_failed", e.to_string()))?;
        // The workspace is the new checkpoint now: nothing is left to discard.
        progress.workspace = None;
        progress.head_block = Some(anchor.block);
        progress.finalized = Some((anchor.block, anchor.input_count));
        if let Err(e) = wd.dir.gc(Some(&new_head)) {
            tracing::warn!(target: "watchdog::gc", event = "gc_failed", error = %e, "gc failed");
        }
        tracing::info!(target: "watchdog::tick", event = "agreed", block = anchor.block, inputs = fed.inputs, "sequencer agrees");
        return Ok(TickEnd {
            outcome: Outcome::Agreed,
            reason: None,
            message: format!("sequencer agrees at block {}", anchor.block),
            incident_id: None,
            divergence_kind: None,
        });
    }

    // Divergence: a second provider, when configured, must agree before anything latches.
    confirm(wd, config, head, &anchor, &fed, codes, counters).await?;
    let kind = if fed.stop.is_some() {
        Finding::CanonicalMachineDead
    } else {
        Finding::StateMismatch
    };
    let now = wd.clock.now_unix();
    let difference = match (&canonical, &sequencer_bytes) {
        (Some(a), Some(b)) => first_difference(a, b),
        _ => None,
    };
    let event = WatchdogEvent {
        kind: kind.as_str().to_owned(),
        previous_safe_block: Some(head.block),
        sequencer_inclusion_block: Some(anchor.block),
        mismatch_offset: (kind == Finding::StateMismatch).then_some(difference.map(|d| d + 1)),
        first_difference: (kind == Finding::StateMismatch).then_some(difference),
        stop: fed.stop.clone(),
        canonical_sha256: canonical_sha.map(hex::encode),
        sequencer_sha256: Some(hex::encode(pinned.sha256)),
        previous_input_count: Some(head.input_count),
        input_count: Some(anchor.input_count),
        chain_id: Some(config.identity.chain_id),
        app_address: Some(config.identity.app_address.clone()),
        incident_id: WatchdogEvent::incident_id(now, kind.as_str(), anchor.block),
        detected_at: crate::state::clock::rfc3339(now),
        schema_version: 1,
    };
    let evidence = Evidence {
        sequencer_bytes,
        canonical,
        inputs: Some(scratch.join("inputs.jsonl")),
        worker: Some(&worker),
        client: Some(client.as_ref()),
        block: anchor.block,
    };
    let end = latch(wd, events, event, Some(head), evidence).await;
    progress.machine = report::machine_record(&worker, backend_kind).await;
    end
}

/// The bootstrap compare of step 5: the first comparison of a never-agreed head.
async fn bootstrap_compare(
    wd: &Watchdog,
    events: &mut dyn EventSink,
    config: &ConfigFile,
    head: &HeadFile,
    pinned: &Pinned,
) -> Result<TickEnd> {
    if hex::encode(pinned.sha256) == head.state_sha256 {
        let mut agreed = head.clone();
        agreed.agreed = true;
        wd.dir
            .write_head(&agreed)
            .map_err(|e| Error::fail(Class::Internal, "publish_failed", e.to_string()))?;
        tracing::info!(target: "watchdog::tick", event = "agreed", block = head.block, "bootstrap agreed");
        return Ok(TickEnd {
            outcome: Outcome::Agreed,
            reason: None,
            message: format!(
                "sequencer agrees with the bootstrap at block {}",
                head.block
            ),
            incident_id: None,
            divergence_kind: None,
        });
    }
    let sequencer_bytes = match &pinned.bytes {
        Some(path) => fsx::read_capped(path, wd.settings.max_state_bytes).ok(),
        None => None,
    };
    let now = wd.clock.now_unix();
    let canonical = fsx::read_capped(
        &wd.dir.head_dir(head).join(STATE_FILE),
        wd.settings.max_state_bytes,
    )
    .ok();
    let difference = match (&canonical, &sequencer_bytes) {
        (Some(a), Some(b)) => first_difference(a, b),
        _ => None,
    };
    let event = WatchdogEvent {
        kind: Finding::StateMismatch.as_str().to_owned(),
        previous_safe_block: Some(head.block),
        sequencer_inclusion_block: Some(pinned.block),
        mismatch_offset: Some(difference.map(|d| d + 1)),
        first_difference: Some(difference),
        stop: None,
        canonical_sha256: Some(head.state_sha256.clone()),
        sequencer_sha256: Some(hex::encode(pinned.sha256)),
        previous_input_count: Some(head.input_count),
        input_count: Some(head.input_count),
        chain_id: Some(config.identity.chain_id),
        app_address: Some(config.identity.app_address.clone()),
        incident_id: WatchdogEvent::incident_id(now, Finding::StateMismatch.as_str(), pinned.block),
        detected_at: crate::state::clock::rfc3339(now),
        schema_version: 1,
    };
    let evidence = Evidence {
        sequencer_bytes,
        canonical,
        inputs: None,
        worker: None,
        client: None,
        block: pinned.block,
    };
    latch(wd, events, event, Some(head), evidence).await
}

/// Latches `inclusion_block_regressed` (no L1 or machine work).
async fn regressed(
    wd: &Watchdog,
    events: &mut dyn EventSink,
    config: &ConfigFile,
    head: &HeadFile,
    block: u64,
) -> Result<TickEnd> {
    let now = wd.clock.now_unix();
    let kind = Finding::InclusionBlockRegressed.as_str();
    let event = WatchdogEvent {
        kind: kind.to_owned(),
        previous_safe_block: Some(head.block),
        sequencer_inclusion_block: Some(block),
        mismatch_offset: None,
        first_difference: None,
        stop: None,
        canonical_sha256: Some(head.state_sha256.clone()),
        sequencer_sha256: None,
        previous_input_count: Some(head.input_count),
        input_count: None,
        chain_id: Some(config.identity.chain_id),
        app_address: Some(config.identity.app_address.clone()),
        incident_id: WatchdogEvent::incident_id(now, kind, block),
        detected_at: crate::state::clock::rfc3339(now),
        schema_version: 1,
    };
    let evidence = Evidence {
        sequencer_bytes: None,
        canonical: None,
        inputs: None,
        worker: None,
        client: None,
        block,
    };
    latch(wd, events, event, Some(head), evidence).await
}
