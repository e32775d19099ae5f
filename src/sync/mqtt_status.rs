//! What the MQTT link (`crate::mqtt`) is doing, shared with `/healthz` and `/metrics` so a fleet
//! operator sees a locker whose link is down. Never holds a secret, a payload or a password.

use crate::domain::Timestamp;
use prometheus_client::metrics::counter::Counter;
use std::sync::{Arc, Mutex, MutexGuard};

const MAX_ERROR_CHARS: usize = 200;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MqttState {
    /// Whether the link's task is running.
    pub enabled: bool,
    /// Connected to the broker (CONNACK received, not yet lost).
    pub connected: bool,
    /// When the broker last acknowledged an event.
    pub last_publish_at: Option<Timestamp>,
    /// Why the connection last failed or dropped, until it is up again.
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub next_attempt_at: Option<Timestamp>,
}

/// A cheap clonable handle on the link's state.
#[derive(Debug, Clone, Default)]
pub struct MqttStatus {
    state: Arc<Mutex<MqttState>>,
    failures: Counter,
}

impl MqttStatus {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn snapshot(&self) -> MqttState {
        self.lock().clone()
    }

    /// Every failed or lost connection since start, for the metrics registry.
    pub fn failures_counter(&self) -> Counter {
        self.failures.clone()
    }

    fn lock(&self) -> MutexGuard<'_, MqttState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn connecting(&self) {
        let mut s = self.lock();
        s.enabled = true;
        s.connected = false;
        s.next_attempt_at = None;
    }

    pub fn connected(&self) {
        let mut s = self.lock();
        s.connected = true;
        s.last_error = None;
        s.consecutive_failures = 0;
    }

    pub fn published(&self, at: Timestamp) {
        self.lock().last_publish_at = Some(at);
    }

    /// Records a failed or lost connection; returns how many failed in a row.
    pub fn failed(&self, why: &str, next_attempt_at: Timestamp) -> u32 {
        self.failures.inc();
        let mut s = self.lock();
        s.connected = false;
        s.last_error = Some(why.chars().take(MAX_ERROR_CHARS).collect());
        s.consecutive_failures = s.consecutive_failures.saturating_add(1);
        s.next_attempt_at = Some(next_attempt_at);
        s.consecutive_failures
    }

    pub fn stopped(&self) {
        let mut s = self.lock();
        s.enabled = false;
        s.connected = false;
        s.next_attempt_at = None;
    }
}
