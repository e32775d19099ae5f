//! The service's shared state and the helpers every use case goes through: one transaction per
//! state change, with the events it publishes and its audit entry (`super::audit`) inside it.

use super::audit::DAEMON;
use super::clock::Clock;
use super::reservations::CloudCode;
use super::secrets::{InstallKey, new_pickup_code};
use super::tx::{AfterCommit, Tx};
use super::{LockerError, Result};
use crate::config::Config;
use crate::controller::ControllerHandle;
use crate::domain::{
    Compartment, CompartmentEvent, CompartmentId, DeliveredBy, Parcel, ParcelEvent, ParcelId,
    PickupCode, ThrottlePolicy, Timestamp,
};
use crate::store::{self, Db, Purpose};
use rusqlite::{Connection, TransactionBehavior};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::oneshot;

/// What an opening was for, carried through the controller and back.
pub struct Ticket {
    pub purpose: Purpose,
    pub parcel: Option<ParcelId>,
    /// Who waits for the outcome: the compartment that opened, or why none did.
    pub reply: Option<oneshot::Sender<Result<CompartmentId>>>,
    /// Compartments a deposit already failed in, so failover never tries one twice.
    pub tried: Vec<CompartmentId>,
}

impl Ticket {
    pub fn new(
        purpose: Purpose,
        parcel: Option<ParcelId>,
        reply: Option<oneshot::Sender<Result<CompartmentId>>>,
    ) -> Self {
        Ticket {
            purpose,
            parcel,
            reply,
            tried: vec![],
        }
    }
}

pub struct Inner {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub key: InstallKey,
    pub controller: ControllerHandle<Ticket>,
    /// Configured compartments in config order (the order lists show).
    pub order: Vec<CompartmentId>,
    /// Compartments whose opening was handed to the controller and is not settled yet.
    pub live: std::sync::Mutex<std::collections::HashSet<CompartmentId>>,
    /// Set once the daemon stops: no new openings are asked for.
    pub stopping: std::sync::atomic::AtomicBool,
    /// Bumped after every commit that appended events, so the push task (and any other
    /// follower of the feed) wakes without polling and never reads an uncommitted event.
    pub appended: tokio::sync::watch::Sender<u64>,
    /// Bumped after every commit, whatever it changed (a door, a compartment, a parcel): the
    /// version of what a live view read, which it re-reads only when something may have moved.
    pub changed: tokio::sync::watch::Sender<u64>,
    /// Bumped after every commit that removed a token, so the live streams opened with one
    /// check it again and end, instead of outliving it.
    pub revoked: tokio::sync::watch::Sender<u64>,
    /// An ack scrubbed codes that may still be in the WAL (see `finish_scrub`).
    pub scrub_pending: std::sync::atomic::AtomicBool,
    /// What the daemon counts for `/metrics`.
    pub telemetry: crate::telemetry::Telemetry,
    /// When acknowledged events were last pruned (see `sync_housekeeping`).
    pub last_prune: std::sync::Mutex<Option<Timestamp>>,
    /// Where the camera task takes its orders, when a camera is configured.
    pub photos: Option<tokio::sync::mpsc::UnboundedSender<ParcelId>>,
    /// Recent door openings per credential, for the ceilings against mass opening.
    pub openings: super::limits::OpenLimits,
}

impl Inner {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether an opening of `c` is in the controller's hands.
    pub fn is_live(&self, c: &CompartmentId) -> bool {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(c)
    }

    /// The controller has settled the opening of `c`.
    pub fn settled(&self, c: &CompartmentId) {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(c);
    }

    /// Runs `f` in one immediate transaction and commits it if `f` succeeds; then, and only
    /// then, does what the transaction asked for after its commit (`Tx::after_commit`).
    pub fn tx<R>(&self, f: impl FnOnce(&Tx<'_>) -> Result<R>) -> Result<R> {
        let mut conn = self.db.lock();
        let result = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(LockerError::from)
            .and_then(|tx| {
                let tx = Tx::new(tx);
                let out = f(&tx)?;
                Ok((out, tx.commit()?))
            });
        // The connection is free before the follow-ups run: a reply may start a request that
        // needs it.
        drop(conn);
        let (out, after) = result?;
        self.changed.send_modify(|n| *n += 1);
        self.run_after_commit(after);
        Ok(out)
    }

    fn run_after_commit(&self, after: AfterCommit) {
        let AfterCommit {
            appended,
            token_removed,
            photos,
            delete_files,
            secrets_in_wal,
            pruned_at,
            replies,
            openings,
        } = after;
        if appended {
            self.appended.send_modify(|n| *n += 1);
        }
        if token_removed {
            self.revoked.send_modify(|n| *n += 1);
        }
        if let Some(camera) = &self.photos {
            for parcel in photos {
                let _ = camera.send(parcel);
            }
        }
        for path in delete_files {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // The next start's sweep deletes a file no parcel refers to.
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot delete a file")
                }
            }
        }
        if secrets_in_wal {
            self.scrub_pending
                .store(true, std::sync::atomic::Ordering::SeqCst);
            self.finish_scrub();
        }
        if let Some(at) = pruned_at {
            *self.last_prune.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
        }
        for (ticket, result) in replies {
            if let Some(reply) = ticket.reply {
                let _ = reply.send(result);
            }
        }
        for (compartment, ticket) in openings {
            if let Err(stopped) = self.controller.open(compartment.clone(), ticket) {
                // Only while stopping; the intent is settled at the next start.
                tracing::warn!(%compartment, "{stopped}");
            }
        }
    }

    /// Runs `f` on the connection without a transaction (reads).
    pub fn read<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        f(&self.db.lock())
    }

    pub fn keypad_policy(&self) -> ThrottlePolicy {
        let p = &self.config.policy;
        ThrottlePolicy {
            max_failures: p.keypad_max_failures,
            first_lockout: p.keypad_lockout,
            max_lockout: p.keypad_lockout_max,
        }
    }

    pub fn publish(&self, tx: &Tx<'_>, kind: &str, data: Value) -> Result<i64> {
        let seq = store::append_event(tx, kind, self.now(), &data)?;
        // The type and seq only: event data may hold a pickup code.
        tracing::debug!(event = kind, seq, "event appended");
        tx.after_commit(|a| a.appended = true);
        Ok(seq)
    }

    pub fn compartment(&self, conn: &Connection, id: &CompartmentId) -> Result<Compartment> {
        store::get_compartment(conn, id.as_str())?
            .filter(|_| self.order.contains(id))
            .ok_or_else(|| LockerError::NotFound(format!("compartment {id}")))
    }

    pub fn parcel(&self, conn: &Connection, id: &str) -> Result<Parcel> {
        store::get_parcel(conn, id)?.ok_or_else(|| LockerError::NotFound(format!("parcel {id}")))
    }

    /// Applies `event` to a compartment and saves it.
    pub fn update_compartment(
        &self,
        conn: &Connection,
        id: &CompartmentId,
        event: CompartmentEvent,
    ) -> Result<Compartment> {
        let next = self
            .compartment(conn, id)?
            .apply(event)
            .map_err(|e| LockerError::Conflict(format!("compartment {id}: {e}")))?;
        store::save_compartment(conn, &next)?;
        Ok(next)
    }

    /// Applies `event` to a parcel and saves it.
    pub fn update_parcel(
        &self,
        conn: &Connection,
        parcel: &Parcel,
        event: ParcelEvent,
    ) -> Result<Parcel> {
        let next = parcel
            .apply(event, self.now())
            .map_err(|e| LockerError::Conflict(e.to_string()))?;
        store::save_parcel(conn, &next)?;
        Ok(next)
    }

    /// Like `update_parcel`, but a transition the parcel refuses is logged and skipped rather
    /// than failing the transaction: a hardware event must still be recorded (and its intent
    /// cleared) when a parcel has already moved on.
    pub fn try_update_parcel(
        &self,
        conn: &Connection,
        parcel: &Parcel,
        event: ParcelEvent,
    ) -> Result<Option<Parcel>> {
        match parcel.apply(event, self.now()) {
            Ok(next) => {
                store::save_parcel(conn, &next)?;
                Ok(Some(next))
            }
            Err(refused) => {
                tracing::warn!(parcel = %parcel.id, %refused, "hardware event does not apply to the parcel");
                Ok(None)
            }
        }
    }

    /// Records the intent to open `compartment` (`by`: who asked and why, for maintenance);
    /// `CompartmentBusy` if another opening is underway.
    pub fn intend(
        &self,
        conn: &Connection,
        compartment: &CompartmentId,
        purpose: Purpose,
        parcel: Option<&ParcelId>,
        by: Option<(&str, &str)>,
    ) -> Result<()> {
        let intent = store::Intent {
            compartment: compartment.clone(),
            purpose,
            parcel: parcel.cloned(),
            actor: by.map(|(actor, _)| actor.to_owned()),
            reason: by.map(|(_, reason)| reason.to_owned()),
            created_at: self.now(),
        };
        if self.stopping() {
            return Err(LockerError::HardwareUnavailable);
        }
        if !store::insert_intent(conn, &intent)? {
            return Err(LockerError::CompartmentBusy);
        }
        // Live from now on, so a door read afresh meanwhile does not take it for unfinished.
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(compartment.clone());
        Ok(())
    }

    /// Gives a parcel a new live code, unique among live codes, and returns it (to publish once).
    pub fn issue_code(&self, conn: &Connection, parcel: &ParcelId) -> Result<PickupCode> {
        loop {
            let code = new_pickup_code(self.config.policy.code_length);
            let hash = self.key.code_hash(code.expose());
            if !store::code_hash_in_use(conn, &hash)? {
                store::set_code_hash(conn, parcel, Some(&hash))?;
                return Ok(code);
            }
        }
    }

    /// Moves a closed deposit to `stored`: the cloud's code from its reservation, or a new code
    /// published in `parcel.stored` (the cloud's own code is never repeated in events).
    pub fn store_parcel(&self, tx: &Tx<'_>, parcel: &Parcel, cause: &str) -> Result<Parcel> {
        let expires_at = self.now().plus(self.config.policy.dwell);
        let stored = self.update_parcel(tx, parcel, ParcelEvent::Stored { expires_at })?;
        let mut data = parcel_data(&stored);
        let (cloud_code, photo) = self.consume_reservation(tx, &stored)?;
        // A reservation's `photo: false` means no camera, ever: the event says what will happen.
        let photo = photo && self.photos.is_some();
        if photo {
            tx.after_commit(|a| a.photos.push(stored.id.clone()));
        }
        data["photo"] = json!(photo);
        match &cloud_code {
            CloudCode::Usable(hash) => {
                store::set_code_hash(tx, &stored.id, Some(hash))?;
                data["pickup_code_issuer"] = json!("cloud");
            }
            CloudCode::Taken => data["pickup_code_issuer"] = json!("cloud"),
            CloudCode::None => {
                let code = self.issue_code(tx, &stored.id)?;
                data["pickup_code"] = json!(code.expose());
                data["pickup_code_issuer"] = json!("locker");
            }
        }
        data["cause"] = json!(cause);
        self.publish(tx, "parcel.stored", data)?;
        if let CloudCode::Taken = cloud_code {
            tracing::warn!(parcel = %stored.id, "the cloud's pickup code is another parcel's live code; a new one is issued");
            self.publish_new_code(tx, DAEMON, &stored, CLOUD_CODE_TAKEN)?;
        }
        Ok(stored)
    }
}

/// The reason `parcel.code_changed` gives when a reservation's code was another parcel's.
pub const CLOUD_CODE_TAKEN: &str = "the reservation's pickup code is in use by another parcel";

/// What every parcel event carries.
pub fn parcel_data(p: &Parcel) -> Value {
    json!({
        "parcel_id": p.id,
        "tracking_id": p.tracking_id,
        "state": p.state.as_str(),
        "size": p.size,
        "compartment": p.compartment,
        "courier": p.courier,
        "deposited_at": p.deposited_at.to_rfc3339(),
        "closed_at": p.closed_at.map(Timestamp::to_rfc3339),
        "stored_at": p.stored_at.map(Timestamp::to_rfc3339),
        "expires_at": p.expires_at.map(Timestamp::to_rfc3339),
        "ended_at": p.ended_at.map(Timestamp::to_rfc3339),
        "delivered_by": p.delivered_by.as_ref().map(DeliveredBy::as_string),
    })
}
