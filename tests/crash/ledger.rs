//! What the clients saw: the yardstick the locker's state is held to after every crash. Only
//! answers that arrived are recorded as facts; a request whose answer was lost to a kill is
//! recorded as sent, and what it did is learnt from the locker afterwards.

use super::api::{Api, Lost};
use super::snapshot::{EventRow, event_row};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default, Clone)]
pub struct Ledger {
    /// Parcels whose deposit answered `201` (the door was seen open, the courier told to put it
    /// in): they must never vanish or be given up.
    pub deposited: BTreeSet<String>,
    /// Parcels whose confirm answered `200`: stored until a pickup takes them.
    pub stored: BTreeSet<String>,
    /// Parcels a pickup was sent for, answered or not (written before sending): the only
    /// parcels that may be collected.
    pub pickup_sent: BTreeSet<String>,
    /// `200` answers to pickups, per (parcel, code): a code opens once.
    pub opened: BTreeMap<(String, String), u32>,
    /// Feed events read, by seq: (id, type). The feed never loses or rewrites one.
    pub seen_events: BTreeMap<i64, (String, String)>,
    /// The latest pickup code the feed published per parcel.
    pub codes: BTreeMap<String, String>,
    /// Answers no correct daemon gives (a `200` naming another parcel, a session gone, ...).
    pub complaints: Vec<String>,
    pub stats: Stats,
}

/// What the load did, for the report.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub deposits: u64,
    /// Of `deposits`, those by drivers without an account (`POST /api/v1/deliveries`).
    pub deliveries: u64,
    pub confirms: u64,
    pub pickups: u64,
    pub lost_answers: u64,
    /// Deposits a restart left undone (the request never committed, or its door was never
    /// seen open and the deposit was given up): the courier deposits again.
    pub deposits_undone: u64,
    /// Deposits answered `409 no_compartment_available` or `503`.
    pub no_room: u64,
    /// Compartments an operator enabled again after a restart took them out of service.
    pub enabled: u64,
}

impl Ledger {
    pub fn complain(&mut self, what: String) {
        eprintln!("complaint: {what}");
        self.complaints.push(what);
    }

    /// How many events of type `kind` the clients read.
    pub fn seen(&self, kind: &str) -> usize {
        self.seen_events.values().filter(|(_, k)| k == kind).count()
    }

    /// Reads the feed past the last event seen, remembering each event and the codes.
    pub async fn read_feed(&mut self, api: &Api, sync: &str) -> Result<(), Lost> {
        loop {
            let after = self.seen_events.keys().next_back().copied().unwrap_or(0);
            let path = format!("/api/v1/sync/events?after={after}&limit=1000");
            let (status, page) = api.get(&path, Some(sync)).await?;
            if status != 200 {
                self.complain(format!("GET {path}: {status} {page}"));
                return Ok(());
            }
            let batch: Vec<EventRow> = page["events"]
                .as_array()
                .map(|a| a.iter().map(event_row).collect())
                .unwrap_or_default();
            if batch.is_empty() {
                return Ok(());
            }
            for e in batch {
                if let Some(code) = e.data["pickup_code"].as_str() {
                    let parcel = e.data["parcel_id"].as_str().unwrap_or_default();
                    self.codes.insert(parcel.to_owned(), code.to_owned());
                }
                self.seen_events.insert(e.seq, (e.id, e.kind));
            }
        }
    }
}
