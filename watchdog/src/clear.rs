//! `clear --block B --reason TEXT` (spec §6.3): the operator acknowledges the latched incident,
//! which moves to `incidents/<id>/` with a `resolution.json`. The head is unchanged, so the next
//! tick compares again and latches again if the fault persists.

use crate::core::Watchdog;
use crate::state::event::WatchdogEvent;
use crate::state::files::ResolutionFile;
use crate::state::incident::{self, UNREADABLE_MARKER};
use crate::state::lock::RunLock;
use crate::state::{StateError, clock};
use crate::{Class, Error, Outcome, Result, Summary};

const COMMAND: &str = "clear";

/// Longest `--reason`, in characters.
pub(crate) const MAX_REASON_CHARS: usize = 1024;

/// `--reason` is 1–1024 characters without control characters.
fn check_reason(reason: &str) -> Result<()> {
    let chars = reason.chars().count();
    if chars == 0 || chars > MAX_REASON_CHARS {
        return Err(Error::Usage(format!(
            "--reason must be 1 to {MAX_REASON_CHARS} characters, got {chars}"
        )));
    }
    if reason.chars().any(char::is_control) {
        return Err(Error::Usage(
            "--reason must not contain control characters".into(),
        ));
    }
    Ok(())
}

impl Watchdog {
    /// `clear --block B --reason TEXT` (spec §6.3): archives the latched incident into
    /// `incidents/`. `block` must be the incident's sequencer inclusion block.
    pub fn clear(&self, block: u64, reason: &str) -> Result<crate::Summary> {
        self.require_attached()?;
        run(self, block, reason)
    }
}

/// Runs `clear`.
pub(crate) fn run(wd: &Watchdog, block: u64, reason: &str) -> Result<Summary> {
    check_reason(reason)?;
    wd.dir.check_permissions().map_err(|e| match e {
        StateError::Fs(_) => Error::fail(
            Class::Operator,
            "no_incident",
            format!("{} is not a state directory", wd.dir.root().display()),
        ),
        other => other.into(),
    })?;
    let _lock = RunLock::try_acquire(&wd.dir.lock_path()).inspect_err(|_| {
        tracing::warn!(target: "watchdog::clear", event = "lock_busy", "another command holds run.lock");
    })?;
    // A foreign or broken config is reported as such, not cleared around.
    wd.dir.read_config()?;
    if !wd.dir.is_latched() {
        return Err(Error::fail(
            Class::Operator,
            "no_incident",
            "no incident is latched (incident/ does not exist)",
        ));
    }
    let event = incident::read_divergence(&wd.dir);
    if event.kind != UNREADABLE_MARKER
        && let Some(expected) = event.sequencer_inclusion_block
        && expected != block
    {
        return Err(Error::fail(
            Class::Operator,
            "wrong_block",
            format!(
                "--block {block} does not match the incident's sequencer inclusion block {expected}"
            ),
        ));
    }
    let now = wd.clock.now_unix();
    // Only a well-formed id names a directory; anything else gets one built here.
    let id = if WatchdogEvent::is_valid_incident_id(&event.incident_id) {
        event.incident_id.clone()
    } else {
        WatchdogEvent::incident_id(now, UNREADABLE_MARKER, block)
    };
    incident::mark_interrupted(&wd.dir);
    let resolution = ResolutionFile {
        version: 1,
        cleared_at: clock::rfc3339(now),
        block,
        reason: reason.to_owned(),
    };
    let archived = incident::archive(&wd.dir, &id, &resolution)?;
    tracing::info!(target: "watchdog::clear", event = "cleared", incident = %id, archived = %archived, "incident archived");
    let head = wd.dir.read_head().ok().flatten();
    let message = match &head {
        Some(head) => format!(
            "incident {id} archived to {archived}; the next tick compares again from block {}",
            head.block
        ),
        None => format!("incident {id} archived to {archived}"),
    };
    let mut summary = Summary::new(Some(COMMAND), Outcome::Cleared, message)
        .target_block(block)
        .incident_id(id)
        .extra("archived", &archived);
    if let Some(head) = head {
        summary = summary.head_block(head.block);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_bounded_and_printable() {
        assert!(check_reason("sequencer redeployed with fixed image").is_ok());
        assert!(check_reason(&"é".repeat(MAX_REASON_CHARS)).is_ok());
        for bad in [
            String::new(),
            "x".repeat(MAX_REASON_CHARS + 1),
            "a\nb".into(),
            "\u{1b}[31m".into(),
        ] {
            let error = check_reason(&bad).unwrap_err();
            assert_eq!(error.reason().as_str(), "usage", "{bad:?}");
        }
    }
}
