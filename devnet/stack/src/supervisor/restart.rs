//! The restart policy: exponential backoff with a cap, at most N restarts in a sliding window,
//! and a reset once a process has stayed up long enough.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// When and how often a crashed child is restarted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Delay before the first restart (doubled after each further one).
    pub initial_backoff: Duration,
    /// The delay never grows past this.
    pub max_backoff: Duration,
    /// At most this many restarts within [`window`](Self::window); one more exit gives up.
    pub max_restarts: u32,
    /// The sliding window restarts are counted in.
    pub window: Duration,
    /// A process that ran this long before exiting resets the backoff and the count.
    pub healthy_reset: Duration,
}

impl Default for RestartPolicy {
    /// 0.5 s doubling to 30 s; at most 5 restarts in 10 min; reset after 2 min up.
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_restarts: 5,
            window: Duration::from_secs(600),
            healthy_reset: Duration::from_secs(120),
        }
    }
}

/// What to do about an exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Restart after this delay.
    RestartAfter(Duration),
    /// Too many restarts: leave it failed.
    GiveUp,
}

/// Restart bookkeeping for one component.
#[derive(Clone, Debug)]
pub struct RestartTracker {
    policy: RestartPolicy,
    recent: VecDeque<Instant>,
    consecutive: u32,
    started_at: Instant,
}

impl RestartTracker {
    /// A tracker for a component started at `now`.
    pub fn new(policy: RestartPolicy, now: Instant) -> Self {
        Self {
            policy,
            recent: VecDeque::new(),
            consecutive: 0,
            started_at: now,
        }
    }

    /// The component (re)started successfully at `now`.
    pub fn started(&mut self, now: Instant) {
        self.started_at = now;
    }

    /// The component exited (or a restart attempt failed) at `now`.
    pub fn on_exit(&mut self, now: Instant) -> Decision {
        if now.saturating_duration_since(self.started_at) >= self.policy.healthy_reset {
            self.recent.clear();
            self.consecutive = 0;
        }
        while self
            .recent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= self.policy.window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.policy.max_restarts as usize {
            return Decision::GiveUp;
        }
        let factor = 1u32.checked_shl(self.consecutive).unwrap_or(u32::MAX);
        let delay = self
            .policy
            .initial_backoff
            .saturating_mul(factor)
            .min(self.policy.max_backoff);
        self.consecutive = self.consecutive.saturating_add(1);
        self.recent.push_back(now);
        // A failed attempt must not count as healthy uptime.
        self.started_at = now;
        Decision::RestartAfter(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn backoff_doubles_up_to_the_cap_then_gives_up() {
        let t0 = Instant::now();
        let mut tracker = RestartTracker::new(RestartPolicy::default(), t0);
        let delays: Vec<Decision> = (0..6).map(|i| tracker.on_exit(t0 + i * MS)).collect();
        assert_eq!(
            delays,
            [
                Decision::RestartAfter(500 * MS),
                Decision::RestartAfter(1000 * MS),
                Decision::RestartAfter(2000 * MS),
                Decision::RestartAfter(4000 * MS),
                Decision::RestartAfter(8000 * MS),
                Decision::GiveUp,
            ]
        );
    }

    #[test]
    fn the_cap_holds_and_the_window_slides() {
        let t0 = Instant::now();
        let policy = RestartPolicy {
            max_restarts: 100,
            ..RestartPolicy::default()
        };
        let mut tracker = RestartTracker::new(policy, t0);
        let mut last = Decision::GiveUp;
        for i in 0..12 {
            last = tracker.on_exit(t0 + i * MS);
        }
        assert_eq!(last, Decision::RestartAfter(Duration::from_secs(30)));

        let policy = RestartPolicy {
            max_restarts: 2,
            healthy_reset: Duration::from_secs(3600),
            ..RestartPolicy::default()
        };
        let mut tracker = RestartTracker::new(policy, t0);
        assert!(matches!(tracker.on_exit(t0), Decision::RestartAfter(_)));
        assert!(matches!(
            tracker.on_exit(t0 + MS),
            Decision::RestartAfter(_)
        ));
        assert_eq!(tracker.on_exit(t0 + 2 * MS), Decision::GiveUp);
        // Ten minutes later the old restarts have left the window.
        let later = t0 + Duration::from_secs(601);
        assert!(matches!(tracker.on_exit(later), Decision::RestartAfter(_)));
    }

    #[test]
    fn a_long_healthy_run_resets_the_backoff() {
        let t0 = Instant::now();
        let mut tracker = RestartTracker::new(RestartPolicy::default(), t0);
        for i in 0..4 {
            tracker.on_exit(t0 + i * MS);
        }
        let restarted = t0 + 10 * MS;
        tracker.started(restarted);
        let decision = tracker.on_exit(restarted + Duration::from_secs(121));
        assert_eq!(decision, Decision::RestartAfter(500 * MS));
    }
}
