//! The service: every use case of the locker (deposit, pickup, maintenance, tokens, sync), each
//! one a short transaction over the store plus, where a door must open, a request to the
//! controller.
//!
//! `Locker` is a cheap clonable handle shared by the HTTP handlers and the daemon's tasks. Its
//! async methods run their transactions on the blocking pool (an fsync must not stall the
//! runtime) and, where a door opens, wait for the engine to apply the controller's verdict. It
//! knows nothing of HTTP; `crate::http` maps its results and `LockerError`s onto the API.

mod access_codes;
mod admin;
mod assign;
mod audit;
mod auth;
mod clock;
mod core;
mod delivery;
mod deposit;
mod engine;
mod evidence;
mod feed;
mod incident;
mod limits;
mod mqtt;
mod occupancy;
mod pairing;
mod photos;
mod pickup;
mod recovery;
mod reservations;
mod secrets;
mod sync;
mod totp_seal;
mod tx;
mod types;

pub use access_codes::{ACCESS_CODES_MAX, AccessCodeRequest, NewAccessCode};
pub use audit::AuditCheck;
pub use auth::UNKNOWN_NAME_THROTTLES_MAX;
pub use clock::{Clock, ManualClock, SystemClock};
pub use core::Ticket;
pub use delivery::DeliveryRequest;
pub use evidence::{EVIDENCE_MAX_ROWS, Evidence};
pub use incident::{
    INCIDENTS_PER_COMPARTMENT_PER_DAY, INCIDENTS_WITHOUT_COMPARTMENT_PER_DAY, IncidentReport,
    NOTE_MAX,
};
pub use mqtt::{COMMANDS_KEPT, CommandClaim};
pub use pairing::{PAIRING_TTL, Pairing, create_pairing_offline};
pub use secrets::{InstallKey, new_token, token_hash};
pub use sync::StateCounts;
pub use types::*;

use crate::config::Config;
use crate::controller::{ControllerHandle, HwEvent};
use crate::domain::{CompartmentId, CourierId, ParcelId, Timestamp};
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
    /// Counters for `/metrics`, shared with the controller and the HTTP layer.
    pub telemetry: crate::telemetry::Telemetry,
    /// Where parcels to photograph are sent, when a camera is configured.
    pub photos: Option<mpsc::UnboundedSender<ParcelId>>,
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub key: InstallKey,
    pub controller: ControllerHandle<Ticket>,
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
            live: Default::default(),
            stopping: Default::default(),
            appended: tokio::sync::watch::Sender::new(0),
            changed: tokio::sync::watch::Sender::new(0),
            revoked: tokio::sync::watch::Sender::new(0),
            last_prune: Default::default(),
            photos: parts.photos,
            openings: Default::default(),
            telemetry: parts.telemetry,
            scrub_pending: Default::default(),
        };
        // Before anything can log a courier in: secrets from before schema 8 are still clear.
        inner.seal_totp_secrets()?;
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

    /// From now on no new opening is asked for: the daemon is stopping and its controller is
    /// about to take none. Requests that would open a door answer `hardware_unavailable`.
    pub fn stop_opening(&self) {
        self.inner
            .stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Runs the time-driven changes (grace periods, expiry) once.
    pub async fn tick(&self) -> Result<()> {
        self.blocking(|inner| {
            inner.finish_scrub();
            inner.tick()
        })
        .await
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
        let ticket = Ticket::new(purpose, Some(parcel), Some(reply));
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
        let ticket = Ticket::new(purpose, parcel, None);
        self.inner
            .controller
            .open(compartment, ticket)
            .map_err(|e| LockerError::Internal(e.to_string()))
    }

    /// The courier a deposit is made by: only a courier session can deposit.
    fn courier_of(principal: &Principal) -> Result<CourierId> {
        principal.courier.clone().ok_or(LockerError::Forbidden)
    }

    /// Whose parcels `principal` may act on: a courier its own, a delivery's session its one
    /// parcel, an operator any (logged with the operator's name, since it may open a door with
    /// someone's parcel).
    fn parcel_scope(principal: &Principal) -> Result<Scope> {
        let scope = principal.scope().ok_or(LockerError::Forbidden)?;
        if scope == Scope::Any {
            tracing::info!(actor = %principal.name, "operator acting on a courier's parcel");
        }
        Ok(scope)
    }

    /// The holder of a bearer token, if the token is known and live.
    pub async fn authenticate(&self, token: &str) -> Option<Principal> {
        let token = token.to_owned();
        self.blocking(move |inner| Ok(inner.authenticate(&token)))
            .await
            .ok()
            .flatten()
    }

    pub async fn health(&self) -> Health {
        let buses = self.bus_health();
        let db_ok = self
            .blocking(|inner| Ok(inner.db.healthy()))
            .await
            .unwrap_or(false);
        Health { db_ok, buses }
    }

    /// Each bus's health as the controller last saw it, without touching the database.
    pub fn bus_health(&self) -> Vec<crate::controller::BusHealth> {
        self.inner.controller.health()
    }

    pub fn now(&self) -> Timestamp {
        self.inner.now()
    }

    /// What the daemon counts for `/metrics`.
    pub fn telemetry(&self) -> &crate::telemetry::Telemetry {
        &self.inner.telemetry
    }

    /// Changes after every commit that appended events to the feed.
    pub fn feed_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.appended.subscribe()
    }

    /// Changes after every committed transaction, whatever it changed.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// How many transactions have committed so far: a view read from the store after this
    /// count was taken holds every change up to it (the count moves only after a commit).
    pub fn commits(&self) -> u64 {
        *self.inner.changed.borrow()
    }

    /// Changes after every commit that removed a token (deleted, or replaced by pairing a
    /// kiosk again): streams opened with a token check it again then.
    pub fn revocations(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.revoked.subscribe()
    }

    /// The config the daemon runs on.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }
}

/// Creates an API token straight in the database, for `lockerd token create` (the daemon may be
/// running: SQLite serializes the write). Audited with the actor `cli`.
pub fn create_token_offline(db: Db, role: Role, name: &str) -> Result<String> {
    auth::create_token_in(&db, audit::CLI, role, name, SystemClock.now())
}
