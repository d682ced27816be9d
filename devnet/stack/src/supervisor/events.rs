//! Lifecycle events of a supervisor: what happened to the stack, in order, each with a sequence
//! number and a time. They are appended to `events.jsonl` in the state directory (one JSON
//! object a line, readable after the supervisor is gone), kept in memory for the control API's
//! `GET /v1/events`, and broadcast to followers (`devnet events --follow`).
//!
//! Kinds: `started`, `resumed` (the kept chain's head, before `ready`), `ready` (or `failed`),
//! `child_exited` (component, exit `code` or `signal`), `restart_scheduled` (component,
//! `delay_ms`, `attempt`), `restarted` (component), `sequencer_replaced` (binary),
//! `snapshot_saved` (name, block), `restoring` / `restored` (name, block, hash) or
//! `restore_failed` (name, reason), `reorged` (depth, old and new head hashes), `gave_up` (component, reason), `degraded` (reasons),
//! `recovered`, `stopping`, `stopped`.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use alloy::primitives::B256;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::state_file::now_ms;

/// The events file's name in the state directory.
pub const EVENTS_FILE: &str = "events.jsonl";

/// How many events the supervisor keeps in memory for late readers.
const KEPT: usize = 1024;

/// One lifecycle event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The supervisor took the state directory and starts bringing the stack up.
    Started {
        /// The run id.
        run_id: String,
        /// The supervisor's pid.
        pid: u32,
    },
    /// Bringing the stack up failed; `stopped` follows.
    Failed {
        /// Why.
        reason: String,
    },
    /// The chain kept by `devnet down --keep` runs again (before `ready`).
    Resumed {
        /// The kept head.
        block_number: u64,
        /// Its hash (checked on the resumed chain).
        block_hash: B256,
        /// The run that kept it.
        kept_by: String,
    },
    /// Every component runs and answers.
    Ready {
        /// Milliseconds from start to ready.
        ready_after_ms: u64,
    },
    /// A child process exited by itself.
    ChildExited {
        /// `anvil` or `sequencer`.
        component: String,
        /// Its exit code, if it exited.
        code: Option<i32>,
        /// The signal that ended it, if one did.
        signal: Option<i32>,
        /// How it ended, as text.
        status: String,
    },
    /// A restart is due after a backoff.
    RestartScheduled {
        /// `anvil` or `sequencer`.
        component: String,
        /// The backoff.
        delay_ms: u64,
        /// The how-manieth restart this is.
        attempt: u32,
    },
    /// A component runs again.
    Restarted {
        /// `anvil` or `sequencer`.
        component: String,
        /// Its new pid.
        pid: Option<u32>,
    },
    /// The sequencer was replaced on request (rolling restart), the L1 untouched.
    SequencerReplaced {
        /// The binary it runs now.
        binary: PathBuf,
        /// Its new pid.
        pid: Option<u32>,
    },
    /// The running stack was saved as a snapshot.
    SnapshotSaved {
        /// The snapshot.
        name: String,
        /// The L1 head it holds.
        block_number: u64,
    },
    /// The stack is being rewound to a snapshot: the sequencer stops, anvil restarts on the
    /// snapshot's chain.
    Restoring {
        /// The snapshot.
        name: String,
        /// The L1 head it holds.
        block_number: u64,
    },
    /// The L1 and the sequencer run again, rewound to the snapshot.
    Restored {
        /// The snapshot.
        name: String,
        /// The L1 head it holds.
        block_number: u64,
        /// Its hash (checked on the restored chain).
        block_hash: B256,
    },
    /// The restore failed; the stack runs on as before (or the restart policy takes over).
    RestoreFailed {
        /// The snapshot.
        name: String,
        /// Why.
        reason: String,
    },
    /// The newest blocks of the L1 were replaced on request (`devnet reorg`).
    Reorged {
        /// How many blocks.
        depth: u64,
        /// The head after it.
        head: u64,
        /// The head's hash before.
        old_head_hash: B256,
        /// The head's hash after.
        new_head_hash: B256,
    },
    /// A component exhausted its restarts; the supervisor stops.
    GaveUp {
        /// `anvil` or `sequencer`.
        component: String,
        /// Its last failure.
        reason: String,
    },
    /// The stack runs but does not make progress (or a check fails).
    Degraded {
        /// Every failing check.
        reasons: Vec<String>,
    },
    /// The stack makes progress again.
    Recovered,
    /// The supervisor tears down.
    Stopping,
    /// Torn down; the last event of a run.
    Stopped,
}

/// An event with its place in the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// 1, 2, … within a run.
    pub seq: u64,
    /// When (ms since the Unix epoch).
    pub at_ms: u64,
    /// What.
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug)]
struct Inner {
    next: u64,
    kept: VecDeque<Event>,
    file: Option<File>,
}

/// Where events go: the file, the in-memory history, the followers. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventLog {
    inner: Arc<Mutex<Inner>>,
    tx: broadcast::Sender<Event>,
    followers: Arc<AtomicUsize>,
}

/// Counts a follower's stream while it lives (see [`EventLog::follower`]).
#[derive(Debug)]
pub struct FollowerGuard(Arc<AtomicUsize>);

impl Drop for FollowerGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl EventLog {
    /// A log appending to `<dir>/events.jsonl`, truncated first (a new run starts a new file).
    /// A file that cannot be opened leaves the log in memory only.
    pub fn create(dir: &Path) -> Self {
        let path = dir.join(EVENTS_FILE);
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .inspect_err(|e| {
                tracing::warn!(target: "devnet::supervisor", path = %path.display(), error = %e, "events file not opened");
            })
            .ok();
        let (tx, _) = broadcast::channel(KEPT);
        Self {
            inner: Arc::new(Mutex::new(Inner {
                next: 1,
                kept: VecDeque::new(),
                file,
            })),
            tx,
            followers: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Registers a follower stream until the guard is dropped.
    pub fn follower(&self) -> FollowerGuard {
        self.followers.fetch_add(1, Ordering::SeqCst);
        FollowerGuard(Arc::clone(&self.followers))
    }

    /// Waits (at most `limit`) until every follower stream has ended, so the last events
    /// reach them before the supervisor exits.
    pub async fn drain_followers(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.followers.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Records `kind`: numbered, stamped, written, kept and broadcast.
    pub fn emit(&self, kind: EventKind) -> Event {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let event = Event {
            seq: inner.next,
            at_ms: now_ms(),
            kind,
        };
        inner.next += 1;
        if let Some(file) = inner.file.as_mut()
            && let Ok(line) = serde_json::to_string(&event)
        {
            let _ = writeln!(file, "{line}");
        }
        if inner.kept.len() == KEPT {
            inner.kept.pop_front();
        }
        inner.kept.push_back(event.clone());
        // Sent under the lock, so a follower that subscribed under it misses nothing.
        let _ = self.tx.send(event.clone());
        drop(inner);
        tracing::debug!(target: "devnet::supervisor", seq = event.seq, "event");
        event
    }

    /// The kept events after `since` (a sequence number; 0 = all), and a receiver of every
    /// later one, taken atomically.
    pub fn since(&self, since: u64) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let past = inner
            .kept
            .iter()
            .filter(|e| e.seq > since)
            .cloned()
            .collect();
        (past, self.tx.subscribe())
    }
}

/// Reads the events a (possibly finished) run wrote to `dir/events.jsonl`; lines that do not
/// parse are skipped.
pub fn read_events(dir: &Path) -> std::io::Result<Vec<Event>> {
    let text = match std::fs::read_to_string(dir.join(EVENTS_FILE)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_numbered_written_and_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::create(dir.path());
        log.emit(EventKind::Stopping);
        let (past, mut rx) = log.since(0);
        assert_eq!(past.len(), 1);
        log.emit(EventKind::ChildExited {
            component: "sequencer".into(),
            code: None,
            signal: Some(9),
            status: "signal: 9 (SIGKILL)".into(),
        });
        let next = rx.try_recv().unwrap();
        assert_eq!(next.seq, 2);
        assert_eq!(log.since(1).0, vec![next.clone()]);
        let on_disk = read_events(dir.path()).unwrap();
        assert_eq!(on_disk.len(), 2);
        assert_eq!(on_disk[1], next);
        let line = serde_json::to_value(&next).unwrap();
        assert_eq!(line["kind"], "child_exited");
        assert_eq!(line["signal"], 9);
        assert_eq!(read_events(&dir.path().join("nowhere")).unwrap(), []);
    }
}
