//! The daemon's own state: the sync event feed and health.

use super::time;
use crate::locker::{BusHealth, EventRecord, Health};
use serde::Serialize;
use utoipa::ToSchema;

/// One event of the sync feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Increases by one per event, never reused.
    pub seq: i64,
    /// A UUID, unique per event.
    pub id: String,
    #[serde(rename = "type")]
    #[schema(example = "parcel.stored")]
    pub kind: String,
    #[schema(format = DateTime)]
    pub at: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<EventRecord> for EventView {
    fn from(e: EventRecord) -> Self {
        Self {
            seq: e.seq,
            id: e.id,
            kind: e.kind,
            at: time(e.at),
            data: e.data,
        }
    }
}

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
    /// `degraded` when the database or any bus is not ok.
    pub status: HealthStatus,
    pub db: DbStatus,
    pub buses: Vec<BusView>,
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
