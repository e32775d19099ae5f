//! Evidence for a claim or an investigation: everything the locker knows of one parcel (its
//! row, events, audit entries, the door history of its compartments from deposit to the end,
//! incidents, the photo's digest) and the audit chain's head, read in one snapshot so the parts
//! agree with each other and the entries can be checked against a later `lockerd audit verify`
//! or export. Every query is by index: a locker with a million parcels behind it answers as
//! fast as a new one.

use super::core::Inner;
use super::{Locker, Result};
use crate::domain::{CompartmentId, Parcel, Timestamp};
use crate::store::{self, AuditEntry, DoorLogEntry, EventRecord, IncidentRecord};

/// The most rows of each kind a document carries; a parcel's history is far shorter unless a
/// compartment was opened for maintenance thousands of times while it sat there.
pub const EVIDENCE_MAX_ROWS: usize = 1000;

/// One parcel's evidence, as of `at`.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub at: Timestamp,
    pub parcel: Parcel,
    /// Its events still in the feed, without any pickup code.
    pub events: Vec<EventRecord>,
    pub audit: Vec<AuditEntry>,
    /// Every door movement of each compartment it was in, from its deposit to its end (or now).
    pub doors: Vec<(CompartmentId, DoorLogEntry)>,
    pub incidents: Vec<IncidentRecord>,
    /// The photo's SHA-256 (hex) and size, if one was ever kept.
    pub photo: Option<(String, u64)>,
    /// The audit chain's head (`seq`, hash) when this was read.
    pub audit_head: Option<(i64, Vec<u8>)>,
}

impl Inner {
    pub fn evidence(&self, id: &str) -> Result<Evidence> {
        let at = self.now();
        self.read(|conn| {
            // One read transaction: a snapshot, so the head covers every entry listed.
            let snapshot = conn.unchecked_transaction()?;
            let parcel = self.parcel(&snapshot, id)?;
            let mut events = store::events_of_parcel(&snapshot, id, EVIDENCE_MAX_ROWS)?;
            for event in &mut events {
                // Unacknowledged `parcel.stored` and `parcel.code_changed` still hold the code.
                if let Some(data) = event.data.as_object_mut() {
                    data.remove("pickup_code");
                }
            }
            let audit = store::audit_of_parcel(&snapshot, id, EVIDENCE_MAX_ROWS)?;
            let mut compartments = store::compartments_of_parcel(&snapshot, &parcel.id)?;
            if let Some(c) = &parcel.compartment
                && !compartments.contains(c)
            {
                compartments.push(c.clone());
            }
            let (from, to) = (parcel.deposited_at, parcel.ended_at.unwrap_or(at));
            let mut doors = vec![];
            for c in &compartments {
                let history = store::door_log_between(&snapshot, c, from, to, EVIDENCE_MAX_ROWS)?;
                doors.extend(history.into_iter().map(|d| (c.clone(), d)));
            }
            doors.sort_by_key(|(_, d)| d.at);
            let incidents = store::incidents_about(
                &snapshot,
                &parcel.id,
                &compartments,
                from,
                to,
                EVIDENCE_MAX_ROWS,
            )?;
            let photo = store::photo_digest(&snapshot, &parcel.id)?;
            let audit_head = store::audit_head(&snapshot)?;
            Ok(Evidence {
                at,
                parcel,
                events,
                audit,
                doors,
                incidents,
                photo,
                audit_head,
            })
        })
    }
}

impl Locker {
    pub async fn evidence(&self, id: &str) -> Result<Evidence> {
        let id = id.to_owned();
        self.blocking(move |inner| inner.evidence(&id)).await
    }
}
