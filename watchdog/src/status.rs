//! `status` (spec §6.2): what the state directory says, as one summary line. No lock is
//! taken and nothing is written, so it can run beside a tick.

use std::fs;

use serde::Serialize;

use crate::core::Watchdog;
use crate::state::event::WatchdogEvent;
use crate::state::files::{self, HeadFile, LastTickFile, SpanFile};
use crate::state::fsx;
use crate::state::incident::{self, EvidenceFile};
use crate::{Class, Error, Outcome, Summary};

const COMMAND: &str = "status";

/// The `incident` extra: the latched event and its evidence index.
#[derive(Debug, Serialize)]
struct IncidentView {
    divergence: WatchdogEvent,
    evidence: Option<EvidenceFile>,
}

/// Reads a small JSON state file; `None` when absent or unreadable.
fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Option<T> {
    let bytes = fsx::read_capped(path, 1 << 20).ok()?;
    files::parse(&bytes, 1).ok()
}

/// Names of the checkpoint directories (`<B:020>-<N:020>`), sorted; temp entries excluded.
fn checkpoint_names(wd: &Watchdog) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(wd.dir.checkpoints())
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| !name.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn message(head: Option<&HeadFile>, incident: Option<&IncidentView>, has_config: bool) -> String {
    match (incident, head) {
        (Some(view), _) => format!(
            "incident {} ({}) is latched; `clear` it once handled",
            if view.divergence.incident_id.is_empty() {
                "with an unreadable marker"
            } else {
                &view.divergence.incident_id
            },
            view.divergence.kind
        ),
        (None, Some(head)) if head.agreed => {
            format!("head at block {} agreed with the sequencer", head.block)
        }
        (None, Some(head)) => {
            format!(
                "head at block {}: the bootstrap, never compared yet",
                head.block
            )
        }
        (None, None) if has_config => "init did not finish: no head.json".to_owned(),
        (None, None) => "not initialized: no config.json".to_owned(),
    }
}

impl Watchdog {
    /// `status` (spec §6.2): a read-only report; takes no lock and writes nothing. Exit 0
    /// while the state is readable (latched included), else 1 with what could be read.
    pub fn status(&self) -> crate::Summary {
        if let Err(error) = self.require_attached() {
            return crate::Summary::failed(Some("status"), &error);
        }
        run(self)
    }
}

/// Runs `status`.
pub(crate) fn run(wd: &Watchdog) -> Summary {
    let root = wd.dir.root();
    if !fs::symlink_metadata(root).is_ok_and(|m| m.is_dir()) {
        let error = Error::fail(
            Class::Operator,
            "missing_head",
            format!(
                "{} is not a state directory: run `init` first",
                root.display()
            ),
        );
        return Summary::failed(Some(COMMAND), &error)
            .extra("state_dir", &root.display().to_string())
            .extra("initialized", &false);
    }

    // The first problem found decides the failure; everything readable is still reported.
    let mut problem: Option<Error> = None;
    let config = wd.dir.read_config().unwrap_or_else(|e| {
        problem.get_or_insert(e.into());
        None
    });
    let head = wd.dir.read_head().unwrap_or_else(|e| {
        problem.get_or_insert(e.into());
        None
    });
    if let Some(head) = &head {
        let checked = wd
            .dir
            .read_manifest(&wd.dir.head_dir(head))
            .map_err(Error::from)
            .and_then(|manifest| crate::checkpoint::check_manifest(head, &manifest));
        if let Err(e) = checked {
            problem.get_or_insert(e);
        }
    }
    let incident = wd.dir.is_latched().then(|| IncidentView {
        divergence: incident::read_divergence(&wd.dir),
        evidence: incident::read_evidence(&wd.dir),
    });
    let last_tick: Option<LastTickFile> = read_json(&wd.dir.last_tick_path());
    let span: Option<SpanFile> = read_json(&wd.dir.span_path());
    let initialized = config.is_some() && head.is_some() && problem.is_none();

    let mut summary = match &problem {
        Some(error) => Summary::failed(Some(COMMAND), error),
        None => Summary::new(
            Some(COMMAND),
            Outcome::Ok,
            message(head.as_ref(), incident.as_ref(), config.is_some()),
        ),
    };
    if let Some(head) = &head {
        summary = summary.head_block(head.block);
    }
    if let Some(view) = &incident
        && !view.divergence.incident_id.is_empty()
    {
        summary = summary.incident_id(view.divergence.incident_id.clone());
    }
    summary
        .extra("state_dir", &root.display().to_string())
        .extra("initialized", &initialized)
        .extra("identity", &config.as_ref().map(|c| &c.identity))
        .extra("head", &head)
        .extra("latched", &incident.is_some())
        .extra("incident", &incident)
        .extra(
            "liveness",
            &last_tick.as_ref().and_then(|tick| tick.liveness),
        )
        .extra("last_tick", &last_tick)
        .extra("span", &span)
        .extra("checkpoints", &checkpoint_names(wd))
}
