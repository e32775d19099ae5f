//! The daemon's own state: the sync event feed and health.

use super::opt_time;
use crate::domain::Timestamp;
use crate::locker::{BusHealth, FeedStatus, Health, KeypadStatus};
pub use crate::sync::EventView;
use crate::sync::{MqttState, PushPhase, PushState};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<EventView>,
    /// The highest sequence number of any event so far.
    pub last_seq: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Degraded,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DbStatus {
    Ok,
    Error,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BusView {
    pub name: String,
    pub ok: bool,
    pub last_error: Option<String>,
}

/// The daemon's health.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthView {
    /// `degraded` when the database or any bus is not ok, or the keypad is locked out.
    pub status: HealthStatus,
    pub db: DbStatus,
    pub buses: Vec<BusView>,
    /// Extension: how far the cloud is behind; `null` when the database cannot say.
    pub sync: Option<SyncHealthView>,
    /// Extension: the keypad's lockout; `null` when the database cannot say. A locked keypad
    /// makes `status` `degraded`: every recipient is refused until it ends.
    pub keypad: Option<KeypadHealthView>,
}

/// What `/healthz` (no token) shows of the keypad: whether it is locked out, and how often in a
/// row. Not its failure count, which would let anyone on the LAN watch codes being tried
/// (`GET /api/v1/keypad`, operator, has it).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeypadHealthView {
    #[schema(format = DateTime)]
    pub locked_until: Option<String>,
    pub lockouts_in_a_row: u32,
}

impl From<KeypadStatus> for KeypadHealthView {
    fn from(k: KeypadStatus) -> Self {
        Self {
            locked_until: super::opt_time(k.locked_until),
            lockouts_in_a_row: k.lockouts,
        }
    }
}

/// Where the cloud is in the event feed (by pull or push), and the push task's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncHealthView {
    /// The seq of the newest event.
    pub last_seq: i64,
    /// How far the cloud is known to have the feed: with `[sync.push]` the last seq the push
    /// endpoint accepted (`push.delivered_seq`), else the pull acknowledgement
    /// (`pull_acked_seq`). Codes are scrubbed and events pruned only up to here.
    pub acked_seq: i64,
    /// The last seq the pull agent acknowledged (`POST /api/v1/sync/ack`).
    pub pull_acked_seq: i64,
    /// Events the cloud has not acknowledged: `last_seq - acked_seq`.
    pub unacked: i64,
    /// Whole seconds since the oldest unacknowledged event happened; `null` when none waits.
    /// The number to alert on: it grows whenever the cloud stops getting events.
    pub oldest_unacked_age_s: Option<i64>,
    /// `null` without `[sync.push]` in the config.
    pub push: Option<PushView>,
    /// The MQTT fleet link; `null` without `[mqtt]` in the config.
    pub mqtt: Option<MqttView>,
}

/// The MQTT link: whether it is connected, and how far the broker has the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MqttView {
    /// Whether the link's task is running.
    pub enabled: bool,
    /// Connected to the broker now.
    pub connected: bool,
    /// The link's own cursor: the last seq the broker acknowledged (PUBACK).
    pub published_seq: i64,
    /// Events not yet acknowledged by the broker: `last_seq - published_seq`.
    pub outstanding: i64,
    /// When the broker last acknowledged an event.
    #[schema(format = DateTime)]
    pub last_publish_at: Option<String>,
    /// Why the connection last failed or dropped; `null` once connected again.
    pub last_error: Option<String>,
    /// Connection attempts that failed in a row.
    pub consecutive_failures: u32,
    /// When the next connection attempt is due, while backing off.
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
}

impl MqttView {
    pub fn new(s: MqttState, feed: &FeedStatus) -> Self {
        MqttView {
            enabled: s.enabled,
            connected: s.connected,
            published_seq: feed.mqtt_seq,
            outstanding: (feed.last_seq - feed.mqtt_seq).max(0),
            last_publish_at: opt_time(s.last_publish_at),
            last_error: s.last_error,
            consecutive_failures: s.consecutive_failures,
            next_attempt_at: opt_time(s.next_attempt_at),
        }
    }
}

/// The push task: what it is doing and how its last attempts went.
#[derive(Debug, Serialize, ToSchema)]
pub struct PushView {
    /// Whether the push task is running.
    pub enabled: bool,
    pub state: PushStateView,
    /// Push's own cursor: the last seq the push endpoint accepted. A pull acknowledgement never
    /// moves it.
    pub delivered_seq: i64,
    #[schema(format = DateTime)]
    pub last_success_at: Option<String>,
    /// Why the last attempt failed (the cloud's status, or the connection error); `null` once a
    /// batch is delivered again.
    pub last_error: Option<String>,
    /// Attempts that failed in a row; 0 after a delivery.
    pub consecutive_failures: u32,
    /// When the next attempt is due, while backing off.
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
}

/// `idle`: everything delivered; `sending`: a batch is on its way; `backoff`: the last attempt
/// failed and the next waits for `next_attempt_at`; `disabled`: the task is not running.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PushStateView {
    Idle,
    Sending,
    Backoff,
    Disabled,
}

impl HealthView {
    pub fn new(health: Health, sync: Option<SyncHealthView>, keypad: Option<KeypadStatus>) -> Self {
        let mut view = HealthView {
            sync,
            ..HealthView::from(health)
        };
        if keypad.as_ref().is_some_and(|k| k.locked_until.is_some()) {
            view.status = HealthStatus::Degraded;
        }
        view.keypad = keypad.map(KeypadHealthView::from);
        view
    }
}

impl SyncHealthView {
    pub fn new(
        feed: FeedStatus,
        push: Option<PushState>,
        mqtt: Option<MqttState>,
        now: Timestamp,
    ) -> Self {
        SyncHealthView {
            mqtt: mqtt.map(|s| MqttView::new(s, &feed)),
            last_seq: feed.last_seq,
            acked_seq: feed.acked_seq,
            pull_acked_seq: feed.pull_acked_seq,
            unacked: feed.last_seq - feed.acked_seq,
            oldest_unacked_age_s: feed
                .oldest_unacked_at
                .map(|at| (now.0 - at.0).max(0) / 1000),
            push: push.map(|s| PushView::new(s, feed.push_seq)),
        }
    }
}

impl PushView {
    fn new(s: PushState, delivered_seq: i64) -> Self {
        PushView {
            enabled: s.enabled,
            delivered_seq,
            state: match s.phase {
                PushPhase::Idle => PushStateView::Idle,
                PushPhase::Sending => PushStateView::Sending,
                PushPhase::Backoff => PushStateView::Backoff,
                PushPhase::Disabled => PushStateView::Disabled,
            },
            last_success_at: opt_time(s.last_success_at),
            last_error: s.last_error,
            consecutive_failures: s.consecutive_failures,
            next_attempt_at: opt_time(s.next_attempt_at),
        }
    }
}

impl From<Health> for HealthView {
    fn from(h: Health) -> Self {
        let all_ok = h.db_ok && h.buses.iter().all(|b| b.ok);
        Self {
            status: if all_ok {
                HealthStatus::Ok
            } else {
                HealthStatus::Degraded
            },
            db: if h.db_ok {
                DbStatus::Ok
            } else {
                DbStatus::Error
            },
            buses: h.buses.into_iter().map(BusView::from).collect(),
            sync: None,
            keypad: None,
        }
    }
}

impl From<BusHealth> for BusView {
    fn from(b: BusHealth) -> Self {
        Self {
            name: b.name,
            ok: b.ok,
            last_error: b.last_error,
        }
    }
}
