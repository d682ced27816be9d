//! The supervision loop: exits, scheduled restarts, health, log rotation, persistence,
//! teardown; the control API's requests are answered in [`requests`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

mod requests;

use super::Outcome;
use super::control::{ControlRequest, ControlServer};
use super::events::{EventKind, EventLog};
use super::health::{self, Health};
use super::restart::{Decision, RestartPolicy, RestartTracker};
use crate::front::Front;
use crate::local::{LocalStack, wipe};
use crate::persist;
use crate::state_file::{
    Component, ComponentState, ProcessRecord, RunState, StateFile, SupervisorLock,
};

/// How often exits and due restarts are looked at.
const TICK: Duration = Duration::from_millis(100);
/// How often a healthy devnet logs a heartbeat.
const HEARTBEAT: Duration = Duration::from_secs(60);
/// How often the log sizes are checked against their cap.
const LOG_CHECK: Duration = Duration::from_secs(1);
/// The logs the supervisor bounds.
const LOGS: [&str; 3] = ["anvil", "sequencer", "supervisor"];

/// Everything the loop owns.
pub(super) struct Parts {
    pub(super) dir: PathBuf,
    pub(super) stack: LocalStack,
    pub(super) l1_front: Front,
    pub(super) seq_front: Front,
    pub(super) state: StateFile,
    pub(super) publish: watch::Sender<StateFile>,
    pub(super) lock: SupervisorLock,
    pub(super) policy: RestartPolicy,
    pub(super) health_interval: Duration,
    pub(super) stall_after: Duration,
    pub(super) logs: crate::logs::LogPolicy,
    pub(super) keep: bool,
    pub(super) events: EventLog,
    pub(super) control: ControlServer,
    pub(super) requests: mpsc::Receiver<ControlRequest>,
}

pub(super) struct Runner {
    parts: Parts,
    anvil: RestartTracker,
    sequencer: RestartTracker,
    anvil_restart_at: Option<Instant>,
    sequencer_restart_at: Option<Instant>,
    next_health: Instant,
    next_heartbeat: Instant,
    next_log_check: Instant,
    progress: health::Progress,
    http: reqwest::Client,
    /// Set when a control request made a component give up.
    given_up: Option<Outcome>,
}

/// Records the running anvil in `component`.
pub(super) fn record_anvil(component: &mut Component, stack: &LocalStack) {
    let anvil = stack.devnet().anvil();
    component.state = ComponentState::Running;
    component.process = Some(ProcessRecord {
        pid: anvil.pid(),
        start_time: crate::process::start_time(anvil.pid()),
    });
    component.url = Some(anvil.endpoint().to_owned());
    component.health = None;
}

/// Records the running sequencer in `component`.
pub(super) fn record_sequencer(component: &mut Component, stack: &LocalStack) {
    component.state = ComponentState::Running;
    component.process = stack.sequencer_pid().map(|pid| ProcessRecord {
        pid,
        start_time: stack.sequencer_start_time(),
    });
    component.url = Some(stack.sequencer_url().to_owned());
    component.control_url = stack.control_url().map(str::to_owned);
    component.health = None;
}

impl Runner {
    pub(super) fn new(parts: Parts) -> Self {
        let now = Instant::now();
        Self {
            anvil: RestartTracker::new(parts.policy, now),
            sequencer: RestartTracker::new(parts.policy, now),
            anvil_restart_at: None,
            sequencer_restart_at: None,
            next_health: now,
            next_heartbeat: now + HEARTBEAT,
            next_log_check: now,
            progress: health::Progress::default(),
            http: reqwest::Client::new(),
            given_up: None,
            parts,
        }
    }

    /// Runs until a stop request (or the handle is dropped) or a component gives up, then tears
    /// down.
    pub(super) async fn run(mut self, mut stop: watch::Receiver<bool>) -> anyhow::Result<Outcome> {
        let outcome = loop {
            let request = tokio::select! {
                _ = stop.wait_for(|stop| *stop) => break Outcome::Stopped,
                Some(request) = self.parts.requests.recv() => Some(request),
                () = tokio::time::sleep(TICK) => None,
            };
            if let Some(request) = request {
                self.handle(request).await;
            }
            if let Some(outcome) = self.step().await {
                break outcome;
            }
        };
        self.teardown(outcome).await
    }

    async fn step(&mut self) -> Option<Outcome> {
        if let Some(outcome) = self.given_up.take() {
            return Some(outcome);
        }
        let now = Instant::now();
        if now >= self.next_log_check {
            self.next_log_check = now + LOG_CHECK;
            self.bound_logs();
        }
        if self.anvil_restart_at.is_none() && self.parts.stack.anvil_exited() {
            tracing::warn!(target: "devnet::supervisor", "anvil exited");
            self.parts.l1_front.set_target(None);
            self.parts.seq_front.set_target(None);
            let component = &mut self.parts.state.components.anvil;
            let pid = component.process.take().map(|p| p.pid);
            let (code, signal) = pid
                .and_then(crate::process::zombie_exit)
                .unwrap_or((None, None));
            component.last_exit = Some("exited".to_owned());
            self.parts.events.emit(EventKind::ChildExited {
                component: "anvil".to_owned(),
                code,
                signal,
                status: "exited".to_owned(),
            });
            if let Some(outcome) = self.schedule(Which::Anvil, now, "exited".to_owned()) {
                return Some(outcome);
            }
        }
        if self.anvil_restart_at.is_some_and(|at| now >= at) {
            return self.restart_anvil().await;
        }
        if self.anvil_restart_at.is_some() {
            return None;
        }
        if self.sequencer_restart_at.is_none()
            && let Some(exit) = self.parts.stack.sequencer_exit()
        {
            tracing::warn!(target: "devnet::supervisor", status = %exit.status, "the sequencer exited");
            self.parts.seq_front.set_target(None);
            let component = &mut self.parts.state.components.sequencer;
            component.process = None;
            component.last_exit = Some(exit.status.clone());
            self.parts.events.emit(EventKind::ChildExited {
                component: "sequencer".to_owned(),
                code: exit.code,
                signal: exit.signal,
                status: exit.status.clone(),
            });
            if let Some(outcome) = self.schedule(Which::Sequencer, now, exit.status) {
                return Some(outcome);
            }
        }
        if self.sequencer_restart_at.is_some_and(|at| now >= at) {
            return self.restart_sequencer().await;
        }
        if now >= self.next_health && self.sequencer_restart_at.is_none() {
            self.next_health = now + self.parts.health_interval;
            self.check_health(now).await;
        }
        None
    }

    /// Rotates the logs past their cap.
    fn bound_logs(&self) {
        for component in LOGS {
            let Some(path) = super::control::log_path(&self.parts.dir, component) else {
                continue;
            };
            match crate::logs::rotate_if_over(&path, self.parts.logs) {
                Ok(true) => {
                    tracing::debug!(target: "devnet::supervisor", log = %path.display(), "log rotated");
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(target: "devnet::supervisor", error = %format!("{e:#}"), "log not rotated");
                }
            }
        }
    }

    /// Decides about an exit (or a failed restart) of `which`.
    fn schedule(&mut self, which: Which, now: Instant, reason: String) -> Option<Outcome> {
        let tracker = match which {
            Which::Anvil => &mut self.anvil,
            Which::Sequencer => &mut self.sequencer,
        };
        match tracker.on_exit(now) {
            Decision::RestartAfter(delay) => {
                tracing::info!(target: "devnet::supervisor", component = which.name(), delay_ms = delay.as_millis(), "restart scheduled");
                let slot = match which {
                    Which::Anvil => &mut self.anvil_restart_at,
                    Which::Sequencer => &mut self.sequencer_restart_at,
                };
                *slot = Some(now + delay);
                let component = self.component(which);
                component.state = ComponentState::Backoff;
                let attempt = component.restarts + 1;
                self.parts.events.emit(EventKind::RestartScheduled {
                    component: which.name().to_owned(),
                    delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    attempt,
                });
                self.persist();
                None
            }
            Decision::GiveUp => {
                tracing::error!(target: "devnet::supervisor", component = which.name(), reason = %reason, "too many restarts; giving up");
                self.component(which).state = ComponentState::Failed;
                self.parts.state.state = RunState::Degraded;
                self.parts.state.reason = Some(format!("{} failed: {reason}", which.name()));
                self.parts.events.emit(EventKind::GaveUp {
                    component: which.name().to_owned(),
                    reason: reason.clone(),
                });
                self.persist();
                Some(Outcome::Degraded {
                    component: which.name().to_owned(),
                    reason,
                })
            }
        }
    }

    async fn restart_sequencer(&mut self) -> Option<Outcome> {
        self.sequencer_restart_at = None;
        match self.parts.stack.ensure_sequencer().await {
            Ok(()) => {
                let now = Instant::now();
                self.sequencer.started(now);
                self.parts
                    .seq_front
                    .set_target(self.parts.stack.sequencer_addr());
                let component = &mut self.parts.state.components.sequencer;
                record_sequencer(component, &self.parts.stack);
                component.restarts += 1;
                tracing::info!(target: "devnet::supervisor", url = %self.parts.stack.sequencer_url(), restarts = component.restarts, "the sequencer restarted");
                let pid = component.process.map(|p| p.pid);
                self.parts.events.emit(EventKind::Restarted {
                    component: "sequencer".to_owned(),
                    pid,
                });
                self.progress = health::Progress::default();
                self.next_health = now;
                self.persist();
                None
            }
            Err(e) => {
                let reason = format!("restart failed: {e:#}");
                tracing::warn!(target: "devnet::supervisor", error = %reason, "the sequencer did not restart");
                self.schedule(Which::Sequencer, Instant::now(), reason)
            }
        }
    }

    async fn restart_anvil(&mut self) -> Option<Outcome> {
        self.anvil_restart_at = None;
        match self.parts.stack.reprovision().await {
            Ok(()) => {
                let now = Instant::now();
                self.anvil.started(now);
                self.sequencer.started(now);
                let stack = &self.parts.stack;
                self.parts.l1_front.set_target(Some(stack.anvil_addr()));
                self.parts.seq_front.set_target(stack.sequencer_addr());
                let state = &mut self.parts.state;
                state.generation = stack.generation();
                record_anvil(&mut state.components.anvil, stack);
                record_sequencer(&mut state.components.sequencer, stack);
                state.components.anvil.restarts += 1;
                self.parts.events.emit(EventKind::Restarted {
                    component: "anvil".to_owned(),
                    pid: state.components.anvil.process.map(|p| p.pid),
                });
                tracing::warn!(target: "devnet::supervisor", generation = state.generation, "the L1 was re-provisioned: its history is new, re-run `sequencer-watchdog init`");
                self.progress = health::Progress::default();
                self.next_health = now;
                self.persist();
                None
            }
            Err(e) => {
                let reason = format!("re-provisioning failed: {e:#}");
                tracing::warn!(target: "devnet::supervisor", error = %reason, "the L1 did not come back");
                self.schedule(Which::Anvil, Instant::now(), reason)
            }
        }
    }

    async fn check_health(&mut self, now: Instant) {
        let health = health::check(
            &self.parts.stack,
            &self.http,
            &mut self.progress,
            self.parts.stall_after,
        )
        .await;
        let Health {
            anvil,
            sequencer,
            halted,
        } = &health;
        let mut changed = false;
        for (which, result) in [(Which::Anvil, anvil), (Which::Sequencer, sequencer)] {
            let label = Health::label(result);
            let component = self.component(which);
            if component.health.as_deref() != Some(label.as_str()) {
                match result {
                    Ok(detail) => {
                        tracing::info!(target: "devnet::supervisor", component = which.name(), detail = %detail, "healthy")
                    }
                    Err(reason) => {
                        tracing::warn!(target: "devnet::supervisor", component = which.name(), reason = %reason, "unhealthy")
                    }
                }
                component.health = Some(label);
                changed = true;
            }
        }
        changed |= self.judge_progress(halted);
        if changed {
            self.persist();
        }
        if now >= self.next_heartbeat {
            self.next_heartbeat = now + HEARTBEAT;
            tracing::info!(
                target: "devnet::supervisor",
                anvil = %Health::label(anvil),
                sequencer = %Health::label(sequencer),
                "health"
            );
        }
    }

    /// `ready` ↔ `degraded` on the chain-halt checks; whether the state changed.
    fn judge_progress(&mut self, halted: &[String]) -> bool {
        let state = &mut self.parts.state;
        let reason = (!halted.is_empty()).then(|| halted.join("; "));
        match (state.state, &reason) {
            (RunState::Ready, Some(reason)) => {
                tracing::warn!(target: "devnet::supervisor", %reason, "degraded");
                state.state = RunState::Degraded;
            }
            (RunState::Degraded, Some(reason)) if state.reason.as_ref() != Some(reason) => {}
            (RunState::Degraded, None) => {
                tracing::info!(target: "devnet::supervisor", "recovered");
                state.state = RunState::Ready;
                state.reason = None;
                self.parts.events.emit(EventKind::Recovered);
                return true;
            }
            _ => return false,
        }
        state.reason = reason;
        self.parts.events.emit(EventKind::Degraded {
            reasons: halted.to_vec(),
        });
        true
    }

    fn component(&mut self, which: Which) -> &mut Component {
        match which {
            Which::Anvil => &mut self.parts.state.components.anvil,
            Which::Sequencer => &mut self.parts.state.components.sequencer,
        }
    }

    fn persist(&mut self) {
        if let Err(e) = self.parts.state.write(&self.parts.dir) {
            tracing::warn!(target: "devnet::supervisor", error = %format!("{e:#}"), "devnet.json not written");
        }
        self.parts.publish.send_replace(self.parts.state.clone());
    }

    /// Stops everything in reverse order, audits, records `stopped` and releases the lock.
    async fn teardown(self, outcome: Outcome) -> anyhow::Result<Outcome> {
        let Runner { mut parts, .. } = self;
        tracing::info!(target: "devnet::supervisor", "tearing down");
        parts.events.emit(EventKind::Stopping);
        parts.control.close();
        if parts.state.state != RunState::Degraded {
            parts.state.state = RunState::Stopping;
        }
        let _ = parts.state.write(&parts.dir);
        parts.publish.send_replace(parts.state.clone());
        parts.l1_front.set_target(None);
        parts.seq_front.set_target(None);
        let data = parts.stack.dirs().sequencer_data.clone();
        let keep = persist::take_keep_request(&parts.dir) || parts.keep;
        if keep && let Err(e) = persist::keep(&mut parts.stack, &parts.dir).await {
            tracing::error!(target: "devnet::supervisor", error = %format!("{e:#}"), "the chain was not kept");
            parts.state.reason = Some(format!("keeping the chain failed: {e:#}"));
        }
        let result = parts.stack.shutdown().await;
        drop(parts.l1_front);
        drop(parts.seq_front);
        let _ = persist::remove_anvil_cache(&parts.dir);
        if !keep {
            let _ = wipe(&data);
        }
        for component in [
            &mut parts.state.components.anvil,
            &mut parts.state.components.sequencer,
        ] {
            if component.state != ComponentState::Failed {
                component.state = ComponentState::Stopped;
            }
            component.process = None;
        }
        parts.state.state = RunState::Stopped;
        if let Err(e) = &result {
            parts
                .state
                .reason
                .get_or_insert_with(|| format!("teardown: {e:#}"));
        }
        let _ = parts.state.write(&parts.dir);
        parts.publish.send_replace(parts.state.clone());
        parts.events.emit(EventKind::Stopped);
        parts.events.drain_followers(Duration::from_secs(2)).await;
        drop(parts.lock);
        tracing::info!(target: "devnet::supervisor", "stopped");
        result.map(|()| outcome)
    }
}

#[derive(Clone, Copy, Debug)]
enum Which {
    Anvil,
    Sequencer,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Self::Anvil => "anvil",
            Self::Sequencer => "sequencer",
        }
    }
}
