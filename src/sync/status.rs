//! What the push task is doing, shared with `/healthz` and `/metrics` so a fleet operator sees a
//! locker that stopped syncing. Never holds a secret, a body or a URL.

use crate::domain::Timestamp;
use prometheus_client::metrics::counter::Counter;
use std::sync::{Arc, Mutex, MutexGuard};

/// How long `last_error` may be: enough for an OS error, not for a page of HTML.
const MAX_ERROR_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushPhase {
    /// Everything is delivered; waiting for the next event.
    Idle,
    /// A batch is on its way.
    Sending,
    /// The last attempt failed; waiting until `next_attempt_at`.
    Backoff,
    /// The task is not running (the daemon is stopping, or the task failed).
    Disabled,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PushState {
    /// Whether the push task is running.
    pub enabled: bool,
    pub phase: PushPhase,
    pub last_success_at: Option<Timestamp>,
    /// Why the last attempt failed, while the failures go on.
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub next_attempt_at: Option<Timestamp>,
}

/// A cheap clonable handle on the push task's state.
#[derive(Debug, Clone)]
pub struct PushStatus {
    state: Arc<Mutex<PushState>>,
    failures: Counter,
}

impl Default for PushStatus {
    fn default() -> Self {
        PushStatus {
            state: Arc::new(Mutex::new(PushState {
                enabled: false,
                phase: PushPhase::Disabled,
                last_success_at: None,
                last_error: None,
                consecutive_failures: 0,
                next_attempt_at: None,
            })),
            failures: Counter::default(),
        }
    }
}

impl PushStatus {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn snapshot(&self) -> PushState {
        self.lock().clone()
    }

    /// Every failed attempt since start, for the metrics registry.
    pub fn failures_counter(&self) -> Counter {
        self.failures.clone()
    }

    fn lock(&self) -> MutexGuard<'_, PushState> {
        // A panic while holding this lock leaves plain data behind: still worth showing.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn idle(&self) {
        let mut s = self.lock();
        s.enabled = true;
        s.phase = PushPhase::Idle;
        s.next_attempt_at = None;
    }

    pub(super) fn sending(&self) {
        let mut s = self.lock();
        s.enabled = true;
        s.phase = PushPhase::Sending;
        s.next_attempt_at = None;
    }

    pub(super) fn delivered(&self, at: Timestamp) {
        let mut s = self.lock();
        s.last_success_at = Some(at);
        s.last_error = None;
        s.consecutive_failures = 0;
    }

    /// Records a failed attempt; returns how many failed in a row.
    pub(super) fn failed(&self, why: &str, next_attempt_at: Timestamp) -> u32 {
        self.failures.inc();
        let mut s = self.lock();
        s.phase = PushPhase::Backoff;
        s.last_error = Some(why.chars().take(MAX_ERROR_CHARS).collect());
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        s.next_attempt_at = Some(next_attempt_at);
        s.consecutive_failures
    }

    pub(super) fn stopped(&self) {
        let mut s = self.lock();
        s.enabled = false;
        s.phase = PushPhase::Disabled;
        s.next_attempt_at = None;
    }
}
