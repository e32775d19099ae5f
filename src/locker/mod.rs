//! The service: every use case of the locker (deposit, pickup, maintenance, tokens, sync), each
//! one a short transaction over the store plus, where a door must open, a request to the
//! controller.
//!
//! `Locker` is a cheap clonable handle shared by the HTTP handlers and the daemon's tasks. Its
//! async methods run their transactions on the blocking pool (an fsync must not stall the
//! runtime) and, where a door opens, wait for the engine to apply the controller's verdict. It
//! knows nothing of HTTP; `crate::http` maps its results and `LockerError`s onto the API.

mod admin;
mod auth;
mod clock;
mod core;
mod deposit;
mod engine;
mod pickup;
mod secrets;
mod types;

pub use clock::{Clock, ManualClock, SystemClock};
pub use core::Ticket;
pub use secrets::InstallKey;
pub use types::*;

use crate::config::Config;
use crate::controller::{ControllerHandle, HwEvent};
use crate::domain::{
    Compartment, CompartmentId, CourierId, Parcel, ParcelId, ParcelState, Size, Timestamp,
};
use crate::store::{self, Db, Purpose};
use core::Inner;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A handle on the running locker.
#[derive(Clone)]
pub struct Locker {
    inner: Arc<Inner>,
}

/// What the service is built from.
pub struct Parts {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub key: InstallKey,
    pub controller: ControllerHandle<Ticket>,
    pub sim: Option<(
        lockerd_hal::sim::SimHandle,
        std::collections::HashMap<CompartmentId, usize>,
    )>,
}

impl Locker {
    /// Builds the service and brings the compartment table in line with the config.
    pub fn new(parts: Parts) -> Result<Locker> {
        let order: Vec<CompartmentId> = parts
            .config
            .compartments
            .iter()
            .map(|c| CompartmentId(c.id.clone()))
            .collect();
        let configured: Vec<_> = parts
            .config
            .compartments
            .iter()
            .map(|c| (CompartmentId(c.id.clone()), c.size, c.accessible))
            .collect();
        store::sync_compartments(&parts.db.lock(), &configured)?;
        let inner = Inner {
            db: parts.db,
            config: parts.config,
            clock: parts.clock,
            key: parts.key,
            controller: parts.controller,
            order,
            sim: parts.sim,
        };
        Ok(Locker {
            inner: Arc::new(inner),
        })
    }

    /// Applies hardware events, in order, until the controller stops. `reconciled` fires once
    /// the first event (the doors at start) has been applied.
    pub async fn run_engine(
        &self,
        mut events: mpsc::UnboundedReceiver<HwEvent<Ticket>>,
        mut reconciled: Option<oneshot::Sender<()>>,
    ) {
        while let Some(event) = events.recv().await {
            let inner = self.inner.clone();
            if tokio::task::spawn_blocking(move || inner.apply_hw_event(event))
                .await
                .is_err()
            {
                tracing::error!("applying a hardware event panicked");
            }
            if let Some(done) = reconciled.take() {
                let _ = done.send(());
            }
        }
    }

    /// Runs the time-driven changes (grace periods, expiry) once.
    pub async fn tick(&self) -> Result<()> {
        self.blocking(|inner| inner.tick()).await
    }

    async fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| LockerError::Internal(format!("task failed: {e}")))?
    }

    /// Asks the controller to open `compartment` and waits for the engine's verdict.
    async fn open_and_wait(
        &self,
        compartment: CompartmentId,
        purpose: Purpose,
        parcel: ParcelId,
    ) -> Result<CompartmentId> {
        let (reply, outcome) = oneshot::channel();
        let ticket = Ticket {
            purpose,
            parcel: Some(parcel),
            reply: Some(reply),
        };
        self.inner
            .controller
            .open(compartment, ticket)
            .map_err(|e| LockerError::Internal(e.to_string()))?;
        outcome.await.map_err(|_| {
            LockerError::Internal("the opening was dropped before its outcome".into())
        })?
    }

    /// Asks the controller to open `compartment` without waiting (the API answers 202).
    fn open_later(
        &self,
        compartment: CompartmentId,
        purpose: Purpose,
        parcel: Option<ParcelId>,
    ) -> Result<()> {
        let ticket = Ticket {
            purpose,
            parcel,
            reply: None,
        };
        self.inner
            .controller
            .open(compartment, ticket)
            .map_err(|e| LockerError::Internal(e.to_string()))
    }

    fn courier_of(principal: &Principal) -> Result<CourierId> {
        principal.courier.clone().ok_or(LockerError::Forbidden)
    }

    fn compartment_size(&self, id: &CompartmentId) -> Size {
        let config = &self.inner.config;
        config
            .compartments
            .iter()
            .find(|c| c.id == id.as_str())
            .map(|c| c.size)
            .unwrap_or(Size::S)
    }

    /// The holder of a bearer token, if the token is known and live.
    pub async fn authenticate(&self, token: &str) -> Option<Principal> {
        let token = token.to_owned();
        self.blocking(move |inner| Ok(inner.authenticate(&token)))
            .await
            .ok()
            .flatten()
    }

    // --- tokens (operator) ---
    /// Creates an API token and returns its secret, which is never shown again. `Courier` is refused (sessions come from login).
    pub async fn create_token(&self, role: Role, name: &str, actor: &Principal) -> Result<String> {
        let name = name.to_owned();
        tracing::info!(actor = %actor.name, token = %name, role = role.as_str(), "token created");
        self.blocking(move |inner| inner.create_token(role, &name))
            .await
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        self.blocking(|inner| inner.list_tokens()).await
    }

    pub async fn delete_token(&self, name: &str, actor: &Principal) -> Result<()> {
        let name = name.to_owned();
        tracing::info!(actor = %actor.name, token = %name, "token deleted");
        self.blocking(move |inner| inner.delete_token(&name)).await
    }

    // --- couriers ---
    pub async fn create_courier(&self, name: &str, actor: &Principal) -> Result<NewCourier> {
        let name = name.to_owned();
        tracing::info!(actor = %actor.name, courier = %name, "courier created");
        self.blocking(move |inner| inner.create_courier(&name))
            .await
    }

    pub async fn list_couriers(&self) -> Result<Vec<CourierInfo>> {
        self.blocking(|inner| inner.list_couriers()).await
    }

    pub async fn delete_courier(&self, id: &str, actor: &Principal) -> Result<()> {
        let id = id.to_owned();
        tracing::info!(actor = %actor.name, courier = %id, "courier removed");
        self.blocking(move |inner| inner.delete_courier(&id)).await
    }

    /// `courier` is an id or a name; `code` the current TOTP.
    pub async fn courier_login(&self, courier: &str, code: &str) -> Result<Session> {
        let (courier, code) = (courier.to_owned(), code.to_owned());
        self.blocking(move |inner| inner.courier_login(&courier, &code))
            .await
    }

    /// Ends the courier session of `principal`; closed deposits of that courier become stored.
    pub async fn courier_logout(&self, principal: &Principal) -> Result<()> {
        let principal = principal.clone();
        self.blocking(move |inner| inner.courier_logout(&principal))
            .await
    }

    // --- compartments ---
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
        let who = actor.name.clone();
        let c = id.clone();
        self.blocking(move |inner| inner.begin_maintenance(&c, &who))
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
            actor.name.clone(),
        );
        self.blocking(move |inner| inner.set_enabled(&id, enabled, &reason, &who))
            .await
    }

    // --- deposits (courier) ---
    pub async fn deposit(
        &self,
        courier: &Principal,
        tracking_id: &str,
        size: Size,
    ) -> Result<DepositOpened> {
        let courier = Self::courier_of(courier)?;
        deposit::check_tracking_id(tracking_id)?;
        let tracking_id = tracking_id.to_owned();
        let (parcel_id, compartment) = self
            .blocking(move |inner| inner.begin_deposit(&courier, &tracking_id, size))
            .await?;
        let compartment = self
            .open_and_wait(compartment, Purpose::Deposit, parcel_id.clone())
            .await?;
        let size = self.compartment_size(&compartment);
        Ok(DepositOpened {
            parcel_id,
            compartment,
            size,
        })
    }

    pub async fn confirm(&self, courier: &Principal, parcel: &str) -> Result<Parcel> {
        let (courier, parcel) = (Self::courier_of(courier)?, parcel.to_owned());
        self.blocking(move |inner| inner.confirm(&courier, &parcel))
            .await
    }

    pub async fn reopen(&self, courier: &Principal, parcel: &str) -> Result<()> {
        let (courier, parcel) = (Self::courier_of(courier)?, parcel.to_owned());
        let (parcel, compartment) = self
            .blocking(move |inner| inner.begin_reopen(&courier, &parcel))
            .await?;
        self.open_later(compartment, Purpose::Reopen, Some(parcel))
    }

    pub async fn resize(
        &self,
        courier: &Principal,
        parcel: &str,
        size: Size,
    ) -> Result<DepositOpened> {
        let (courier, parcel) = (Self::courier_of(courier)?, parcel.to_owned());
        let (parcel_id, compartment) = self
            .blocking(move |inner| inner.begin_resize(&courier, &parcel, size))
            .await?;
        let compartment = self
            .open_and_wait(compartment, Purpose::Deposit, parcel_id.clone())
            .await?;
        let size = self.compartment_size(&compartment);
        Ok(DepositOpened {
            parcel_id,
            compartment,
            size,
        })
    }

    pub async fn cancel(&self, courier: &Principal, parcel: &str) -> Result<()> {
        let (courier, parcel) = (Self::courier_of(courier)?, parcel.to_owned());
        match self
            .blocking(move |inner| inner.begin_cancel(&courier, &parcel))
            .await?
        {
            Some((parcel, compartment)) => {
                self.open_later(compartment, Purpose::Cancel, Some(parcel))
            }
            None => Ok(()),
        }
    }

    pub async fn courier_returns(&self, courier: &Principal) -> Result<Vec<Parcel>> {
        let courier = Self::courier_of(courier)?;
        self.blocking(move |inner| inner.courier_returns(&courier))
            .await
    }

    pub async fn open_return(&self, courier: &Principal, parcel: &str) -> Result<()> {
        let (courier, parcel) = (Self::courier_of(courier)?, parcel.to_owned());
        let (parcel, compartment) = self
            .blocking(move |inner| inner.begin_return(&courier, &parcel))
            .await?;
        self.open_later(compartment, Purpose::Return, Some(parcel))
    }

    // --- pickup (kiosk) ---
    pub async fn pickup(&self, code: &str) -> Result<PickupOpened> {
        let code = code.to_owned();
        let (parcel_id, compartment) = self
            .blocking(move |inner| inner.begin_pickup(&code))
            .await?;
        let compartment = self
            .open_and_wait(compartment, Purpose::Pickup, parcel_id.clone())
            .await?;
        Ok(PickupOpened {
            parcel_id,
            compartment,
        })
    }

    pub async fn keypad(&self) -> Result<KeypadStatus> {
        self.blocking(|inner| inner.keypad()).await
    }

    pub async fn keypad_unlock(&self, actor: &Principal) -> Result<()> {
        tracing::info!(actor = %actor.name, "keypad unlocked by operator");
        self.blocking(|inner| inner.keypad_unlock()).await
    }

    // --- parcels (operator, sync) ---
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
        let id = id.to_owned();
        tracing::info!(actor = %actor.name, parcel = %id, "parcel extended");
        self.blocking(move |inner| inner.extend(&id, until)).await
    }

    pub async fn new_code(&self, id: &str, actor: &Principal) -> Result<()> {
        let id = id.to_owned();
        tracing::info!(actor = %actor.name, parcel = %id, "new pickup code requested");
        self.blocking(move |inner| inner.new_code(&id)).await
    }

    // --- sync ---
    pub async fn events(&self, after: i64, limit: usize) -> Result<(Vec<EventRecord>, i64)> {
        self.blocking(move |inner| inner.events(after, limit)).await
    }

    pub async fn ack(&self, seq: i64) -> Result<()> {
        self.blocking(move |inner| inner.ack(seq)).await
    }

    // --- simulated hardware ---
    /// Whether a `sim` bus is configured (the sim route answers 404 otherwise).
    pub fn has_sim(&self) -> bool {
        self.inner.sim.is_some()
    }

    pub async fn sim_door(&self, compartment: &str, open: bool) -> Result<()> {
        self.inner.sim_door(compartment, open)
    }

    // --- health ---
    pub async fn health(&self) -> Health {
        let buses = self.inner.controller.health();
        let db_ok = self
            .blocking(|inner| Ok(inner.db.healthy()))
            .await
            .unwrap_or(false);
        Health { db_ok, buses }
    }

    pub fn now(&self) -> Timestamp {
        self.inner.now()
    }
}

/// Creates an API token straight in the database, for `lockerd token create` (the daemon may be
/// running: SQLite serializes the write).
pub fn create_token_offline(db: Db, role: Role, name: &str) -> Result<String> {
    auth::create_token_in(&db, role, name, SystemClock.now())
}
