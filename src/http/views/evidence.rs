//! The evidence document for one parcel (`GET /api/v1/parcels/{id}/evidence`).

use super::{AuditEntryView, EventView, ParcelView, time};
use crate::domain::CompartmentId;
use crate::locker::Evidence;
use crate::store::{DoorLogEntry, IncidentRecord};
use serde::Serialize;
use utoipa::ToSchema;

/// Everything the locker knows of one parcel, for a claim or an investigation. Never a pickup
/// code. Each list holds at most 1000 rows, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceView {
    /// When this document was made.
    #[schema(format = DateTime)]
    pub generated_at: String,
    pub parcel: ParcelView,
    /// Its events still in the feed (acknowledged events are pruned after `sync.retention`),
    /// `pickup_code` removed.
    pub events: Vec<EventView>,
    /// The audit entries naming it, each with its `seq` and `hash` as `GET /api/v1/audit` and
    /// `lockerd audit export` show them.
    pub audit: Vec<AuditEntryView>,
    /// Every opening and closing of the compartment(s) it was in, from its deposit to its end
    /// (or now), whatever caused it.
    pub door_history: Vec<DoorMoveView>,
    /// Incidents reported about it, or about its compartment(s) meanwhile.
    pub incidents: Vec<IncidentView>,
    /// Its proof-of-delivery photo's digest, `null` if none was ever kept (kept after the file
    /// itself is deleted by `photo.retention`).
    pub photo: Option<PhotoDigestView>,
    /// The audit chain's head when this was read: every entry above is at or before it, so a
    /// later `lockerd audit verify` or export that still has this head vouches for them.
    pub audit_head: Option<AuditHeadView>,
}

/// One door movement.
#[derive(Debug, Serialize, ToSchema)]
pub struct DoorMoveView {
    pub compartment: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// `true`: seen open; `false`: seen closed.
    pub open: bool,
    /// What the opening was for (`deposit`, `pickup`, `maintenance`, `return`, `reopen`,
    /// `cancel`) or `forced`; a closing carries the cause of the opening it ends.
    pub cause: String,
    /// The parcel it was for, if any.
    pub parcel_id: Option<String>,
}

/// An incident as reported.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentView {
    pub id: String,
    pub kind: String,
    pub parcel_id: Option<String>,
    pub compartment: Option<String>,
    pub note: Option<String>,
    /// `role:name` of who reported it.
    pub reporter: String,
    #[schema(format = DateTime)]
    pub at: String,
}

/// A photo's digest.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoDigestView {
    /// SHA-256 of the JPEG, lowercase hex, as `parcel.photo_taken` published it.
    pub sha256: String,
    pub bytes: u64,
    /// Whether the file is still kept (`GET /api/v1/parcels/{id}/photo`).
    pub kept: bool,
}

/// The audit chain's head.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditHeadView {
    pub seq: i64,
    /// Lowercase hex.
    pub hash: String,
}

fn door_move((compartment, d): (CompartmentId, DoorLogEntry)) -> DoorMoveView {
    DoorMoveView {
        compartment: compartment.0,
        at: time(d.at),
        open: d.open,
        cause: d.cause,
        parcel_id: d.parcel.map(|p| p.0),
    }
}

impl From<IncidentRecord> for IncidentView {
    fn from(i: IncidentRecord) -> Self {
        Self {
            id: i.id,
            kind: i.kind,
            parcel_id: i.parcel.map(|p| p.0),
            compartment: i.compartment.map(|c| c.0),
            note: i.note,
            reporter: i.reporter,
            at: time(i.at),
        }
    }
}

impl From<Evidence> for EvidenceView {
    fn from(e: Evidence) -> Self {
        let kept = e.parcel.photo;
        Self {
            generated_at: time(e.at),
            parcel: e.parcel.into(),
            events: e.events.into_iter().map(EventView::from).collect(),
            audit: e.audit.into_iter().map(AuditEntryView::from).collect(),
            door_history: e.doors.into_iter().map(door_move).collect(),
            incidents: e.incidents.into_iter().map(IncidentView::from).collect(),
            photo: e.photo.map(|(sha256, bytes)| PhotoDigestView {
                sha256,
                bytes,
                kept,
            }),
            audit_head: e.audit_head.map(|(seq, hash)| AuditHeadView {
                seq,
                hash: hex::encode(hash),
            }),
        }
    }
}
