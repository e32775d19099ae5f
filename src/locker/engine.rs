//! Applying what the hardware did: openings confirmed or failed, doors forced, closed or left
//! open, buses down and back. What a fresh door read settles is in `recovery`.
//!
//! Hardware events arrive in order on one channel and are applied one at a time, each in its
//! own transaction, so the database follows the doors in the order they moved.

use super::audit::{DAEMON, audit_parcel};
use super::core::{Inner, Ticket, parcel_data};
use super::tx::Tx;
use super::{LockerError, Result};
use crate::controller::HwEvent;
use crate::domain::{
    Compartment, CompartmentEvent, CompartmentId, Door, Parcel, ParcelEvent, ParcelState,
};
use crate::store::{self, Purpose};
use serde_json::json;

/// Why an opening failed.
struct Failure<'a> {
    reason: &'a str,
    bus_unavailable: bool,
}

impl Inner {
    pub fn apply_hw_event(&self, event: HwEvent<Ticket>) {
        let outcome = match event {
            HwEvent::DoorsRead(doors) => self.reconcile(doors),
            HwEvent::Opened {
                compartment,
                ticket,
            } => {
                self.settled(&compartment);
                self.tx(|tx| {
                    self.opened(tx, &compartment, &ticket)?;
                    reply(tx, ticket, Ok(compartment.clone()));
                    Ok(())
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
                .map(drop),
            HwEvent::BusUp { bus } => self
                .tx(|tx| self.publish(tx, "bus.up", json!({"bus": bus})))
                .map(drop),
            HwEvent::DoorForced(c) => {
                self.tx(|tx| self.door_forced(tx, &c, "no opening requested"))
            }
            HwEvent::DoorClosed(c) => self.tx(|tx| self.door_closed(tx, &c)),
            HwEvent::DoorLeftOpen(c) => self
                .tx(|tx| {
                    self.telemetry.door("left_open");
                    let compartment = self.compartment(tx, &c)?;
                    self.publish(
                        tx,
                        "door.left_open",
                        json!({"compartment": c, "parcel_id": compartment.parcel}),
                    )
                })
                .map(drop),
        };
        if let Err(e) = outcome {
            tracing::error!(error = %e, "applying a hardware event failed");
        }
    }

    /// The door of an opening was seen open.
    pub(super) fn opened(&self, tx: &Tx<'_>, c: &CompartmentId, ticket: &Ticket) -> Result<()> {
        let intent = store::take_intent(tx, c.as_str())?;
        self.update_compartment(tx, c, CompartmentEvent::DoorOpened)?;
        self.log_door(tx, c, true, ticket.purpose.as_str(), ticket.parcel.as_ref())?;
        self.telemetry.door("opened");
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
        tx: &Tx<'_>,
        c: &CompartmentId,
        mut ticket: Ticket,
        failure: Failure,
    ) -> Result<()> {
        store::take_intent(tx, c.as_str())?;
        if !failure.bus_unavailable {
            self.count_latch_failure(c);
            self.update_compartment(tx, c, CompartmentEvent::Faulted)?;
            let data = json!({"compartment": c, "reason": failure.reason, "purpose": ticket.purpose.as_str(), "parcel_id": ticket.parcel});
            self.publish(tx, "compartment.fault", data)?;
        }
        let Some(parcel_id) = ticket.parcel.clone() else {
            reply(tx, ticket, Err(LockerError::HardwareUnavailable));
            return Ok(());
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
                reply(tx, ticket, Err(LockerError::HardwareUnavailable));
                Ok(())
            }
            _ => {
                self.try_update_parcel(tx, &parcel, ParcelEvent::RemovalFailed)?;
                if ticket.purpose == Purpose::Pickup {
                    // The latch did not open: the recipient's code stays valid.
                    store::restore_held_code(tx, &parcel_id)?;
                }
                reply(tx, ticket, Err(LockerError::HardwareUnavailable));
                Ok(())
            }
        }
    }

    /// A deposit whose compartment failed goes to the next fitting one, if any is left.
    /// Never while the daemon stops: the controller takes no new openings then.
    fn move_deposit(&self, tx: &Tx<'_>, parcel: &Parcel, ticket: Ticket) -> Result<()> {
        let placement = self.placement_of(tx, &parcel.id)?;
        let next = match self.stopping() {
            true => None,
            false => self
                .choose_excluding(
                    tx,
                    &parcel.tracking_id,
                    parcel.size,
                    &placement,
                    &ticket.tried,
                )
                .ok(),
        };
        if let Some(next) = next {
            let moved = self.update_parcel(tx, parcel, ParcelEvent::Moved(next.id.clone()))?;
            self.update_compartment(tx, &next.id, CompartmentEvent::Reserved(parcel.id.clone()))?;
            self.intend(tx, &next.id, Purpose::Deposit, Some(&parcel.id), None)?;
            self.publish(tx, "parcel.opening", parcel_data(&moved))?;
            let mut detail = audit_parcel(&moved);
            detail["previous_compartment"] = json!(parcel.compartment);
            detail["cause"] = json!("the previous compartment did not open");
            self.audit(tx, DAEMON, "deposit.opening", detail)?;
            tx.after_commit(|a| a.openings.push((next.id, ticket)));
            return Ok(());
        }
        self.move_back_or_drop(tx, parcel, ticket, "hardware_unavailable")
    }

    /// A deposit that cannot open anywhere new: a resized parcel goes back to the compartment
    /// that still holds it; otherwise the deposit is cancelled for `reason`.
    fn move_back_or_drop(
        &self,
        tx: &Tx<'_>,
        parcel: &Parcel,
        ticket: Ticket,
        reason: &str,
    ) -> Result<()> {
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
        reply(tx, ticket, Err(LockerError::HardwareUnavailable));
        Ok(())
    }

    /// The parcel this compartment's door concerns: the one assigned here. A resized parcel on
    /// its way to another compartment is not moved by this door.
    fn parcel_here(&self, tx: &Tx<'_>, c: &Compartment) -> Result<Option<Parcel>> {
        let Some(id) = &c.parcel else { return Ok(None) };
        let parcel = self.parcel(tx, id.as_str())?;
        Ok((parcel.compartment.as_ref() == Some(&c.id)).then_some(parcel))
    }

    pub(super) fn door_forced(&self, tx: &Tx<'_>, c: &CompartmentId, cause: &str) -> Result<()> {
        let compartment = self.update_compartment(tx, c, CompartmentEvent::DoorOpened)?;
        self.log_door(tx, c, true, "forced", compartment.parcel.as_ref())?;
        self.telemetry.door("forced");
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
    pub(super) fn door_closed(&self, tx: &Tx<'_>, c: &CompartmentId) -> Result<()> {
        let compartment = self.compartment(tx, c)?;
        // A door first read at start (unknown) was not seen closing.
        if compartment.door == Door::Open {
            let cause = store::last_door_cause(tx, c)?.unwrap_or_else(|| "unknown".into());
            self.log_door(tx, c, false, &cause, compartment.parcel.as_ref())?;
            self.telemetry.door("closed");
        }
        // Whatever is assigned here and not leaving stays (a resized parcel in transit too).
        let mut parcel_inside = compartment.parcel.is_some();
        if let Some(parcel) = self.parcel_here(tx, &compartment)?
            && let Some(next) = self.try_update_parcel(tx, &parcel, ParcelEvent::DoorClosed)?
        {
            parcel_inside = !next.state.is_final();
            self.check_occupancy(tx, c, &parcel, &next)?;
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

    fn count_latch_failure(&self, c: &CompartmentId) {
        let bus = self.config.compartments.iter().find(|x| x.id == c.as_str());
        if let Some(bus) = bus.map(|x| x.latch.bus().to_owned()) {
            let labels = crate::telemetry::BusLabels { bus };
            self.telemetry.latch_failures.get_or_create(&labels).inc();
        }
    }

    fn log_door(
        &self,
        tx: &Tx<'_>,
        c: &CompartmentId,
        open: bool,
        cause: &str,
        parcel: Option<&crate::domain::ParcelId>,
    ) -> Result<()> {
        let entry = store::DoorLogEntry {
            at: self.now(),
            open,
            cause: cause.to_owned(),
            parcel: parcel.cloned(),
        };
        store::log_door(tx, c, &entry)?;
        // One journal record per door movement: `journalctl -u lockerd COMPARTMENT=A1` tells
        // a compartment's story at the default level (never a code: the parcel's id only).
        let parcel = parcel.map_or("", |p| p.as_str());
        match open {
            true => tracing::info!(compartment = %c, parcel, cause, "door opened"),
            false => tracing::info!(compartment = %c, parcel, cause, "door closed"),
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
                    let stored = self.store_parcel(tx, &parcel, "grace period")?;
                    self.audit_stored(tx, DAEMON, &stored, "grace period")?;
                }
            }
            for parcel in store::parcels_expiring(tx, now)? {
                let expired = self.update_parcel(tx, &parcel, ParcelEvent::Expired)?;
                store::set_code_hash(tx, &parcel.id, None)?;
                self.publish(tx, "parcel.expired", parcel_data(&expired))?;
                self.audit(tx, DAEMON, "parcel.expired", audit_parcel(&expired))?;
            }
            store::expire_sessions(tx, now)?;
            store::prune_delivery_sessions(tx, now)?;
            self.sync_housekeeping(tx)
        })
    }
}

/// Answers the request waiting on `ticket` once the transaction that recorded its outcome has
/// committed. The requester may have gone (client disconnected): the state is recorded
/// regardless.
fn reply(tx: &Tx<'_>, ticket: Ticket, result: Result<CompartmentId>) {
    tx.after_commit(|a| a.replies.push((ticket, result)));
}
