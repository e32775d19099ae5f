//! A courier's side: deposit, confirm, reopen, resize, cancel, and returns of expired parcels.

use super::assign::Placement;
use super::audit::audit_parcel;
use super::core::{Inner, parcel_data};
use super::limits::Opening;
use super::tx::Tx;
use super::{DepositOpened, Locker, Principal, Scope};
use super::{LockerError, Result};
use crate::domain::{
    CompartmentEvent, CompartmentId, CourierId, DeliveredBy, Parcel, ParcelEvent, ParcelId,
    ParcelState, RemovalKind, Size,
};
use crate::store::{self, Purpose};
use rusqlite::Connection;
use serde_json::json;

/// A use case that checks a parcel within a courier's scope and records the intent to open its
/// compartment, audited under `actor`: (inner, actor, scope, parcel id).
type BeginOpening = fn(&Inner, &str, &Scope, &str) -> Result<(ParcelId, CompartmentId)>;

/// Who puts a parcel in: a courier, or a driver without an account (`courier: None`), what
/// admitted it, and which ceiling its opening counts against.
pub struct Depositor {
    pub courier: Option<CourierId>,
    pub by: DeliveredBy,
    pub opening: Opening,
}

/// The compartment a parcel is assigned to; a parcel that has left has none.
fn compartment_of(parcel: &Parcel) -> Result<CompartmentId> {
    parcel
        .compartment
        .clone()
        .ok_or_else(|| LockerError::Conflict("the parcel is in no compartment".into()))
}

pub fn check_tracking_id(tracking_id: &str) -> Result<()> {
    let ok = !tracking_id.is_empty()
        && tracking_id.len() <= 64
        && tracking_id.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(LockerError::InvalidRequest(
            "tracking_id: must be 1 to 64 printable ASCII characters without spaces".into(),
        ))
    }
}

impl Inner {
    /// A parcel within `scope`: a courier's own parcels, a delivery session's one parcel (others
    /// are not found, not forbidden, so a courier cannot probe which parcel ids exist), or any
    /// parcel for an operator.
    fn own_parcel(&self, conn: &Connection, scope: &Scope, id: &str) -> Result<Parcel> {
        store::get_parcel(conn, id)?
            .filter(|p| scope.covers(p))
            .ok_or_else(|| LockerError::NotFound(format!("parcel {id}")))
    }

    /// Creates the parcel and reserves the smallest fitting compartment, intent recorded.
    /// `by`: what admitted it, kept on the parcel and published when it is stored.
    pub fn begin_deposit(
        &self,
        actor: &str,
        (courier, by): (&CourierId, DeliveredBy),
        tracking_id: &str,
        size: Size,
        prefer_accessible: bool,
    ) -> Result<(ParcelId, CompartmentId)> {
        let placement = Placement {
            accessible: prefer_accessible,
            within: None,
        };
        let depositor = Depositor {
            courier: Some(courier.clone()),
            by,
            opening: Opening::Courier,
        };
        self.tx(|tx| self.deposit_in(tx, actor, &depositor, tracking_id, size, &placement))?
    }

    /// A deposit's parcel created and its compartment reserved in `tx`, or why not: a refusal
    /// of the opening ceilings comes as `Ok(Err(..))`, for the caller to commit.
    pub(super) fn deposit_in(
        &self,
        tx: &Tx<'_>,
        actor: &str,
        depositor: &Depositor,
        tracking_id: &str,
        size: Size,
        placement: &Placement,
    ) -> Result<Result<(ParcelId, CompartmentId)>> {
        if store::live_parcel_by_tracking(tx, tracking_id)?.is_some() {
            return Err(LockerError::DuplicateTrackingId);
        }
        let size = match self.reservation_for_deposit(tx, tracking_id)? {
            Some(reservation) => reservation.deposit_size(size),
            None => size,
        };
        let compartment = self.choose(tx, tracking_id, size, placement)?;
        if let Err(refused) = self.count_opening(tx, actor, depositor.opening)? {
            return Ok(Err(refused));
        }
        let id = ParcelId(uuid::Uuid::new_v4().to_string());
        let mut parcel = Parcel::deposit(
            id.clone(),
            tracking_id.to_owned(),
            size,
            compartment.id.clone(),
            depositor.courier.clone(),
            self.now(),
        );
        parcel.delivered_by = Some(depositor.by.clone());
        store::insert_parcel(tx, &parcel)?;
        if placement.accessible {
            store::set_prefer_accessible(tx, id.as_str())?;
        }
        if let Some(within) = &placement.within {
            store::set_compartment_scope(tx, &id, within)?;
        }
        self.update_compartment(tx, &compartment.id, CompartmentEvent::Reserved(id.clone()))?;
        self.intend(tx, &compartment.id, Purpose::Deposit, Some(&id), None)?;
        self.publish(tx, "parcel.opening", parcel_data(&parcel))?;
        let mut detail = audit_parcel(&parcel);
        detail["size"] = json!(size);
        self.audit(tx, actor, "deposit.opening", detail)?;
        Ok(Ok((id, compartment.id)))
    }

    pub fn confirm(&self, actor: &str, scope: &Scope, id: &str) -> Result<Parcel> {
        self.tx(|tx| {
            let parcel = self.own_parcel(tx, scope, id)?;
            match (parcel.state, parcel.removal) {
                (ParcelState::Closed, None) => {
                    let stored = self.store_parcel(tx, &parcel, "confirmed")?;
                    self.audit_stored(tx, actor, &stored, "confirmed")?;
                    Ok(stored)
                }
                (ParcelState::Stored, _) => Ok(parcel),
                (ParcelState::Opening | ParcelState::Open, _) => Err(LockerError::Conflict(
                    "the door is still open: close it first".into(),
                )),
                (state, _) => Err(LockerError::Conflict(format!(
                    "parcel is {}",
                    state.as_str()
                ))),
            }
        })
    }

    /// Marks a closed deposit for reopening; returns its compartment to pulse.
    pub fn begin_reopen(
        &self,
        actor: &str,
        scope: &Scope,
        id: &str,
    ) -> Result<(ParcelId, CompartmentId)> {
        self.tx(|tx| {
            let parcel = self.own_parcel(tx, scope, id)?;
            let compartment = compartment_of(&parcel)?;
            if let Err(refused) = self.count_opening(tx, actor, opening_by(scope))? {
                return Ok(Err(refused));
            }
            self.update_parcel(tx, &parcel, ParcelEvent::Reopened)?;
            self.intend(tx, &compartment, Purpose::Reopen, Some(&parcel.id), None)?;
            self.audit(tx, actor, "deposit.reopening", audit_parcel(&parcel))?;
            Ok(Ok((parcel.id, compartment)))
        })?
    }

    /// Moves an open deposit to a bigger compartment; the old one is free once its door closes.
    pub fn begin_resize(
        &self,
        actor: &str,
        scope: &Scope,
        id: &str,
        size: Size,
    ) -> Result<(ParcelId, CompartmentId)> {
        self.tx(|tx| {
            let parcel = self.own_parcel(tx, scope, id)?;
            if parcel.state != ParcelState::Open || parcel.removal.is_some() {
                return Err(LockerError::Conflict(format!(
                    "only a deposit whose door is open can be resized; this one is {}",
                    parcel.state.as_str()
                )));
            }
            let old = compartment_of(&parcel)?;
            let old_size = self.compartment(tx, &old)?.size;
            if size <= old_size {
                return Err(LockerError::InvalidRequest(format!(
                    "size: must be larger than the current compartment ({old_size})"
                )));
            }
            let placement = self.placement_of(tx, &parcel.id)?;
            let next = self.choose(tx, &parcel.tracking_id, size, &placement)?;
            if let Err(refused) = self.count_opening(tx, actor, opening_by(scope))? {
                return Ok(Err(refused));
            }
            let mut moved = self.update_parcel(tx, &parcel, ParcelEvent::Moved(next.id.clone()))?;
            moved.size = size;
            store::save_parcel_size(tx, &moved)?;
            self.update_compartment(tx, &next.id, CompartmentEvent::Reserved(parcel.id.clone()))?;
            self.intend(tx, &next.id, Purpose::Deposit, Some(&parcel.id), None)?;
            let mut data = parcel_data(&moved);
            data["previous_compartment"] = json!(old);
            self.publish(tx, "parcel.opening", data)?;
            let mut detail = audit_parcel(&moved);
            detail["previous_compartment"] = json!(old);
            detail["size"] = json!(size);
            self.audit(tx, actor, "deposit.resize_opening", detail)?;
            Ok(Ok((parcel.id, next.id)))
        })?
    }

    /// Starts a cancel; returns the compartment to pulse when its door is closed.
    pub fn begin_cancel(
        &self,
        actor: &str,
        scope: &Scope,
        id: &str,
    ) -> Result<Option<(ParcelId, CompartmentId)>> {
        self.tx(|tx| {
            let parcel = self.own_parcel(tx, scope, id)?;
            // A door seen open is left open; a closed one is opened, and that counts.
            let opens_door = parcel.state != ParcelState::Open;
            if opens_door && let Err(refused) = self.count_opening(tx, actor, opening_by(scope))? {
                return Ok(Err(refused));
            }
            let next = self.update_parcel(
                tx,
                &parcel,
                ParcelEvent::RemovalStarted(RemovalKind::Cancel),
            )?;
            let compartment = compartment_of(&parcel)?;
            let door_open = next.removal.is_some_and(|r| r.door_seen_open);
            debug_assert_eq!(door_open, !opens_door);
            let mut detail = audit_parcel(&parcel);
            detail["opens_door"] = json!(!door_open);
            self.audit(tx, actor, "deposit.cancel", detail)?;
            if door_open {
                return Ok(Ok(None));
            }
            self.intend(tx, &compartment, Purpose::Cancel, Some(&parcel.id), None)?;
            Ok(Ok(Some((parcel.id, compartment))))
        })?
    }

    pub fn courier_returns(&self, scope: &Scope) -> Result<Vec<Parcel>> {
        self.read(|c| {
            Ok(match scope {
                Scope::Courier(courier) => {
                    store::parcels_of_courier(c, courier.as_str(), ParcelState::Expired)?
                }
                Scope::Any => store::parcels_in_state(c, ParcelState::Expired)?,
                // A delivery's session is for putting its parcel in, not taking any out.
                Scope::Parcel(_) => return Err(LockerError::Forbidden),
            })
        })
    }

    pub fn begin_return(
        &self,
        actor: &str,
        scope: &Scope,
        id: &str,
    ) -> Result<(ParcelId, CompartmentId)> {
        if let Scope::Parcel(_) = scope {
            return Err(LockerError::Forbidden);
        }
        self.tx(|tx| {
            let parcel = self.own_parcel(tx, scope, id)?;
            if let Err(refused) = self.count_opening(tx, actor, opening_by(scope))? {
                return Ok(Err(refused));
            }
            self.update_parcel(
                tx,
                &parcel,
                ParcelEvent::RemovalStarted(RemovalKind::Return),
            )?;
            let compartment = compartment_of(&parcel)?;
            self.intend(tx, &compartment, Purpose::Return, Some(&parcel.id), None)?;
            self.audit(tx, actor, "return.opening", audit_parcel(&parcel))?;
            Ok(Ok((parcel.id, compartment)))
        })?
    }
}

/// A courier (or a delivery's session) opens within its own ceiling; an operator acting on a
/// parcel within its maintenance ceiling.
fn opening_by(scope: &Scope) -> Opening {
    match scope {
        Scope::Courier(_) | Scope::Parcel(_) => Opening::Courier,
        Scope::Any => Opening::Maintenance,
    }
}

impl Locker {
    pub async fn deposit(
        &self,
        courier: &Principal,
        tracking_id: &str,
        size: Size,
        prefer_accessible: bool,
    ) -> Result<DepositOpened> {
        let actor = courier.audit_actor();
        let by = DeliveredBy::Courier(courier.name.clone());
        let courier = Self::courier_of(courier)?;
        check_tracking_id(tracking_id)?;
        let tracking_id = tracking_id.to_owned();
        let (parcel_id, compartment) = self
            .blocking(move |inner| {
                let who = (&courier, by);
                inner.begin_deposit(&actor, who, &tracking_id, size, prefer_accessible)
            })
            .await?;
        self.deposit_opened(parcel_id, compartment).await
    }

    /// Opens the compartment reserved for a deposit and waits until its door is seen open,
    /// following the deposit if it moves to another compartment on the way.
    pub(super) async fn deposit_opened(
        &self,
        parcel_id: ParcelId,
        compartment: CompartmentId,
    ) -> Result<DepositOpened> {
        let compartment = self
            .open_and_wait(compartment, Purpose::Deposit, parcel_id.clone())
            .await?;
        let size = self
            .inner
            .config
            .compartments
            .iter()
            .find(|c| c.id == compartment.as_str())
            .map(|c| c.size)
            .ok_or_else(|| {
                LockerError::Internal(format!("compartment {compartment} is not configured"))
            })?;
        Ok(DepositOpened {
            parcel_id,
            compartment,
            size,
        })
    }

    pub async fn confirm(&self, courier: &Principal, parcel: &str) -> Result<Parcel> {
        let (scope, parcel) = (Self::parcel_scope(courier)?, parcel.to_owned());
        let actor = courier.audit_actor();
        self.blocking(move |inner| inner.confirm(&actor, &scope, &parcel))
            .await
    }

    pub async fn reopen(&self, courier: &Principal, parcel: &str) -> Result<()> {
        self.queue_opening(courier, parcel, Purpose::Reopen, Inner::begin_reopen)
            .await
    }

    /// Starts an opening for a parcel within the caller's scope (`begin` checks the parcel and
    /// records the intent) and queues it: the API answers 202 and the outcome shows in the
    /// parcel's state and the event feed.
    async fn queue_opening(
        &self,
        who: &Principal,
        parcel: &str,
        purpose: Purpose,
        begin: BeginOpening,
    ) -> Result<()> {
        let (scope, parcel) = (Self::parcel_scope(who)?, parcel.to_owned());
        let actor = who.audit_actor();
        let (parcel, compartment) = self
            .blocking(move |inner| begin(inner, &actor, &scope, &parcel))
            .await?;
        self.open_later(compartment, purpose, Some(parcel))
    }

    pub async fn resize(
        &self,
        courier: &Principal,
        parcel: &str,
        size: Size,
    ) -> Result<DepositOpened> {
        let (scope, parcel) = (Self::parcel_scope(courier)?, parcel.to_owned());
        let actor = courier.audit_actor();
        let (parcel_id, compartment) = self
            .blocking(move |inner| inner.begin_resize(&actor, &scope, &parcel, size))
            .await?;
        self.deposit_opened(parcel_id, compartment).await
    }

    pub async fn cancel(&self, courier: &Principal, parcel: &str) -> Result<()> {
        let (scope, parcel) = (Self::parcel_scope(courier)?, parcel.to_owned());
        let actor = courier.audit_actor();
        match self
            .blocking(move |inner| inner.begin_cancel(&actor, &scope, &parcel))
            .await?
        {
            Some((parcel, compartment)) => {
                self.open_later(compartment, Purpose::Cancel, Some(parcel))
            }
            None => Ok(()),
        }
    }

    pub async fn courier_returns(&self, courier: &Principal) -> Result<Vec<Parcel>> {
        let scope = Self::parcel_scope(courier)?;
        self.blocking(move |inner| inner.courier_returns(&scope))
            .await
    }

    pub async fn open_return(&self, courier: &Principal, parcel: &str) -> Result<()> {
        self.queue_opening(courier, parcel, Purpose::Return, Inner::begin_return)
            .await
    }
}
