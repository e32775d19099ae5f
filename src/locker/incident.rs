//! Incident reports: "the compartment was empty", "the parcel is damaged". Each one publishes
//! the compartment's door history since the parcel went in, so whoever investigates sees at
//! once whether the door opened in between, and why.
//!
//! Reports are capped per compartment and UTC day (and, for reports naming no compartment, in
//! all per day): the kiosk is in public, and each report keeps a note and publishes up to 200
//! door movements, so an uncapped kiosk credential could fill the disk.

use super::core::Inner;
use super::tx::Tx;
use super::{Locker, LockerError, Principal, Result};
use crate::domain::{CompartmentId, Timestamp};
use crate::store::{self, DoorLogEntry, HistoryFrom, IncidentRecord};
use serde_json::{Value, json};
use std::time::Duration;

/// How far back the history goes when no parcel tells when to start.
const HISTORY_WITHOUT_PARCEL: Duration = Duration::from_secs(24 * 3600);
/// At most this many door movements in one report.
const HISTORY_LIMIT: usize = 200;
/// Longest note kept.
pub const NOTE_MAX: usize = 1000;
/// Reports about one compartment per UTC day: every recipient of a busy compartment, several
/// times over. Both caps are stated in the OpenAPI description of `POST /api/v1/incidents`.
pub const INCIDENTS_PER_COMPARTMENT_PER_DAY: i64 = 10;
/// Reports about no compartment, in all, per UTC day.
pub const INCIDENTS_WITHOUT_COMPARTMENT_PER_DAY: i64 = 20;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// What a kiosk or an operator reports.
#[derive(Debug, Clone)]
pub struct IncidentReport {
    pub kind: &'static str,
    pub parcel: Option<String>,
    pub compartment: Option<String>,
    pub note: Option<String>,
}

fn door_view(entry: &DoorLogEntry) -> Value {
    json!({
        "at": entry.at.to_rfc3339(),
        "door": if entry.open { "open" } else { "closed" },
        "cause": entry.cause,
        "parcel_id": entry.parcel,
    })
}

impl Inner {
    pub fn report_incident(&self, reporter: &Principal, report: IncidentReport) -> Result<String> {
        if report
            .note
            .as_ref()
            .is_some_and(|n| n.chars().count() > NOTE_MAX)
        {
            return Err(LockerError::InvalidRequest(format!(
                "note: at most {NOTE_MAX} characters"
            )));
        }
        self.tx(|tx| {
            let parcel = match &report.parcel {
                Some(id) => Some(self.parcel(tx, id)?),
                None => None,
            };
            let compartment = match (&report.compartment, &parcel) {
                (Some(id), _) => Some(self.compartment(tx, &CompartmentId(id.clone()))?),
                (None, Some(p)) => match &p.compartment {
                    Some(c) => Some(self.compartment(tx, c)?),
                    None => None,
                },
                (None, None) => None,
            };
            // Since the parcel went in: the one named, else the one in the compartment now.
            let subject = match &parcel {
                Some(p) => Some(p.clone()),
                None => match compartment.as_ref().and_then(|c| c.parcel.as_ref()) {
                    Some(id) => Some(self.parcel(tx, id.as_str())?),
                    None => None,
                },
            };
            let since: Timestamp = subject
                .as_ref()
                .map(|p| p.deposited_at)
                .unwrap_or_else(|| self.now().minus(HISTORY_WITHOUT_PARCEL));
            let from = match &subject {
                Some(p) => HistoryFrom::Parcel(&p.id, since),
                None => HistoryFrom::Time(since),
            };
            self.check_incident_cap(tx, compartment.as_ref().map(|c| &c.id))?;
            let history = match &compartment {
                Some(c) => store::door_history(tx, &c.id, from, HISTORY_LIMIT)?,
                None => vec![],
            };
            let record = IncidentRecord {
                id: uuid::Uuid::new_v4().to_string(),
                kind: report.kind.to_owned(),
                parcel: parcel.as_ref().map(|p| p.id.clone()),
                compartment: compartment.as_ref().map(|c| c.id.clone()),
                note: report.note.clone(),
                reporter: reporter.name.clone(),
                at: self.now(),
            };
            store::insert_incident(tx, &record)?;
            let data = json!({
                "incident_id": record.id,
                "kind": record.kind,
                "parcel_id": record.parcel,
                "tracking_id": parcel.as_ref().map(|p| &p.tracking_id),
                "parcel_state": parcel.as_ref().map(|p| p.state.as_str()),
                "compartment": record.compartment,
                "note": record.note,
                "reporter": format!("{}:{}", reporter.role.as_str(), reporter.name),
                "door_history_since": since.to_rfc3339(),
                "door_history": history.iter().map(door_view).collect::<Vec<_>>(),
            });
            self.publish(tx, "incident.reported", data)?;
            Ok(record.id)
        })
    }
}

impl Inner {
    /// `RateLimited` until the next UTC day once today's reports about `compartment` (or about
    /// none) reached the cap.
    fn check_incident_cap(&self, tx: &Tx<'_>, compartment: Option<&CompartmentId>) -> Result<()> {
        let now = self.now();
        let today = Timestamp(now.0.div_euclid(DAY_MS) * DAY_MS);
        let cap = match compartment {
            Some(_) => INCIDENTS_PER_COMPARTMENT_PER_DAY,
            None => INCIDENTS_WITHOUT_COMPARTMENT_PER_DAY,
        };
        if store::count_incidents_since(tx, compartment, today)? < cap {
            return Ok(());
        }
        let about = compartment.map_or("no compartment".to_owned(), |c| format!("compartment {c}"));
        tracing::warn!(
            about,
            cap,
            "incident report refused: today's cap is reached"
        );
        Err(LockerError::RateLimited {
            retry_after: now.until(Timestamp(today.0 + DAY_MS)),
        })
    }
}

impl Locker {
    pub async fn report_incident(
        &self,
        reporter: &Principal,
        report: IncidentReport,
    ) -> Result<String> {
        let reporter = reporter.clone();
        let kind = report.kind;
        let id = self
            .blocking(move |inner| inner.report_incident(&reporter, report))
            .await?;
        tracing::info!(incident = %id, kind, "incident reported");
        Ok(id)
    }
}
