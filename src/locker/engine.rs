//! Applying what the hardware did: openings confirmed or failed, doors forced, closed or left
//! open, and on start the reconciliation of unfinished intents against the doors.
//!
//! Hardware events arrive in order on one channel and are applied one at a time, each in its
//! own transaction, so the database follows the doors in the order they moved.

use super::core::{Inner, Ticket, parcel_data};
use super::{LockerError, Result};
use crate::controller::HwEvent;
use crate::domain::{
    Compartment, CompartmentEvent, CompartmentId, Door, Parcel, ParcelEvent, ParcelState,
    RemovalKind,
};
use crate::store::{self, Intent, Purpose};
use lockerd_hal::DoorState;
use rusqlite::Connection;
use serde_json::json;
use std::collections::HashMap;

/// Why an opening failed.
struct Failure<'a> {
    reason: &'a str,
    bus_unavailable: bool,
}

/// Follow-up work decided inside a transaction and done after it committed.
enum After {
    Nothing,
    Reply(Ticket, Result<CompartmentId>),
    Open(CompartmentId, Ticket),
}

impl Inner {
    pub fn apply_hw_event(&self, event: HwEvent<Ticket>) {
        let outcome = match event {
            HwEvent::DoorsRead(doors) => self.reconcile(doors).map(|()| After::Nothing),
            HwEvent::Opened {
                compartment,
                ticket,
            } => {
                self.settled(&compartment);
                self.tx(|tx| {
                    self.opened(tx, &compartment, &ticket)?;
                    Ok(After::Reply(ticket, Ok(compartment.clone())))
                })
            }
            HwEvent::OpenFailed {
                compartment,
                ticket,
                reason,
                bus_unavailable,
            } => {
                self.settled(&compartment);
                let failure = Failure {
                    reason: &reason,
                    bus_unavailable,
                };
                self.tx(|tx| self.open_failed(tx, &compartment, ticket, failure))
            }
            HwEvent::BusDown { bus, error } => self
                .tx(|tx| self.publish(tx, "bus.down", json!({"bus": bus, "error": error})))
                .map(|_| After::Nothing),
            HwEvent::BusUp { bus } => self
                .tx(|tx| self.publish(tx, "bus.up", json!({"bus": bus})))
                .map(|_| After::Nothing),
            HwEvent::DoorForced(c) => self
                .tx(|tx| self.door_forced(tx, &c, "no opening requested"))
                .map(|()| After::Nothing),
            HwEvent::DoorClosed(c) => self
                .tx(|tx| self.door_closed(tx, &c))
                .map(|()| After::Nothing),
            HwEvent::DoorLeftOpen(c) => self
                .tx(|tx| {
                    let compartment = self.compartment(tx, &c)?;
                    self.publish(
                        tx,
                        "door.left_open",
                        json!({"compartment": c, "parcel_id": compartment.parcel}),
                    )
                })
                .map(|_| After::Nothing),
        };
        match outcome {
            Ok(After::Nothing) => {}
            Ok(After::Reply(ticket, result)) => reply(ticket, result),
            Ok(After::Open(compartment, ticket)) => {
                if let Err(stopped) = self.controller.open(compartment.clone(), ticket) {
                    // Only while stopping; the intent is settled at the next start.
                    tracing::warn!(%compartment, "{stopped}");
                }
            }
            Err(e) => tracing::error!(error = %e, "applying a hardware event failed"),
        }
    }

    /// The door of an opening was seen open.
    fn opened(&self, tx: &Connection, c: &CompartmentId, ticket: &Ticket) -> Result<()> {
        let intent = store::take_intent(tx, c.as_str())?;
        self.update_compartment(tx, c, CompartmentEvent::DoorOpened)?;
        if let Some(parcel_id) = &ticket.parcel {
            let parcel = self.parcel(tx, parcel_id.as_str())?;
            self.try_update_parcel(tx, &parcel, ParcelEvent::DoorOpened)?;
            match ticket.purpose {
                // The code has done its one job.
                Purpose::Pickup => store::drop_held_code(tx, parcel_id)?,
                // A resized parcel is in its new compartment: the old one lets go of it.
                Purpose::Deposit => {
                    for old in store::compartments_holding(tx, parcel_id)? {
                        if old != *c {
                            self.update_compartment(tx, &old, CompartmentEvent::Released)?;
                        }
                    }
                }
                _ => {}
            }
        }
        if ticket.purpose == Purpose::Maintenance {
            let (actor, reason) = intent.map(|i| (i.actor, i.reason)).unwrap_or_default();
            self.publish(
                tx,
                "maintenance.opened",
                json!({"compartment": c, "actor": actor, "reason": reason}),
            )?;
        }
        Ok(())
    }

    /// The opening failed: the latch gave up (the compartment is faulty) or its bus is down
    /// (the compartment is merely unavailable). What the opening was for moves on.
    fn open_failed(
        &self,
        tx: &Connection,
        c: &CompartmentId,
        mut ticket: Ticket,
        failure: Failure,
    ) -> Result<After> {
        store::take_intent(tx, c.as_str())?;
        if !failure.bus_unavailable {
            self.update_compartment(tx, c, CompartmentEvent::Faulted)?;
            let data = json!({"compartment": c, "reason": failure.reason, "purpose": ticket.purpose.as_str(), "parcel_id": ticket.parcel});
            self.publish(tx, "compartment.fault", data)?;
        }
        let Some(parcel_id) = ticket.parcel.clone() else {
            return Ok(After::Reply(ticket, Err(LockerError::HardwareUnavailable)));
        };
        let parcel = self.parcel(tx, parcel_id.as_str())?;
        match ticket.purpose {
            Purpose::Deposit => {
                self.update_compartment(tx, c, CompartmentEvent::Released)?;
                ticket.tried.push(c.clone());
                self.move_deposit(tx, &parcel, ticket)
            }
            // A reopened deposit is still inside its compartment: it stays closed there.
            Purpose::Reopen => {
                self.try_update_parcel(tx, &parcel, ParcelEvent::DoorClosed)?;
                Ok(After::Reply(ticket, Err(LockerError::HardwareUnavailable)))
            }
            _ => {
                self.try_update_parcel(tx, &parcel, ParcelEvent::RemovalFailed)?;
                if ticket.purpose == Purpose::Pickup {
                    // The latch did not open: the recipient's code stays valid.
                    store::restore_held_code(tx, &parcel_id)?;
                }
                Ok(After::Reply(ticket, Err(LockerError::HardwareUnavailable)))
            }
        }
    }

    /// A deposit whose compartment failed goes to the next fitting one, if any is left.
    /// Never while the daemon stops: the controller takes no new openings then.
    fn move_deposit(&self, tx: &Connection, parcel: &Parcel, ticket: Ticket) -> Result<After> {
        let next = match self.stopping() {
            true => None,
            false => self.choose_excluding(tx, parcel.size, &ticket.tried).ok(),
        };
        if let Some(next) = next {
            let moved = self.update_parcel(tx, parcel, ParcelEvent::Moved(next.id.clone()))?;
            self.update_compartment(tx, &next.id, CompartmentEvent::Reserved(parcel.id.clone()))?;
            self.intend(tx, &next.id, Purpose::Deposit, Some(&parcel.id), None)?;
            self.publish(tx, "parcel.opening", parcel_data(&moved))?;
            return Ok(After::Open(next.id, ticket));
        }
        self.move_back_or_drop(tx, parcel, ticket, "hardware_unavailable")
    }

    /// A deposit that cannot open anywhere new: a resized parcel goes back to the compartment
    /// that still holds it; otherwise the deposit is cancelled for `reason`.
    fn move_back_or_drop(
        &self,
        tx: &Connection,
        parcel: &Parcel,
        ticket: Ticket,
        reason: &str,
    ) -> Result<After> {
        let old = store::compartments_holding(tx, &parcel.id)?
            .into_iter()
            .next();
        if let Some(old) = old.filter(|old| {
            self.compartment(tx, old)
                .is_ok_and(|c| c.door == Door::Open)
        }) {
            // The courier still stands at the open old door with the parcel.
            let back = self.update_parcel(tx, parcel, ParcelEvent::Moved(old))?;
            self.update_parcel(tx, &back, ParcelEvent::DoorOpened)?;
        } else {
            self.drop_deposit(tx, parcel, reason)?;
        }
        Ok(After::Reply(ticket, Err(LockerError::HardwareUnavailable)))
    }

    /// Gives up a deposit whose whereabouts are unsure: the parcel is cancelled (the courier
    /// has it, as far as anyone knows) and every compartment that held it is disabled until
    /// someone has looked inside, so nothing unknown is ever assigned over.
    fn drop_deposit(&self, tx: &Connection, parcel: &Parcel, reason: &str) -> Result<()> {
        for c in store::compartments_holding(tx, &parcel.id)? {
            self.update_compartment(tx, &c, CompartmentEvent::Released)?;
            if self.compartment(tx, &c)?.door != Door::Open {
                self.inspect(tx, &c, reason)?;
            }
        }
        let dropped = self.update_parcel(tx, parcel, ParcelEvent::DepositFailed)?;
        let mut data = parcel_data(&dropped);
        data["reason"] = json!(reason);
        self.publish(tx, "parcel.cancelled", data)?;
        Ok(())
    }

    /// Takes a compartment out of service until an operator has looked inside and enables it.
    fn inspect(&self, tx: &Connection, c: &CompartmentId, why: &str) -> Result<()> {
        self.update_compartment(tx, c, CompartmentEvent::Disabled)?;
        let reason = format!("inspect: {why}");
        self.publish(
            tx,
            "compartment.disabled",
            json!({"compartment": c, "reason": reason, "actor": "lockerd"}),
        )?;
        Ok(())
    }

    /// The parcel this compartment's door concerns: the one assigned here. A resized parcel on
    /// its way to another compartment is not moved by this door.
    fn parcel_here(&self, tx: &Connection, c: &Compartment) -> Result<Option<Parcel>> {
        let Some(id) = &c.parcel else { return Ok(None) };
        let parcel = self.parcel(tx, id.as_str())?;
        Ok((parcel.compartment.as_ref() == Some(&c.id)).then_some(parcel))
    }

    fn door_forced(&self, tx: &Connection, c: &CompartmentId, cause: &str) -> Result<()> {
        let compartment = self.update_compartment(tx, c, CompartmentEvent::DoorOpened)?;
        if let Some(parcel) = self.parcel_here(tx, &compartment)? {
            self.try_update_parcel(tx, &parcel, ParcelEvent::DoorOpened)?;
        }
        self.publish(
            tx,
            "door.forced",
            json!({"compartment": c, "parcel_id": compartment.parcel, "cause": cause}),
        )?;
        Ok(())
    }

    /// A door closed: the parcel in it moves on (closed, collected, cancelled, returned).
    fn door_closed(&self, tx: &Connection, c: &CompartmentId) -> Result<()> {
        let compartment = self.compartment(tx, c)?;
        // Whatever is assigned here and not leaving stays (a resized parcel in transit too).
        let mut parcel_inside = compartment.parcel.is_some();
        if let Some(parcel) = self.parcel_here(tx, &compartment)?
            && let Some(next) = self.try_update_parcel(tx, &parcel, ParcelEvent::DoorClosed)?
        {
            parcel_inside = !next.state.is_final();
            if next.state == ParcelState::Closed {
                // The parcel is in here now: any other compartment still holding it lets go.
                for other in store::compartments_holding(tx, &parcel.id)? {
                    if other != *c {
                        self.update_compartment(tx, &other, CompartmentEvent::Released)?;
                    }
                }
            }
            if next.state != parcel.state && next.state.is_final() {
                self.publish(
                    tx,
                    &format!("parcel.{}", next.state.as_str()),
                    parcel_data(&next),
                )?;
            }
        }
        self.update_compartment(tx, c, CompartmentEvent::DoorClosed { parcel_inside })?;
        Ok(())
    }

    /// On start: make the database agree with the doors as they are now, and settle every
    /// opening that was in progress when the daemon stopped.
    fn reconcile(&self, doors: HashMap<CompartmentId, DoorState>) -> Result<()> {
        let intents: HashMap<CompartmentId, Intent> = self
            .read(|c| Ok(store::list_intents(c)?))?
            .into_iter()
            .map(|i| (i.compartment.clone(), i))
            .collect();
        for c in &self.order {
            let Some(door) = doors.get(c) else {
                continue;
            };
            // An opening still in the controller's hands is not unfinished.
            let intent = intents.get(c).filter(|_| !self.is_live(c));
            let result = self.tx(|tx| match (door, intent) {
                (DoorState::Open, Some(intent)) => {
                    let ticket = Ticket::new(intent.purpose, intent.parcel.clone(), None);
                    self.opened(tx, c, &ticket)
                }
                (DoorState::Open, None) => {
                    if self.compartment(tx, c)?.door != Door::Open {
                        self.door_forced(tx, c, "found open at start")?;
                    }
                    Ok(())
                }
                (DoorState::Closed, intent) => {
                    if let Some(intent) = intent {
                        self.unfinished_opening(tx, intent)?;
                    }
                    if self.compartment(tx, c)?.door != Door::Closed {
                        self.door_closed(tx, c)?;
                    }
                    Ok(())
                }
            });
            if let Err(e) = result {
                tracing::error!(compartment = %c, error = %e, "reconciling a door read afresh failed");
            }
        }
        Ok(())
    }

    /// An opening in progress when the daemon stopped (or its bus went down), whose door is
    /// closed now: it may or may not have opened and closed meanwhile. Choose what loses
    /// nothing and opens nothing twice.
    fn unfinished_opening(&self, tx: &Connection, intent: &Intent) -> Result<()> {
        store::take_intent(tx, intent.compartment.as_str())?;
        let Some(parcel_id) = &intent.parcel else {
            return Ok(());
        };
        let parcel = self.parcel(tx, parcel_id.as_str())?;
        match (intent.purpose, parcel.removal) {
            // Never seen open: the courier, who got no answer, may or may not have put the
            // parcel in (or, for a resize, moved it). Nothing is assumed: see `drop_deposit`.
            (Purpose::Deposit, _) if parcel.state == ParcelState::Opening => {
                self.drop_deposit(
                    tx,
                    &parcel,
                    "a deposit opening was interrupted before its door was seen open",
                )?;
            }
            // A reopened deposit is inside its compartment: it stays there, closed.
            (Purpose::Reopen, _) if parcel.state == ParcelState::Opening => {
                self.update_parcel(tx, &parcel, ParcelEvent::DoorClosed)?;
                self.update_compartment(
                    tx,
                    &intent.compartment,
                    CompartmentEvent::DoorClosed {
                        parcel_inside: true,
                    },
                )?;
            }
            (Purpose::Pickup, Some(r)) if r.kind == RemovalKind::Pickup && !r.door_seen_open => {
                // The held code may already have opened the door: it dies, and the recipient
                // gets a new one through the cloud.
                self.update_parcel(tx, &parcel, ParcelEvent::RemovalFailed)?;
                store::drop_held_code(tx, parcel_id)?;
                self.publish_new_code(tx, &parcel, "restart during pickup")?;
            }
            // The courier meant to take it back and may have: the deposit is cancelled and the
            // compartment looked into, rather than storing a parcel that may be gone.
            (Purpose::Cancel, Some(r)) if !r.door_seen_open => {
                let kept = self.update_parcel(tx, &parcel, ParcelEvent::RemovalFailed)?;
                let opening = self.update_parcel(tx, &kept, ParcelEvent::Reopened)?;
                self.drop_deposit(
                    tx,
                    &opening,
                    "a cancel was interrupted before its door was seen open",
                )?;
            }
            (_, Some(r)) if !r.door_seen_open => {
                self.update_parcel(tx, &parcel, ParcelEvent::RemovalFailed)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Time-driven changes: closed deposits past their grace period become stored, stored
    /// parcels past `expires_at` expire, and ended courier sessions are removed.
    pub fn tick(&self) -> Result<()> {
        let now = self.now();
        let grace = self.config.policy.deposit_grace;
        self.tx(|tx| {
            for parcel in store::parcels_in_state(tx, ParcelState::Closed)? {
                if parcel.removal.is_none()
                    && parcel.closed_at.is_some_and(|t| t.plus(grace) <= now)
                {
                    self.store_parcel(tx, &parcel, "grace period")?;
                }
            }
            for parcel in store::parcels_expiring(tx, now)? {
                let expired = self.update_parcel(tx, &parcel, ParcelEvent::Expired)?;
                store::set_code_hash(tx, &parcel.id, None)?;
                self.publish(tx, "parcel.expired", parcel_data(&expired))?;
            }
            store::expire_sessions(tx, now)?;
            Ok(())
        })
    }
}

fn reply(ticket: Ticket, result: Result<CompartmentId>) {
    if let Some(reply) = ticket.reply {
        // The requester may have gone (client disconnected): the state is recorded regardless.
        let _ = reply.send(result);
    }
}
