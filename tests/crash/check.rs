//! The invariants, judged on a [`Snapshot`] and the clients' [`Ledger`]. Each check returns
//! what it found wrong instead of panicking, so one report names every broken invariant, and a
//! test can prove a check fires by corrupting a copy of a database.
//!
//! # Door openings
//! Every `door_log` row with `open = 1` (the daemon saw a door open and recorded why) must be
//! accounted for, one to one and in order: each opening takes the first entry not taken by an
//! earlier opening, among
//! - audit entries whose `action` is the cause's below and whose `detail` names the same
//!   compartment and parcel (maintenance: the compartment); and
//! - feed events whose `type` is the cause's below and whose `data` names the same compartment
//!   and parcel. A removal's event is published when its door closes again, so it is required
//!   only once a later `door_log` row shows that compartment's door closed.
//!
//! | cause         | audit action                                | event                          |
//! |---------------|---------------------------------------------|--------------------------------|
//! | `deposit`     | `deposit.opening`, `deposit.resize_opening` | `parcel.opening`               |
//! | `pickup`      | `pickup.opening`                            | `parcel.collected`, once closed|
//! | `cancel`      | `deposit.cancel`                            | `parcel.cancelled`, once closed|
//! | `return`      | `return.opening`                            | `parcel.returned`, once closed |
//! | `maintenance` | `maintenance.opening`                       | `maintenance.opened`           |
//! | `reopen`      | `deposit.reopening`                         | none: lockerd publishes none   |
//!
//! A `forced` opening (a door seen open with no opening asked for) is always a violation here:
//! this harness never opens a door by hand, so a forced door means a latch fired for nothing.

use super::ledger::Ledger;
use super::snapshot::{AuditRow, DoorRow, EventRow, Snapshot};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invariant {
    /// A parcel the client saw deposited or stored is gone, or was given up.
    ParcelLost,
    /// Two live parcels for one tracking id (or two that were not cancelled).
    ParcelDuplicated,
    /// A parcel is collected that no pickup was sent for.
    CollectedWithoutPickup,
    /// Two live parcels assigned to one compartment.
    CompartmentShared,
    /// A compartment's `parcel_id` and its parcel's `compartment` disagree.
    CompartmentMismatch,
    /// A pickup code (or a parcel's pickup) opened a door twice.
    CodeOpenedTwice,
    DoorWithoutAudit,
    DoorWithoutEvent,
    DoorForced,
    /// Event `seq` not 1, 2, 3, ... up to the last handed out.
    EventSeq,
    /// A feed event a client read is gone or different.
    SeenEventChanged,
    /// Audit `seq` not 1, 2, 3, ...
    AuditSeq,
    /// `lockerd audit verify` failed.
    AuditChain,
    /// `PRAGMA integrity_check` is not `ok`.
    Integrity,
    /// At the end, with the load stopped: an opening unsettled or a door left open.
    Unsettled,
    /// An answer no correct daemon gives, seen by a client on the spot.
    Complaint,
}

#[derive(Debug, Clone)]
pub struct Violation {
    pub invariant: Invariant,
    pub detail: String,
}

/// Collects violations, each tagged with where the state was read.
struct Report<'a> {
    source: &'a str,
    found: Vec<Violation>,
}

impl Report<'_> {
    fn fail(&mut self, invariant: Invariant, detail: String) {
        let detail = format!("[{}] {detail}", self.source);
        self.found.push(Violation { invariant, detail });
    }
}

/// Every invariant on the locker's state that holds at any moment between requests.
pub fn check(s: &Snapshot, ledger: &Ledger) -> Vec<Violation> {
    let mut r = Report {
        source: s.source,
        found: vec![],
    };
    parcels(s, ledger, &mut r);
    compartments(s, &mut r);
    sequences(s, ledger, &mut r);
    if let Some(file) = &s.file {
        if file.integrity != "ok" {
            let detail = format!("integrity_check: {}", file.integrity);
            r.fail(Invariant::Integrity, detail);
        }
        doors(&file.door_log, &s.audit, &s.events, &mut r);
    }
    r.found
}

/// What the clients saw on the spot: no (parcel, code) answered 200 twice, no answer a correct
/// daemon never gives.
pub fn check_answers(ledger: &Ledger) -> Vec<Violation> {
    let mut r = Report {
        source: "client",
        found: vec![],
    };
    for ((parcel, _), n) in ledger.opened.iter().filter(|(_, n)| **n > 1) {
        let detail = format!("a code of parcel {parcel} answered 200 {n} times");
        r.fail(Invariant::CodeOpenedTwice, detail);
    }
    for complaint in &ledger.complaints {
        r.fail(Invariant::Complaint, complaint.clone());
    }
    r.found
}

/// With the load stopped and every parcel at rest: no opening pending, every door closed.
pub fn settled(s: &Snapshot) -> Vec<Violation> {
    let mut r = Report {
        source: s.source,
        found: vec![],
    };
    if let Some(file) = &s.file
        && file.intents != 0
    {
        r.fail(
            Invariant::Unsettled,
            format!("{} intents left", file.intents),
        );
    }
    for c in s.compartments.iter().filter(|c| c.door != "closed") {
        r.fail(
            Invariant::Unsettled,
            format!("compartment {} door {}", c.id, c.door),
        );
    }
    for p in s
        .parcels
        .iter()
        .filter(|p| p.state == "opening" || p.state == "open")
    {
        r.fail(Invariant::Unsettled, format!("parcel {} {}", p.id, p.state));
    }
    r.found
}

fn parcels(s: &Snapshot, ledger: &Ledger, r: &mut Report) {
    let by_id: BTreeMap<&str, _> = s.parcels.iter().map(|p| (p.id.as_str(), p)).collect();
    for id in &ledger.deposited {
        match by_id.get(id.as_str()) {
            None => r.fail(
                Invariant::ParcelLost,
                format!("deposited parcel {id} is gone"),
            ),
            Some(p) if matches!(p.state.as_str(), "cancelled" | "returned") => r.fail(
                Invariant::ParcelLost,
                format!("deposited parcel {id} (201, door seen open) is {}", p.state),
            ),
            Some(_) => {}
        }
    }
    for id in &ledger.stored {
        let state = by_id.get(id.as_str()).map(|p| p.state.as_str());
        if !matches!(state, Some("stored" | "collected")) {
            let detail = format!("parcel {id} was stored and is now {state:?}");
            r.fail(Invariant::ParcelLost, detail);
        }
    }
    let mut live = BTreeMap::<&str, Vec<&str>>::new();
    let mut kept = BTreeMap::<&str, Vec<&str>>::new();
    for p in &s.parcels {
        if p.state == "collected" && !ledger.pickup_sent.contains(&p.id) {
            let detail = format!("parcel {} collected without a pickup", p.id);
            r.fail(Invariant::CollectedWithoutPickup, detail);
        }
        if p.live() {
            live.entry(&p.tracking_id).or_default().push(&p.id);
        }
        // The load delivers each tracking id once: only cancelled attempts may repeat it.
        if p.state != "cancelled" {
            kept.entry(&p.tracking_id).or_default().push(&p.id);
        }
    }
    for (what, map) in [("live", live), ("not cancelled", kept)] {
        for (tracking, ids) in map.iter().filter(|(_, ids)| ids.len() > 1) {
            let detail = format!("tracking id {tracking}: {what} parcels {ids:?}");
            r.fail(Invariant::ParcelDuplicated, detail);
        }
    }
}

fn compartments(s: &Snapshot, r: &mut Report) {
    let by_id: BTreeMap<&str, _> = s.parcels.iter().map(|p| (p.id.as_str(), p)).collect();
    let holds: BTreeMap<&str, _> = s
        .compartments
        .iter()
        .map(|c| (c.id.as_str(), c.parcel_id.as_deref()))
        .collect();
    let mut assigned = BTreeMap::<&str, Vec<&str>>::new();
    for p in s.parcels.iter().filter(|p| p.live()) {
        let Some(c) = p.compartment.as_deref() else {
            r.fail(
                Invariant::CompartmentMismatch,
                format!("live parcel {} in no compartment", p.id),
            );
            continue;
        };
        assigned.entry(c).or_default().push(&p.id);
        if holds.get(c) != Some(&Some(p.id.as_str())) {
            let detail = format!("parcel {} is in {c}, which holds {:?}", p.id, holds.get(c));
            r.fail(Invariant::CompartmentMismatch, detail);
        }
    }
    for (c, ids) in assigned.iter().filter(|(_, ids)| ids.len() > 1) {
        r.fail(
            Invariant::CompartmentShared,
            format!("compartment {c} holds {ids:?}"),
        );
    }
    for c in &s.compartments {
        match c.parcel_id.as_deref().map(|id| (id, by_id.get(id))) {
            None if matches!(c.state.as_str(), "occupied" | "reserved") => {
                let detail = format!("compartment {} is {} with no parcel", c.id, c.state);
                r.fail(Invariant::CompartmentMismatch, detail);
            }
            None => {}
            Some((id, None)) => {
                let detail = format!(
                    "compartment {} holds parcel {id}, which does not exist",
                    c.id
                );
                r.fail(Invariant::CompartmentMismatch, detail);
            }
            Some((id, Some(p))) => {
                // A resized parcel on its way out: the old compartment holds it until the new
                // door opens.
                let here = p.compartment.as_deref() == Some(c.id.as_str()) || p.state == "opening";
                if !p.live() || !here || c.state == "free" {
                    let detail = format!(
                        "compartment {} ({}) holds parcel {id}, which is {} in {:?}",
                        c.id, c.state, p.state, p.compartment
                    );
                    r.fail(Invariant::CompartmentMismatch, detail);
                }
            }
        }
    }
}

fn sequences(s: &Snapshot, ledger: &Ledger, r: &mut Report) {
    if let Some(bad) = first_gap(s.events.iter().map(|e| e.seq)) {
        r.fail(Invariant::EventSeq, format!("event seq {bad}"));
    }
    if s.last_seq != s.events.len() as i64 {
        let detail = format!("last seq {} with {} events", s.last_seq, s.events.len());
        r.fail(Invariant::EventSeq, detail);
    }
    let ids: HashSet<&str> = s.events.iter().map(|e| e.id.as_str()).collect();
    if ids.len() != s.events.len() {
        r.fail(Invariant::EventSeq, "two events share an id".into());
    }
    let by_seq: BTreeMap<i64, &EventRow> = s.events.iter().map(|e| (e.seq, e)).collect();
    for (seq, (id, kind)) in &ledger.seen_events {
        let now = by_seq.get(seq).map(|e| (e.id.as_str(), e.kind.as_str()));
        if now != Some((id.as_str(), kind.as_str())) {
            let detail = format!("event {seq} was {kind} {id}, now {now:?}");
            r.fail(Invariant::SeenEventChanged, detail);
        }
    }
    if let Some(bad) = first_gap(s.audit.iter().map(|a| a.seq)) {
        r.fail(Invariant::AuditSeq, format!("audit seq {bad}"));
    }
}

/// The first position where `seqs` is not 1, 2, 3, ...: "N where M was due".
fn first_gap(seqs: impl Iterator<Item = i64>) -> Option<String> {
    seqs.zip(1..)
        .find(|(seq, due)| seq != due)
        .map(|(seq, due)| format!("{seq} where {due} was due"))
}

/// The audit actions and the event type that account for an opening of `cause`, and whether
/// the event waits for the door to close again.
fn rule(cause: &str) -> Option<(&'static [&'static str], Option<&'static str>, bool)> {
    Some(match cause {
        "deposit" => (
            &["deposit.opening", "deposit.resize_opening"],
            Some("parcel.opening"),
            false,
        ),
        "pickup" => (&["pickup.opening"], Some("parcel.collected"), true),
        "cancel" => (&["deposit.cancel"], Some("parcel.cancelled"), true),
        "return" => (&["return.opening"], Some("parcel.returned"), true),
        "maintenance" => (&["maintenance.opening"], Some("maintenance.opened"), false),
        "reopen" => (&["deposit.reopening"], None, false),
        _ => return None,
    })
}

/// Audit entries or events not yet taken by an opening, by (action or type, compartment,
/// parcel), oldest first: matching stays linear in the size of the log.
#[derive(Default)]
struct Pool(HashMap<(String, Option<String>, Option<String>), VecDeque<i64>>);

impl Pool {
    fn new<'a>(items: impl Iterator<Item = (i64, &'a str, &'a Value)>) -> Pool {
        let mut pool = Pool::default();
        for (seq, kind, v) in items {
            let names = (v["compartment"].as_str(), v["parcel_id"].as_str());
            let key = (
                kind.to_owned(),
                names.0.map(str::to_owned),
                names.1.map(str::to_owned),
            );
            pool.0.entry(key).or_default().push_back(seq);
        }
        pool
    }

    /// Takes the oldest entry of any of `kinds` naming the opening's compartment and parcel.
    fn take(&mut self, kinds: &[&str], row: &DoorRow) -> bool {
        let key = |kind: &str| {
            let compartment = Some(row.compartment.clone());
            (kind.to_owned(), compartment, row.parcel_id.clone())
        };
        let oldest = kinds
            .iter()
            .filter_map(|kind| Some((*self.0.get(&key(kind))?.front()?, *kind)))
            .min();
        let Some((_, kind)) = oldest else {
            return false;
        };
        self.0.get_mut(&key(kind)).and_then(VecDeque::pop_front);
        true
    }
}

fn doors(log: &[DoorRow], audit: &[AuditRow], events: &[EventRow], r: &mut Report) {
    let mut audit = Pool::new(audit.iter().map(|a| (a.seq, a.action.as_str(), &a.detail)));
    let mut events = Pool::new(events.iter().map(|e| (e.seq, e.kind.as_str(), &e.data)));
    // Where each compartment's door was last seen closing.
    let last_close: HashMap<&str, usize> = log
        .iter()
        .enumerate()
        .filter(|(_, row)| !row.open)
        .map(|(i, row)| (row.compartment.as_str(), i))
        .collect();
    let mut pickups = BTreeMap::<&str, u32>::new();
    for (i, row) in log.iter().enumerate().filter(|(_, row)| row.open) {
        let what = || {
            let (id, c, cause) = (row.id, &row.compartment, &row.cause);
            format!("door_log {id} ({c} {cause} {:?})", row.parcel_id)
        };
        let Some((actions, event, after_close)) = rule(&row.cause) else {
            let detail = format!("{}: no opening was asked for", what());
            r.fail(Invariant::DoorForced, detail);
            continue;
        };
        if row.cause == "pickup"
            && let Some(parcel) = row.parcel_id.as_deref()
        {
            *pickups.entry(parcel).or_default() += 1;
        }
        if !audit.take(actions, row) {
            let detail = format!("{}: no {actions:?} entry", what());
            r.fail(Invariant::DoorWithoutAudit, detail);
        }
        let closed_since = last_close.get(row.compartment.as_str()) > Some(&i);
        let Some(kind) = event.filter(|_| closed_since || !after_close) else {
            continue;
        };
        if !events.take(&[kind], row) {
            let detail = format!("{}: no {kind} event", what());
            r.fail(Invariant::DoorWithoutEvent, detail);
        }
    }
    for (parcel, n) in pickups.iter().filter(|(_, n)| **n > 1) {
        let detail = format!("parcel {parcel} opened for pickup {n} times");
        r.fail(Invariant::CodeOpenedTwice, detail);
    }
}
