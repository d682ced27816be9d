//! The senders of a batch's user ops, recovered ahead of the fold on a worker pool.
//!
//! Signature recovery is the dominant cost of a user op and independent per op, while the fold
//! must apply ops strictly in order. [`Senders`] hands the fold one recovered sender per op, in
//! batch order: the ops' recoveries are claimed one at a time by the pool's workers and by the
//! fold's own thread, which recovers the next unclaimed op whenever the sender it needs is not
//! ready yet, and recovers that op itself once every op is claimed, so it never waits for a
//! worker. The result is the same as recovering each op just before applying it.
//!
//! The pool holds at most [`recovery_threads`]` - 1` worker threads (the fold's thread is the
//! last one), spawned on the first batch large enough to gain from them and kept for the life
//! of the process. Batches with fewer than [`PARALLEL_MIN_OPS`] signatures to recover, and
//! every batch when the setting is 1, never touch the pool.
//!
//! A recovery that panics, wherever it runs, re-raises on the fold's thread with a
//! [`WorkerPanic`] payload, so the caller can tell a bug of ours from a guest outcome.

use std::any::Any;
use std::fmt;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use alloy_primitives::{Address, B256};

use crate::batch::{Batch, WireUserOp};
use crate::eip712::signing_hash_of;
use crate::signature::{SIGNATURE_LEN, recover_sender};

/// Batches with fewer signatures to recover than this are recovered on the fold's thread: the
/// hand-off to a worker costs about as much as a few recoveries.
pub const PARALLEL_MIN_OPS: usize = 8;

/// The thread cap; 0 means the machine's cores.
static MAX_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Caps the threads that recover one batch's senders, the fold's own thread included: `1`
/// recovers on the fold's thread only, `0` (the default) uses every core of the machine.
///
/// Process-wide; it applies from the next batch on. The fold's result does not depend on it.
pub fn set_recovery_threads(threads: usize) {
    MAX_THREADS.store(threads, Ordering::Relaxed);
}

/// The threads that recover one batch's senders, the fold's own thread included (at least 1).
pub fn recovery_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    match MAX_THREADS.load(Ordering::Relaxed) {
        0 => cores,
        cap => cap.min(cores),
    }
}

/// The recovery worker threads this process has spawned so far (they live as long as it does):
/// at most [`recovery_threads`]` - 1`, and 0 while the setting is 1.
pub fn recovery_workers() -> usize {
    POOL.workers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .len()
}

/// The payload a fold panics with when the recovery of a signature panicked, on a worker or on
/// the fold's own thread: an internal error of the caller, never an outcome of the canonical
/// guest (a guest panic is a [`Fatal`](crate::Fatal)). The engine must not be advanced again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerPanic {
    /// The worker's panic message.
    pub message: String,
}

impl fmt::Display for WorkerPanic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a signature recovery panicked: {}", self.message)
    }
}

/// The sender of one op: `None` for a signature of the wrong length or one that does not
/// recover (the fold skips the op).
fn recover_op(domain: &B256, op: &WireUserOp) -> Option<Address> {
    if op.signature.len() != SIGNATURE_LEN {
        return None;
    }
    let digest = signing_hash_of(domain, op.nonce, op.max_fee, &op.data);
    recover_sender(&digest, &op.signature)
}

/// A recovered sender (`None`: the op is skipped), or the message of a recovery that panicked.
type Recovered = Result<Option<Address>, String>;

/// [`recover_op`], turning a panic into its message.
///
/// Builds with the `failpoints` feature evaluate the fail point `canonical.recover` before each
/// recovery, so a test can make the k-th recovery of the process panic
/// (`FAILPOINTS=canonical.recover=3*off->panic`: every recovery after the third panics).
fn recover_caught(domain: &B256, op: &WireUserOp) -> Recovered {
    catch_unwind(AssertUnwindSafe(|| {
        #[cfg(test)]
        tests::maybe_panic(op.nonce);
        #[cfg(feature = "failpoints")]
        fail::fail_point!("canonical.recover");
        recover_op(domain, op)
    }))
    .map_err(|payload| panic_message(payload.as_ref()))
}

/// The sender of a recovery, or a [`WorkerPanic`] raised on the calling (the fold's) thread.
fn sender_or_raise(recovered: Recovered) -> Option<Address> {
    match recovered {
        Ok(sender) => sender,
        Err(message) => resume_unwind(Box::new(WorkerPanic { message })),
    }
}

/// One batch's recoveries, shared by the fold's thread and the workers.
pub(crate) struct Job {
    batch: Arc<Batch>,
    domain: B256,
    /// `(frame, op)` of every op, in batch order.
    positions: Vec<(usize, usize)>,
    /// The next op nobody has claimed yet.
    next: AtomicUsize,
    /// One slot per op, filled once by whoever claimed it.
    slots: Box<[OnceLock<Recovered>]>,
    /// The message of the first recovery that panicked, even one whose op the fold's thread
    /// recovered aside: raised at the fold's next op or at the end of the batch.
    panicked: OnceLock<String>,
}

impl Job {
    /// Recovers op `i`, turning a panic into its message.
    fn recover(&self, i: usize) -> Recovered {
        let (frame, op) = self.positions[i];
        recover_caught(&self.domain, &self.batch.frames[frame].user_ops[op])
    }

    /// Claims and recovers the next unclaimed op; `false` once every op is claimed.
    fn work_one(&self) -> bool {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= self.positions.len() {
            return false;
        }
        // Only the claimant fills a slot (the fold's thread may compute the same value
        // aside, see `next_sender`), so this never finds it taken.
        let recovered = self.recover(i);
        if let Err(message) = &recovered {
            let _ = self.panicked.set(message.clone());
        }
        let _ = self.slots[i].set(recovered);
        true
    }

    /// Raises a [`WorkerPanic`] if a recovery of this batch panicked so far.
    fn raise_if_panicked(&self) {
        if let Some(message) = self.panicked.get() {
            resume_unwind(Box::new(WorkerPanic {
                message: message.clone(),
            }));
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".to_owned())
}

/// The process's recovery workers, each fed through its own channel.
struct Pool {
    workers: Mutex<Vec<Sender<Arc<Job>>>>,
}

static POOL: LazyLock<Pool> = LazyLock::new(|| Pool {
    workers: Mutex::new(Vec::new()),
});

impl Pool {
    /// Hands `job` to `count` workers, spawning the missing ones. A worker that cannot be
    /// spawned or reached is simply not used: the fold's thread does its share.
    fn share(&self, job: &Arc<Job>, count: usize) {
        let mut workers = self
            .workers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while workers.len() < count {
            let (sender, receiver) = channel::<Arc<Job>>();
            let spawned = std::thread::Builder::new()
                .name(format!("recovery-{}", workers.len() + 1))
                .spawn(move || {
                    while let Ok(job) = receiver.recv() {
                        while job.work_one() {}
                    }
                });
            if spawned.is_err() {
                break;
            }
            workers.push(sender);
        }
        for worker in workers.iter().take(count) {
            let _ = worker.send(Arc::clone(job));
        }
    }
}

/// The senders of a batch's ops, handed out in batch order.
pub(crate) enum Senders {
    /// Recovered on the fold's thread as they are asked for.
    Inline {
        batch: Arc<Batch>,
        domain: B256,
        frame: usize,
        op: usize,
    },
    /// Recovered ahead by the pool and the fold's thread.
    Pooled { job: Arc<Job>, next: usize },
}

impl Senders {
    /// Starts recovering the senders of `batch`'s ops under `domain`.
    pub(crate) fn start(batch: Arc<Batch>, domain: B256) -> Self {
        let signed = batch
            .frames
            .iter()
            .flat_map(|frame| &frame.user_ops)
            .filter(|op| op.signature.len() == SIGNATURE_LEN)
            .count();
        let threads = recovery_threads();
        if threads <= 1 || signed < PARALLEL_MIN_OPS {
            return Self::Inline {
                batch,
                domain,
                frame: 0,
                op: 0,
            };
        }
        let positions: Vec<(usize, usize)> = batch
            .frames
            .iter()
            .enumerate()
            .flat_map(|(f, frame)| (0..frame.user_ops.len()).map(move |o| (f, o)))
            .collect();
        let slots = positions.iter().map(|_| OnceLock::new()).collect();
        let job = Arc::new(Job {
            batch,
            domain,
            positions,
            next: AtomicUsize::new(0),
            slots,
            panicked: OnceLock::new(),
        });
        // A worker for every spare thread, but not more than there is work to share.
        POOL.share(&job, (threads - 1).min(signed / PARALLEL_MIN_OPS));
        Self::Pooled { job, next: 0 }
    }

    /// The sender of the next op in batch order (call it once per op).
    ///
    /// # Panics
    ///
    /// With a [`WorkerPanic`] payload if the recovery of that op panicked (on a worker or on
    /// this thread).
    pub(crate) fn next_sender(&mut self) -> Option<Address> {
        match self {
            Self::Inline {
                batch,
                domain,
                frame,
                op,
            } => {
                while *op >= batch.frames.get(*frame)?.user_ops.len() {
                    *frame += 1;
                    *op = 0;
                }
                let recovered = recover_caught(domain, &batch.frames[*frame].user_ops[*op]);
                *op += 1;
                sender_or_raise(recovered)
            }
            Self::Pooled { job, next } => {
                job.raise_if_panicked();
                let i = *next;
                let slot = job.slots.get(i)?;
                *next += 1;
                // Not ready: recover the next unclaimed op here; once all are claimed, recover
                // this one here too rather than wait for a worker that may be waiting for a
                // core (recovery is pure, so both give the same sender).
                let outcome = loop {
                    if let Some(outcome) = slot.get() {
                        break outcome.clone();
                    }
                    if !job.work_one() {
                        break job.recover(i);
                    }
                };
                sender_or_raise(outcome)
            }
        }
    }
}

impl Senders {
    /// Ends the batch: raises a [`WorkerPanic`] if a recovery panicked, even one whose result
    /// the fold did not wait for. Never waits for a worker.
    pub(crate) fn finish(&self) {
        if let Self::Pooled { job, .. } = self {
            job.raise_if_panicked();
        }
    }
}

impl Drop for Senders {
    /// A fold that stops early (a fatal input) leaves the rest of the batch unclaimed.
    fn drop(&mut self) {
        if let Self::Pooled { job, .. } = self {
            job.next.store(job.positions.len(), Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::Bytes;

    use super::*;
    use crate::batch::Frame;
    use crate::eip712::{UserOp, signing_hash_with_domain};
    use crate::signature::{address_of, sign_hash};

    /// The nonce of the op whose recovery panics (`u32::MAX`: none).
    static PANIC_AT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(u32::MAX);

    pub(super) fn maybe_panic(nonce: u32) {
        assert_ne!(
            nonce,
            PANIC_AT.load(Ordering::Relaxed),
            "injected recovery panic"
        );
    }

    /// This process's threads named as recovery workers (Linux: `/proc/self/task/*/comm`).
    fn named_recovery_workers() -> usize {
        std::fs::read_dir("/proc/self/task")
            .map(|tasks| {
                tasks
                    .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
                    .filter(|name| name.starts_with("recovery-"))
                    .count()
            })
            .unwrap_or(0)
    }

    fn batch(ops: usize, domain: &B256) -> (Arc<Batch>, Vec<Option<Address>>) {
        let secret = B256::repeat_byte(0x42);
        let mut expected = Vec::new();
        let user_ops = (0..ops as u32)
            .map(|nonce| {
                let op = UserOp {
                    nonce,
                    max_fee: 1,
                    data: Bytes::new(),
                };
                let mut signature = sign_hash(&secret, &signing_hash_with_domain(domain, &op))
                    .unwrap()
                    .to_vec();
                // Every third signature is cut short and is skipped.
                if nonce % 3 == 2 {
                    signature.pop();
                    expected.push(None);
                } else {
                    expected.push(address_of(&secret));
                }
                WireUserOp {
                    nonce,
                    max_fee: 1,
                    data: op.data,
                    signature: signature.into(),
                }
            })
            .collect();
        let frame = Frame {
            user_ops,
            safe_block: 1,
            fee_price: 0,
        };
        let batch = Batch {
            nonce: 0,
            frames: vec![Frame::default(), frame, Frame::default()],
        };
        (Arc::new(batch), expected)
    }

    fn drain(mut senders: Senders, count: usize) -> Vec<Option<Address>> {
        (0..count).map(|_| senders.next_sender()).collect()
    }

    /// One test, because the pool and the setting are process-wide.
    #[test]
    fn small_batches_stay_on_the_fold_thread_and_large_ones_use_the_pool() {
        let domain = B256::repeat_byte(7);
        // 10 ops, 7 with a full-length signature: below the threshold.
        let (small, expected) = batch(10, &domain);
        let senders = Senders::start(small, domain);
        assert!(matches!(senders, Senders::Inline { .. }));
        assert_eq!(drain(senders, 10), expected);
        assert_eq!(named_recovery_workers(), 0, "no thread for a small batch");
        assert_eq!(recovery_workers(), 0);

        let (large, expected) = batch(60, &domain);
        let senders = Senders::start(large, domain);
        assert_eq!(
            matches!(senders, Senders::Pooled { .. }),
            recovery_threads() > 1
        );
        assert_eq!(drain(senders, 60), expected);
        assert_eq!(named_recovery_workers(), recovery_threads() - 1);
        assert_eq!(recovery_workers(), recovery_threads() - 1);

        set_recovery_threads(1);
        let (large, expected) = batch(60, &domain);
        let senders = Senders::start(large, domain);
        assert!(matches!(senders, Senders::Inline { .. }));
        assert_eq!(drain(senders, 60), expected);

        // On the fold's thread too, a panic while recovering is a `WorkerPanic`.
        let (large, _) = batch(40, &domain);
        PANIC_AT.store(30, Ordering::Relaxed);
        let senders = Senders::start(large, domain);
        let caught = catch_unwind(AssertUnwindSafe(|| drain(senders, 40)));
        PANIC_AT.store(u32::MAX, Ordering::Relaxed);
        set_recovery_threads(0);
        let payload = caught.unwrap_err();
        let panic = payload.downcast_ref::<WorkerPanic>().unwrap();
        assert!(panic.message.contains("injected recovery panic"), "{panic}");

        // Through the engine, on whichever thread recovers op 30: the fold unwinds with it.
        let builder = crate::InputBuilder::new(crate::WalletConfig::devnet(), Address::ZERO);
        let method = crate::Method::Transfer {
            amount: alloy_primitives::U256::from(1u64),
            to: Address::repeat_byte(0xb0),
        };
        let user_ops = (0..40)
            .map(|nonce| {
                builder
                    .sign(&B256::repeat_byte(0x42), nonce, 1, &method)
                    .unwrap()
            })
            .collect();
        let frame = Frame {
            user_ops,
            safe_block: 1,
            fee_price: 0,
        };
        let input = builder.batch(
            &Batch {
                nonce: 0,
                frames: vec![frame],
            },
            1,
            0,
        );
        PANIC_AT.store(30, Ordering::Relaxed);
        let mut engine = crate::Engine::new(crate::WalletConfig::devnet());
        let caught = catch_unwind(AssertUnwindSafe(|| engine.advance(&input)));
        PANIC_AT.store(u32::MAX, Ordering::Relaxed);
        let payload = caught.unwrap_err();
        assert!(payload.downcast_ref::<WorkerPanic>().is_some());

        // A panic while recovering on a worker surfaces on the fold's thread as a `WorkerPanic`.
        if recovery_threads() < 2 {
            return; // No pool on a one-core machine.
        }
        let (large, _) = batch(40, &domain);
        PANIC_AT.store(30, Ordering::Relaxed);
        let senders = Senders::start(large, domain);
        let caught = catch_unwind(AssertUnwindSafe(|| drain(senders, 40)));
        PANIC_AT.store(u32::MAX, Ordering::Relaxed);
        let payload = caught.unwrap_err();
        let panic = payload.downcast_ref::<WorkerPanic>().unwrap();
        assert!(panic.message.contains("injected recovery panic"), "{panic}");
    }
}
