//! The sequencer edge as an injected [`SequencerSource`] (spec §1.1): a scripted sequencer
//! drives a tick through the library without any HTTP server, pinning B by digest or by
//! download. A stable one agrees; a tampered claim latches, even when the sequencer answers
//! differently for the same block on a later request.

use std::{
    collections::VecDeque,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use alloy_primitives::B256;
use sequencer_client::{
    Error, FinalizedDigest, FinalizedPoint, InputCursor, Route, StateBytes, StateFile, StateMeta,
};
use sha2::{Digest, Sha256};
use watchdog::{SequencerSource, SourceFuture, Summary, options::PinMode};

use crate::rig::{Rig, wallet_inputs};

/// A sequencer at one block whose digests are scripted: each digest request takes the next
/// one, the last repeats. Downloads write `bytes` and report their SHA-256.
struct Scripted {
    block: u64,
    count: u64,
    digests: Mutex<VecDeque<B256>>,
    bytes: Vec<u8>,
    requests: AtomicU64,
}

impl Scripted {
    fn new(block: u64, count: u64, digests: &[B256], bytes: Vec<u8>) -> Self {
        Self {
            block,
            count,
            digests: Mutex::new(digests.iter().copied().collect()),
            bytes,
            requests: AtomicU64::new(0),
        }
    }

    fn meta(&self) -> StateMeta {
        StateMeta {
            inclusion_block: self.block,
            cursor: Some(InputCursor::ExecutedInputCount(self.count)),
            etag: None,
            history_era: None,
            recovery_generation: None,
        }
    }

    fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }
}

impl SequencerSource for Scripted {
    fn inclusion_block(&self) -> SourceFuture<'_, FinalizedPoint> {
        self.count_request();
        let point = FinalizedPoint {
            inclusion_block: self.block,
            cursor: InputCursor::ExecutedInputCount(self.count),
        };
        Box::pin(async move { Ok(point) })
    }

    fn digest(&self) -> SourceFuture<'_, FinalizedDigest> {
        self.count_request();
        let mut digests = self.digests.lock().unwrap();
        let next = if digests.len() > 1 {
            digests.pop_front()
        } else {
            digests.front().copied()
        };
        let answer = next
            .map(|sha256| FinalizedDigest {
                inclusion_block: self.block,
                cursor: InputCursor::ExecutedInputCount(self.count),
                sha256,
            })
            .ok_or(Error::NotFound {
                route: Route::Digest,
            });
        Box::pin(async move { answer })
    }

    fn download_state_to_file<'a>(&'a self, path: &'a Path) -> SourceFuture<'a, StateFile> {
        self.count_request();
        Box::pin(async move {
            std::fs::write(path, &self.bytes).map_err(|source| Error::Io {
                path: path.to_owned(),
                source,
            })?;
            Ok(StateFile {
                meta: self.meta(),
                len: self.bytes.len() as u64,
                sha256: sha(&self.bytes),
            })
        })
    }

    fn download_state(&self, _max_bytes: u64) -> SourceFuture<'_, StateBytes> {
        self.count_request();
        let state = StateBytes {
            meta: self.meta(),
            bytes: self.bytes.clone(),
            sha256: sha(&self.bytes),
        };
        Box::pin(async move { Ok(state) })
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

fn sha(bytes: &[u8]) -> B256 {
    B256::from_slice(&Sha256::digest(bytes))
}

fn tick_through(rig: &Rig, source: Arc<Scripted>, pin: PinMode) -> (Summary, String) {
    let mut settings = rig.settings();
    settings.state_pin = pin;
    let mut events = Vec::new();
    let summary = rig
        .watchdog_with(settings)
        .with_sequencer(source)
        .tick(&mut events);
    (summary, String::from_utf8(events).unwrap())
}

#[test]
fn a_scripted_sequencer_that_agrees_publishes_with_two_requests() {
    let rig = Rig::initialized(wallet_inputs());
    let (count, canonical) = rig.canonical(12);
    let stable = Arc::new(Scripted::new(
        12,
        count,
        &[sha(&canonical)],
        canonical.clone(),
    ));
    let (summary, events) = tick_through(&rig, stable.clone(), PinMode::Digest);
    assert_eq!(summary.outcome().as_str(), "agreed", "{}", summary.line());
    assert!(events.is_empty(), "{events}");
    assert_eq!(stable.requests(), 2, "one poll, one digest");
    assert!(
        rig.file("head.json")
            .contains("\"block\":12,\"input_count\":5")
    );
    let last: serde_json::Value = serde_json::from_str(&rig.file("last_tick.json")).unwrap();
    assert_eq!(last["rpc_requests"]["sequencer"], 2, "{last}");
}

#[test]
fn a_sequencer_that_changes_its_digest_between_requests_still_latches() {
    let rig = Rig::initialized(wallet_inputs());
    let (count, canonical) = rig.canonical(12);
    let mut tampered = canonical.clone();
    tampered[40] ^= 0xff;

    // The pinned claim is the tampered digest; every later request (the evidence download
    // included) gets the canonical one. Two answers for one block are no excuse: the claim
    // the tick pinned is compared and latched.
    let flipping = Arc::new(Scripted::new(
        12,
        count,
        &[sha(&tampered), sha(&canonical)],
        canonical.clone(),
    ));
    let (summary, events) = tick_through(&rig, flipping, PinMode::Digest);
    assert_eq!(summary.exit_code(), 2, "{}", summary.line());
    assert_eq!(
        summary.reason_value().map(|r| r.as_str()),
        Some("state_mismatch"),
        "{}",
        summary.line()
    );
    assert_eq!(events.lines().count(), 1, "one event: {events}");
    assert!(events.contains(&hex::encode(sha(&tampered))), "{events}");
    assert!(rig.state.join("incident").is_dir());
}

#[test]
fn a_tampered_state_pinned_by_download_latches() {
    let rig = Rig::initialized(wallet_inputs());
    let (count, canonical) = rig.canonical(12);
    let mut tampered = canonical;
    tampered[40] ^= 0xff;
    let source = Arc::new(Scripted::new(12, count, &[], tampered.clone()));
    let (summary, events) = tick_through(&rig, source.clone(), PinMode::Download);
    assert_eq!(summary.exit_code(), 2, "{}", summary.line());
    assert_eq!(events.lines().count(), 1, "one event: {events}");
    assert!(events.contains(&hex::encode(sha(&tampered))), "{events}");
    assert_eq!(
        source.requests(),
        2,
        "one poll, one download (the evidence reuses it)"
    );
    let evidence = rig.state.join("incident/sequencer_state.bin");
    assert_eq!(std::fs::read(evidence).unwrap(), tampered);
}
