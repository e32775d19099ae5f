//! The daemon's own state: the sync event feed and health.

use crate::locker::{BusHealth, Health};
pub use crate::sync::EventView;
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
