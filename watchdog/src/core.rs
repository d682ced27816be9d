//! The library API of the state commands (spec §1.1): a [`Watchdog`] opened on a state
//! directory with resolved [`Settings`], an injectable [`Clock`], machine backend and
//! [`ProgressSink`], and blocking methods that each return a [`Summary`](crate::Summary).
//!
//! Injection points, with the spec's trait names:
//!
//! | Spec trait | Here | Injected with |
//! |---|---|---|
//! | `L1Provider` | alloy's `Provider` ([`l1::L1Provider`], any transport) | [`Watchdog::with_l1`] |
//! | `SequencerClient` | [`SequencerSource`] (implemented by [`SequencerClient`]) | [`Watchdog::with_sequencer`] |
//! | `MachineBackend` | [`machine::MachineBackend`] | [`Watchdog::with_backend`] |
//! | `Clock` | [`Clock`] | [`Watchdog::with_clock`] |
//! | `EventSink` | [`EventSink`](crate::EventSink) (every [`std::io::Write`] is one) | the `events` argument of [`Watchdog::tick`] |
//!
//! plus the [`ProgressSink`] ([`Watchdog::with_progress`]) and per-tick [`TickOptions`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use l1::{L1Provider, RequestBudget, RpcConfig};
use machine::{CartesiBackend, LoadOptions, MachineBackend, NativeBackend};
use sequencer_client::{RedactedUrl, SequencerClient};

use crate::options::{Backend, Settings};
use crate::progress::ProgressSink;
use crate::settings::Deadline;
use crate::source::SequencerSource;
use crate::state::layout::StateDir;
use crate::{Class, Error, Result};

/// Wall-clock time, injectable so tests and golden files are deterministic.
pub trait Clock: Send + Sync {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock stuck at one instant (tests, golden files).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now_unix(&self) -> u64 {
        self.0
    }
}

/// A watchdog on one state directory.
///
/// ```no_run
/// use std::sync::Arc;
/// use watchdog::{FixedClock, Settings, Watchdog};
///
/// let settings = Settings::default(); // or Settings::resolve(&args, &env)
/// let wd = Watchdog::open("/var/lib/watchdog", settings).with_clock(Arc::new(FixedClock(0)));
/// let mut alerts = Vec::new(); // receives the `watchdog_event` line of a new latch
/// let summary = wd.tick(&mut alerts);
/// println!("{}", summary.line());
/// std::process::exit(i32::from(summary.exit_code()));
/// ```
pub struct Watchdog {
    pub(crate) dir: StateDir,
    pub(crate) attached: bool,
    pub(crate) settings: Settings,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) backend_override: Option<Arc<dyn MachineBackend>>,
    pub(crate) progress: Option<Arc<dyn ProgressSink>>,
    pub(crate) cancel: Option<Arc<AtomicBool>>,
    pub(crate) l1_override: Option<L1Provider>,
    pub(crate) sequencer_override: Option<Arc<dyn SequencerSource>>,
}

/// Per-tick overrides of the library API (spec §1.1): each `Some` replaces the setting the
/// watchdog was opened with, for this tick only.
#[derive(Clone, Default)]
pub struct TickOptions {
    /// The whole tick's deadline (`Deadline(None)` = none).
    pub deadline: Option<Deadline>,
    /// A confirmation provider for this tick.
    pub confirm_rpc_url: Option<RedactedUrl>,
    /// The request budget per provider.
    pub max_rpc_requests: Option<u64>,
    /// Where replay progress goes.
    pub progress: Option<Arc<dyn ProgressSink>>,
    /// Set to `true` to abandon the tick at the next step: it ends `failed`,
    /// `transient/cancelled`, after finishing or abandoning the current durable step.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for TickOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TickOptions")
            .field("deadline", &self.deadline)
            .field("confirm_rpc_url", &self.confirm_rpc_url)
            .field("max_rpc_requests", &self.max_rpc_requests)
            .field("cancel", &self.cancel)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchdog")
            .field("dir", &self.dir)
            .field("settings", &self.settings)
            .finish()
    }
}

impl Watchdog {
    /// Opens the watchdog on `state_dir` (absolute) with `settings`. Nothing is read yet.
    pub fn open(state_dir: impl Into<PathBuf>, settings: Settings) -> Self {
        Self {
            dir: StateDir::new(state_dir),
            attached: true,
            settings,
            clock: Arc::new(SystemClock),
            backend_override: None,
            progress: None,
            cancel: None,
            l1_override: None,
            sequencer_override: None,
        }
    }

    /// A watchdog without a state directory: only [`replay`](Self::replay) with
    /// `from_checkpoint` works; the other commands fail with `operator/usage`.
    pub fn detached(settings: Settings) -> Self {
        Self {
            attached: false,
            ..Self::open(PathBuf::new(), settings)
        }
    }

    /// Reports replay progress to `sink` (e.g. a terminal progress bar).
    pub fn with_progress(mut self, sink: Arc<dyn ProgressSink>) -> Self {
        self.progress = Some(sink);
        self
    }

    /// Ticks read L1 through this provider (any alloy transport, e.g. a mock or an in-process
    /// node) instead of connecting to the configured RPC URL. Its requests are not counted
    /// against the request budget.
    pub fn with_l1(mut self, provider: L1Provider) -> Self {
        self.l1_override = Some(provider);
        self
    }

    /// Ticks read the sequencer through this source (a [`SequencerClient`] with its own URL,
    /// timeouts and caps, or a scripted double) instead of a client built from the configured
    /// URL and `--max-state-bytes`.
    pub fn with_sequencer(mut self, source: Arc<dyn SequencerSource>) -> Self {
        self.sequencer_override = Some(source);
        self
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the machine backend (e.g. a scripted fake in tests).
    pub fn with_backend(mut self, backend: Arc<dyn MachineBackend>) -> Self {
        self.backend_override = Some(backend);
        self
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        self.dir.root()
    }

    /// The backend that loads checkpoints of `kind`; libcartesi scratch space goes to `work`.
    /// Applies the recovery thread cap to the native engine (process-wide) on the way.
    pub(crate) fn backend(&self, kind: Backend, work: &Path) -> Result<Arc<dyn MachineBackend>> {
        canonical::set_recovery_threads(self.settings.recovery_threads.map_or(0, usize::from));
        if let Some(backend) = &self.backend_override {
            return Ok(backend.clone());
        }
        match kind {
            Backend::Native => Ok(Arc::new(NativeBackend)),
            Backend::Cartesi => {
                let backend = CartesiBackend::open(
                    self.settings.libcartesi_path.as_deref(),
                    LoadOptions::new(work),
                )
                .map_err(|e| {
                    Error::fail(Class::Operator, "libcartesi_unavailable", e.to_string())
                })?;
                Ok(Arc::new(backend))
            }
        }
    }
}

/// Connects to an L1 endpoint with the standard timeouts, counting requests on `budget`.
pub(crate) fn connect_l1(url: &RedactedUrl, budget: &RequestBudget) -> Result<L1Provider> {
    Ok(l1::connect(
        url.expose().as_str(),
        &RpcConfig::default(),
        budget,
    )?)
}

/// Builds the sequencer client, capping state downloads at `max_state_bytes`.
pub(crate) fn sequencer(url: &RedactedUrl, max_state_bytes: u64) -> Result<SequencerClient> {
    let limits = sequencer_client::Limits {
        state_bytes: max_state_bytes,
        ..Default::default()
    };
    SequencerClient::builder(url.clone())
        .limits(limits)
        .build()
        .map_err(|e| {
            Error::fail(
                Class::Operator,
                "config_invalid",
                format!("sequencer client: {e}"),
            )
        })
}

/// Runs `future` on a private current-thread runtime, within the deadline.
pub(crate) fn block_on<T>(
    deadline: Deadline,
    future: impl Future<Output = Result<T>>,
) -> Result<T> {
    block_on_cancellable(deadline, None, future)
}

/// Like [`block_on`], also abandoning `future` at its next await once `cancel` is set.
pub(crate) fn block_on_cancellable<T>(
    deadline: Deadline,
    cancel: Option<&Arc<AtomicBool>>,
    future: impl Future<Output = Result<T>>,
) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let bounded = async {
        match deadline.0 {
            None => future.await,
            Some(limit) => tokio::time::timeout(limit, future)
                .await
                .unwrap_or_else(|_| Err(Error::Deadline(human(limit)))),
        }
    };
    let Some(cancel) = cancel else {
        return runtime.block_on(bounded);
    };
    runtime.block_on(async {
        tokio::select! {
            result = bounded => result,
            () = cancelled(cancel) => Err(Error::fail(
                Class::Transient,
                "cancelled",
                "the command was cancelled",
            )),
        }
    })
}

/// A duration as the deadline flag spells it: `30m`, `90s`, `2h`, `250ms`.
fn human(d: Duration) -> String {
    match (d.as_secs(), d.subsec_millis()) {
        (s, 0) if s % 3600 == 0 && s > 0 => format!("{}h", s / 3600),
        (s, 0) if s % 60 == 0 && s > 0 => format!("{}m", s / 60),
        (s, 0) => format!("{s}s"),
        _ => format!("{}ms", d.as_millis()),
    }
}

/// Resolves once `flag` is set (checked every 20 ms).
async fn cancelled(flag: &AtomicBool) {
    while !flag.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The deadline as an instant, for machine runs.
pub(crate) fn deadline_instant(deadline: Deadline) -> Option<std::time::Instant> {
    deadline
        .0
        .map(|d| std::time::Instant::now() + d.min(Duration::from_secs(365 * 86_400)))
}

impl Watchdog {
    /// Fails unless the watchdog has a state directory.
    pub(crate) fn require_attached(&self) -> Result<()> {
        if self.attached {
            Ok(())
        } else {
            Err(Error::Usage(format!(
                "--state-dir (or {}) is required",
                crate::env::STATE_DIR
            )))
        }
    }
}
