//! Recovery: settling what nobody saw finish. When doors are read afresh (at start, or when a
//! bus answers again) the database is made to agree with them, and openings left unfinished
//! are settled by one rule: lose nothing, open nothing twice, and never assign a compartment
//! whose content is unknown.

use super::Result;
use super::audit::DAEMON;
use super::core::{Inner, Ticket, parcel_data};
use super::tx::Tx;
use crate::domain::{
    CompartmentEvent, CompartmentId, Door, Parcel, ParcelEvent, ParcelState, RemovalKind,
};
use crate::store::{self, Intent, Purpose};
use serde_json::json;
use std::collections::HashMap;

impl Inner {
    /// Gives up a deposit whose whereabouts are unsure: the parcel is cancelled (the courier
    /// has it, as far as anyone knows) and every compartment that held it is disabled until
    /// someone has looked inside, so nothing unknown is ever assigned over.
    pub(super) fn drop_deposit(&self, tx: &Tx<'_>, parcel: &Parcel, reason: &str) -> Result<()> {
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
    pub(super) fn inspect(&self, tx: &Tx<'_>, c: &CompartmentId, why: &str) -> Result<()> {
        self.update_compartment(tx, c, CompartmentEvent::Disabled)?;
        let reason = format!("inspect: {why}");
        self.publish(
            tx,
            "compartment.disabled",
            json!({"compartment": c, "reason": reason, "actor": DAEMON}),
        )?;
        let detail = json!({"compartment": c, "reason": reason});
        self.audit(tx, DAEMON, "compartment.disabled", detail)
    }

    /// On start: make the database agree with the doors as they are now, and settle every
    /// opening that was in progress when the daemon stopped.
    pub(super) fn reconcile(&self, doors: HashMap<CompartmentId, Door>) -> Result<()> {
        let intents: HashMap<CompartmentId, Intent> = self
            .read(|c| Ok(store::list_intents(c)?))?
            .into_iter()
            .map(|i| (i.compartment.clone(), i))
            .collect();
        for c in &self.order {
            let Some(&door) = doors.get(c) else {
                continue;
            };
            // An opening still in the controller's hands is not unfinished.
            let intent = intents.get(c).filter(|_| !self.is_live(c));
            let result = self.tx(|tx| match (door, intent) {
                (Door::Open, Some(intent)) => {
                    let ticket = Ticket::new(intent.purpose, intent.parcel.clone(), None);
                    self.opened(tx, c, &ticket)
                }
                (Door::Open, None) => {
                    if self.compartment(tx, c)?.door != Door::Open {
                        self.door_forced(tx, c, "found open at start")?;
                    }
                    Ok(())
                }
                (Door::Closed, intent) => {
                    if let Some(intent) = intent {
                        self.unfinished_opening(tx, intent)?;
                    }
                    if self.compartment(tx, c)?.door != Door::Closed {
                        self.door_closed(tx, c)?;
                    }
                    Ok(())
                }
                // The controller reports only doors it read: this one, never.
                (Door::Unknown, _) => Ok(()),
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
    pub(super) fn unfinished_opening(&self, tx: &Tx<'_>, intent: &Intent) -> Result<()> {
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
                self.publish_new_code(tx, DAEMON, &parcel, "restart during pickup")?;
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
}
