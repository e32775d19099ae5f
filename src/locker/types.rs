//! What the service hands to the HTTP layer and the CLI: roles, principals, errors and results.

pub use crate::controller::BusHealth;
pub use crate::domain::Role;
use crate::domain::{CompartmentId, CourierId, ParcelId, Size, Timestamp};
pub use crate::store::{CourierInfo, EventRecord, TokenInfo};
use std::time::Duration;

/// The holder of a token: a named API token, or a courier's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    /// The token's name, or the courier's name for a session.
    pub name: String,
    /// Set for courier sessions.
    pub courier: Option<CourierId>,
    /// Set for a delivery's own session (a `courier`-role token from `POST
    /// /api/v1/deliveries`): the one parcel it reaches.
    pub parcel: Option<ParcelId>,
    /// A command of the MQTT link (`name` is its client id): audited as `mqtt:<client_id>`.
    pub mqtt: bool,
}

impl Principal {
    /// How the audit log names this principal: `role:name`, e.g. `operator:ops`,
    /// `kiosk:lobby`, `courier:alice`; a delivery's session `delivery:<what admitted it>`,
    /// e.g. `delivery:open_drop`, `delivery:pin:front door`.
    pub fn audit_actor(&self) -> String {
        if self.mqtt {
            return format!("mqtt:{}", self.name);
        }
        match self.parcel {
            Some(_) => format!("delivery:{}", self.name),
            None => format!("{}:{}", self.role.as_str(), self.name),
        }
    }

    /// The MQTT link's commands: an operator's reach (every command of the table is an
    /// operator's or the sync agent's route), audited as `mqtt:<client_id>`.
    pub fn mqtt(client_id: &str) -> Principal {
        Principal {
            role: Role::Operator,
            name: client_id.to_owned(),
            courier: None,
            parcel: None,
            mqtt: true,
        }
    }

    /// Whose parcels this principal may act on.
    pub fn scope(&self) -> Option<Scope> {
        match (self.role, &self.courier, &self.parcel) {
            (Role::Courier, Some(courier), _) => Some(Scope::Courier(courier.clone())),
            (Role::Courier, None, Some(parcel)) => Some(Scope::Parcel(parcel.clone())),
            (Role::Operator, _, _) => Some(Scope::Any),
            _ => None,
        }
    }
}

/// The parcels a caller may act on: a courier its own, a delivery's session its one parcel,
/// an operator any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Any,
    Courier(CourierId),
    Parcel(ParcelId),
}

impl Scope {
    pub fn covers(&self, parcel: &crate::domain::Parcel) -> bool {
        match self {
            Scope::Any => true,
            Scope::Courier(courier) => parcel.courier.as_ref() == Some(courier),
            Scope::Parcel(id) => &parcel.id == id,
        }
    }
}

/// Every way a request can fail, one variant per API error code.
#[derive(Debug, thiserror::Error)]
pub enum LockerError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("another opening of this compartment is in progress")]
    CompartmentBusy,
    #[error("no free compartment fits a parcel of this size")]
    NoCompartmentAvailable,
    #[error("a parcel with this tracking id is already in the locker")]
    DuplicateTrackingId,
    #[error("the compartment could not be opened")]
    HardwareUnavailable,
    /// A request from the kiosk page's cookies that another site may have made.
    #[error("{0}")]
    CrossSite(&'static str),
    /// `attempts_left`: failures the keypad takes before it locks (0: this one locked it, for
    /// `locked_for`).
    #[error("invalid code")]
    InvalidCode {
        attempts_left: u32,
        locked_for: Option<Duration>,
    },
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("too many failed attempts")]
    LockedOut { retry_after: Duration },
    /// A ceiling on how often a caller may do something (door openings, streams, reports).
    #[error("too many requests of this kind; retry later")]
    RateLimited { retry_after: Duration },
    #[error("this token may not do that")]
    Forbidden,
    /// Nothing admits a delivery: no reservation, no delivery code, no open drop (which part
    /// was wrong is never said).
    #[error("this delivery is not expected here")]
    DeliveryNotAllowed,
    /// A standing pickup code whose compartments hold nothing to collect.
    #[error("nothing waiting to be collected")]
    NothingToCollect,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for LockerError {
    fn from(e: rusqlite::Error) -> Self {
        LockerError::Internal(format!("database: {e}"))
    }
}

pub type Result<T, E = LockerError> = std::result::Result<T, E>;

/// A deposit (or resize) whose compartment door has been seen open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositOpened {
    pub parcel_id: ParcelId,
    pub compartment: CompartmentId,
    pub size: Size,
}

/// A pickup whose compartment door has been opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupOpened {
    /// The first of `opened`.
    pub parcel_id: ParcelId,
    pub compartment: CompartmentId,
    /// Every parcel whose compartment opened: one for a parcel's code, each stored parcel in
    /// its scope for a standing pickup code.
    pub opened: Vec<(ParcelId, CompartmentId)>,
}

/// A delivery without a courier account whose compartment door has been seen open, and the
/// delivery's own session (reaching only this parcel).
#[derive(Debug, Clone)]
pub struct DeliveryOpened {
    pub opened: DepositOpened,
    pub token: String,
    pub expires_at: Timestamp,
}

/// A courier as just created: the only time its TOTP secret is shown.
#[derive(Debug, Clone)]
pub struct NewCourier {
    pub id: CourierId,
    pub name: String,
    /// Base32, as authenticator apps take it.
    pub totp_secret: String,
    pub otpauth_url: String,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at: Timestamp,
    /// The courier's name, for a greeting.
    pub courier: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeypadStatus {
    pub locked_until: Option<Timestamp>,
    pub failures: u32,
    /// Lockouts in a row (each doubled the next); forgotten after `keypad_lockout_max` without
    /// one, or on an operator's unlock.
    pub lockouts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub db_ok: bool,
    pub buses: Vec<BusHealth>,
}

/// A page of parcels; `next` is the cursor for the following page.
#[derive(Debug, Clone)]
pub struct ParcelPage {
    pub parcels: Vec<crate::domain::Parcel>,
    pub next: Option<String>,
}

/// Where the cloud is in the event feed (see `feed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedStatus {
    /// The highest seq handed out.
    pub last_seq: i64,
    /// How far the cloud is known to have the feed: push's cursor with `[sync.push]`, else the
    /// pull acknowledgement. Codes are scrubbed and events pruned only up to here.
    pub acked_seq: i64,
    /// The pull agent's acknowledgement.
    pub pull_acked_seq: i64,
    /// How far the push endpoint accepted the feed.
    pub push_seq: i64,
    /// How far the MQTT broker accepted the feed (`[mqtt]`).
    pub mqtt_seq: i64,
    /// When the oldest event after `acked_seq` happened, if any waits.
    pub oldest_unacked_at: Option<Timestamp>,
}

/// A reservation as the cloud sends it; `pickup_code` is kept only hashed.
#[derive(Clone)]
pub struct ReservationRequest {
    pub size: Size,
    pub expires_at: Option<Timestamp>,
    pub pickup_code: Option<crate::domain::PickupCode>,
    /// The PIN a driver must give to deliver this parcel; kept only hashed, never listed.
    pub deposit_pin: Option<crate::domain::PickupCode>,
    pub photo: bool,
    pub accessible: bool,
}

/// A page of reservations; `next` is the cursor for the following page.
#[derive(Debug, Clone)]
pub struct ReservationPage {
    pub reservations: Vec<crate::domain::Reservation>,
    pub next: Option<String>,
}
