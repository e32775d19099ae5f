//! The operator's and the cloud's side: compartments, parcels, the event feed.

use super::audit::audit_parcel;
use super::core::{Inner, parcel_data};
use super::limits::Opening;
use super::tx::Tx;
use super::{EventRecord, LockerError, ParcelPage, Result};
use super::{Locker, Principal};
use crate::controller::SimDoorError;
use crate::domain::{
    Compartment, CompartmentEvent, CompartmentId, Parcel, ParcelEvent, ParcelState, Timestamp,
};
use crate::store::{self, Purpose};
use serde_json::json;

impl Inner {
    pub fn compartments(&self) -> Result<Vec<Compartment>> {
        self.read(|c| Ok(store::list_compartments(c, &self.order)?))
    }

    pub fn begin_maintenance(
        &self,
        id: &CompartmentId,
        by: &Principal,
        reason: &str,
    ) -> Result<()> {
        if reason.trim().is_empty() {
            return Err(LockerError::InvalidRequest(
                "reason: must say why the compartment is opened (it is audited)".into(),
            ));
        }
        let actor = by.audit_actor();
        self.tx(|tx| {
            self.compartment(tx, id)?;
            if let Err(refused) = self.count_opening(tx, &actor, Opening::Maintenance)? {
                return Ok(Err(refused));
            }
            self.intend(tx, id, Purpose::Maintenance, None, Some((&by.name, reason)))?;
            let detail = json!({"compartment": id, "reason": reason});
            self.audit(tx, &actor, "maintenance.opening", detail)?;
            Ok(Ok(()))
        })?
    }

    pub fn set_enabled(
        &self,
        id: &CompartmentId,
        enabled: bool,
        reason: &str,
        by: &Principal,
    ) -> Result<Compartment> {
        self.tx(|tx| {
            if store::get_intent(tx, id.as_str())?.is_some() {
                return Err(LockerError::CompartmentBusy);
            }
            let (event, kind) = match enabled {
                true => (CompartmentEvent::Enabled, "compartment.enabled"),
                false => (CompartmentEvent::Disabled, "compartment.disabled"),
            };
            let c = self.update_compartment(tx, id, event)?;
            self.publish(
                tx,
                kind,
                json!({"compartment": id, "reason": reason, "actor": by.name}),
            )?;
            let detail = json!({"compartment": id, "reason": reason});
            self.audit(tx, &by.audit_actor(), kind, detail)?;
            Ok(c)
        })
    }

    pub fn parcels(
        &self,
        state: Option<ParcelState>,
        limit: usize,
        after: Option<&str>,
    ) -> Result<ParcelPage> {
        let after = match after {
            None | Some("") => 0,
            Some(cursor) => cursor
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    LockerError::InvalidRequest("after: not a cursor from a previous page".into())
                })?,
        };
        let rows = self.read(|c| Ok(store::list_parcels(c, state, after, limit + 1)?))?;
        let more = rows.len() > limit;
        let rows: Vec<_> = rows.into_iter().take(limit).collect();
        let next = more
            .then(|| rows.last().map(|(seq, _)| seq.to_string()))
            .flatten();
        Ok(ParcelPage {
            parcels: rows.into_iter().map(|(_, p)| p).collect(),
            next,
        })
    }

    pub fn extend(&self, actor: &str, id: &str, until: Timestamp) -> Result<Parcel> {
        if until <= self.now() {
            return Err(LockerError::InvalidRequest(
                "until: must be in the future".into(),
            ));
        }
        self.tx(|tx| {
            let parcel = self.parcel(tx, id)?;
            let extended = self.update_parcel(tx, &parcel, ParcelEvent::Extended { until })?;
            let mut detail = audit_parcel(&extended);
            detail["until"] = json!(until.to_rfc3339());
            self.audit(tx, actor, "parcel.extended", detail)?;
            if parcel.state == ParcelState::Expired {
                // The old code died with the expiry: the parcel gets a new one.
                self.publish_new_code(tx, actor, &extended, "extended after expiry")?;
            }
            Ok(extended)
        })
    }

    pub fn new_code(&self, actor: &str, id: &str) -> Result<()> {
        self.tx(|tx| {
            let parcel = self.parcel(tx, id)?;
            if parcel.state != ParcelState::Stored || parcel.removal.is_some() {
                return Err(LockerError::Conflict(format!(
                    "only a stored parcel gets a new code; this one is {}",
                    parcel.state.as_str()
                )));
            }
            self.publish_new_code(tx, actor, &parcel, "requested by operator")
        })
    }

    /// Gives the parcel a new code, publishes it in `parcel.code_changed` and audits that
    /// `actor` had it issued (never the code).
    pub(super) fn publish_new_code(
        &self,
        tx: &Tx<'_>,
        actor: &str,
        parcel: &Parcel,
        reason: &str,
    ) -> Result<()> {
        let code = self.issue_code(tx, &parcel.id)?;
        let mut data = parcel_data(parcel);
        data["pickup_code"] = json!(code.expose());
        data["reason"] = json!(reason);
        self.publish(tx, "parcel.code_changed", data)?;
        let mut detail = audit_parcel(parcel);
        detail["reason"] = json!(reason);
        self.audit(tx, actor, "parcel.new_code", detail)
    }

    pub fn events(&self, after: i64, limit: usize) -> Result<(Vec<EventRecord>, i64)> {
        self.read(|c| Ok((store::list_events(c, after, limit)?, store::last_seq(c)?)))
    }

    /// Checkpoints the WAL if an ack left scrubbed codes in it. Never blocks (see
    /// `Db::checkpoint`); says so in the log once per ack when a reader holds it up.
    pub fn finish_scrub(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        if !self.scrub_pending.load(SeqCst) {
            return;
        }
        match self.db.checkpoint() {
            Ok(true) => self.scrub_pending.store(false, SeqCst),
            Ok(false) => tracing::debug!(
                "another process reads the database: scrubbed codes stay in the WAL until the next checkpoint"
            ),
            Err(e) => tracing::warn!(error = %e, "checkpoint after ack failed; retrying"),
        }
    }
}

impl Locker {
    /// Whether every bus the compartment depends on answers (see `CompartmentView::available`).
    pub fn available(&self, id: &CompartmentId) -> bool {
        self.inner.controller.available(id)
    }

    pub async fn compartments(&self) -> Result<Vec<Compartment>> {
        self.blocking(|inner| inner.compartments()).await
    }

    pub async fn compartment(&self, id: &str) -> Result<Compartment> {
        let id = CompartmentId(id.to_owned());
        self.blocking(move |inner| inner.read(|c| inner.compartment(c, &id)))
            .await
    }

    pub async fn maintenance_open(&self, id: &str, reason: &str, actor: &Principal) -> Result<()> {
        let id = CompartmentId(id.to_owned());
        let (c, who, why) = (id.clone(), actor.clone(), reason.to_owned());
        self.blocking(move |inner| inner.begin_maintenance(&c, &who, &why))
            .await?;
        tracing::info!(actor = %actor.name, compartment = %id, reason, "maintenance opening");
        self.open_later(id, Purpose::Maintenance, None)
    }

    pub async fn disable(&self, id: &str, reason: &str, actor: &Principal) -> Result<Compartment> {
        self.set_enabled(id, false, reason, actor).await
    }

    pub async fn enable(&self, id: &str, actor: &Principal) -> Result<Compartment> {
        self.set_enabled(id, true, "", actor).await
    }

    async fn set_enabled(
        &self,
        id: &str,
        enabled: bool,
        reason: &str,
        actor: &Principal,
    ) -> Result<Compartment> {
        let (id, reason, who) = (
            CompartmentId(id.to_owned()),
            reason.to_owned(),
            actor.clone(),
        );
        self.blocking(move |inner| inner.set_enabled(&id, enabled, &reason, &who))
            .await
    }

    /// `after` is the cursor from a previous page's `next`; a bad cursor is `InvalidRequest`.
    pub async fn parcels(
        &self,
        state: Option<ParcelState>,
        limit: usize,
        after: Option<&str>,
    ) -> Result<ParcelPage> {
        let after = after.map(str::to_owned);
        self.blocking(move |inner| inner.parcels(state, limit, after.as_deref()))
            .await
    }

    pub async fn parcel(&self, id: &str) -> Result<Parcel> {
        let id = id.to_owned();
        self.blocking(move |inner| inner.read(|c| inner.parcel(c, &id)))
            .await
    }

    pub async fn extend(&self, id: &str, until: Timestamp, actor: &Principal) -> Result<Parcel> {
        let (id, by) = (id.to_owned(), actor.audit_actor());
        tracing::info!(actor = %actor.name, parcel = %id, "parcel extended");
        self.blocking(move |inner| inner.extend(&by, &id, until))
            .await
    }

    pub async fn new_code(&self, id: &str, actor: &Principal) -> Result<()> {
        let (id, by) = (id.to_owned(), actor.audit_actor());
        tracing::info!(actor = %actor.name, parcel = %id, "new pickup code requested");
        self.blocking(move |inner| inner.new_code(&by, &id)).await
    }

    pub async fn events(&self, after: i64, limit: usize) -> Result<(Vec<EventRecord>, i64)> {
        self.blocking(move |inner| inner.events(after, limit)).await
    }

    /// Whether a `sim` bus is configured (the sim route answers 404 otherwise).
    pub fn has_sim(&self) -> bool {
        self.inner.controller.has_sim()
    }

    /// Moves a simulated door as a hand would: the controller holds the simulated locker, as
    /// it does every bus. `NotFound` for a compartment whose door is not simulated.
    pub async fn sim_door(&self, compartment: &str, open: bool) -> Result<()> {
        let id = CompartmentId(compartment.to_owned());
        let moved = self.inner.controller.move_sim_door(id, open).await;
        moved.map_err(|e| match e {
            SimDoorError::NotSimulated => {
                LockerError::NotFound(format!("simulated compartment {compartment}"))
            }
            e => LockerError::Internal(format!("sim: {e}")),
        })
    }
}
