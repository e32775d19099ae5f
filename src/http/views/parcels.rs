//! Compartments, parcels, and the answers of deposit, pickup and the keypad.

use super::states::{CompartmentStateView, DoorView, ParcelStateView, RemovalView, SizeView};
use super::{opt_time, time};
use crate::domain::{Compartment, DeliveredBy, Parcel, ParcelState};
use crate::locker::{DepositOpened, KeypadStatus, PickupOpened};
use serde::Serialize;
use utoipa::ToSchema;

/// A compartment.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompartmentView {
    #[schema(example = "A1")]
    pub id: String,
    pub size: SizeView,
    /// Reachable from a wheelchair.
    pub accessible: bool,
    pub state: CompartmentStateView,
    pub door: DoorView,
    /// The parcel inside (or being deposited), if any.
    pub parcel_id: Option<String>,
    /// Extension: `false` while the bus of its latch or door does not answer. It is then never
    /// assigned, a pickup from it answers `503 hardware_unavailable` (the code stays valid), and
    /// its door is `unknown`; it comes back by itself when the bus answers again.
    pub available: bool,
    /// Whether its occupancy sensor (a Kerong board's infrared sensor) sees something inside;
    /// `null` without a sensor, or while its bus does not answer.
    pub occupied: Option<bool>,
}

impl CompartmentView {
    pub fn new(c: Compartment, available: bool) -> Self {
        Self {
            id: c.id.0,
            size: c.size.into(),
            accessible: c.accessible,
            state: c.state.into(),
            door: if available {
                c.door.into()
            } else {
                crate::domain::Door::Unknown.into()
            },
            parcel_id: c.parcel.map(|p| p.0),
            available,
            occupied: None,
        }
    }

    /// With what its occupancy sensor reads.
    pub fn occupied(mut self, occupied: Option<bool>) -> Self {
        self.occupied = occupied;
        self
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompartmentList {
    pub compartments: Vec<CompartmentView>,
}

/// A parcel. Never its pickup code.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParcelView {
    pub id: String,
    pub tracking_id: String,
    /// The size the courier declared (an extension).
    pub size: SizeView,
    pub state: ParcelStateView,
    /// A removal in progress (added): the parcel keeps its state until the door has been seen
    /// open and then closed.
    pub removal: Option<RemovalView>,
    pub compartment: Option<String>,
    /// The depositing courier's id.
    pub courier: Option<String>,
    #[schema(format = DateTime)]
    pub deposited_at: String,
    /// When the deposit's door last closed (added).
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    #[schema(format = DateTime)]
    pub stored_at: Option<String>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// Set only when the state is `collected`.
    #[schema(format = DateTime)]
    pub collected_at: Option<String>,
    /// When it was collected, cancelled or returned (added).
    #[schema(format = DateTime)]
    pub ended_at: Option<String>,
    /// Whether a proof-of-delivery photo exists.
    pub photo: bool,
    /// Extension: what admitted the parcel, as `parcel.stored` says it: `courier:<courier
    /// name>` for a courier's deposit (later also `reservation`, `pin:<access code name>`,
    /// `open_drop`); `null` for a parcel from before lockerd recorded it.
    #[schema(example = "courier:alice")]
    pub delivered_by: Option<String>,
}

impl From<Parcel> for ParcelView {
    fn from(p: Parcel) -> Self {
        let collected_at = match p.state {
            ParcelState::Collected => opt_time(p.ended_at),
            _ => None,
        };
        Self {
            id: p.id.0,
            tracking_id: p.tracking_id,
            size: p.size.into(),
            state: p.state.into(),
            removal: p.removal.map(|r| r.kind.into()),
            compartment: p.compartment.map(|c| c.0),
            courier: p.courier.map(|c| c.0),
            deposited_at: time(p.deposited_at),
            closed_at: opt_time(p.closed_at),
            stored_at: opt_time(p.stored_at),
            expires_at: opt_time(p.expires_at),
            collected_at,
            ended_at: opt_time(p.ended_at),
            photo: p.photo,
            delivered_by: p.delivered_by.as_ref().map(DeliveredBy::as_string),
        }
    }
}

/// One page of parcels.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParcelPageView {
    pub parcels: Vec<ParcelView>,
    /// Pass as `after` to get the next page; `null` on the last page.
    pub next: Option<String>,
}

/// A list of parcels (a courier's returns).
#[derive(Debug, Serialize, ToSchema)]
pub struct ParcelList {
    pub parcels: Vec<ParcelView>,
}

/// A compartment as a deposit answer names it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SizedCompartmentRef {
    #[schema(example = "A1")]
    pub id: String,
    pub size: SizeView,
}

/// The deposit state as the answer names it: the door has been seen open by the time it is
/// sent, but the contract (docs/api.md) fixes the literal `"opening"`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DepositState {
    Opening,
}

/// A deposit (or resize) whose compartment door has been seen open.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositView {
    pub parcel_id: String,
    pub compartment: SizedCompartmentRef,
    pub state: DepositState,
}

impl From<DepositOpened> for DepositView {
    fn from(d: DepositOpened) -> Self {
        Self {
            parcel_id: d.parcel_id.0,
            compartment: SizedCompartmentRef {
                id: d.compartment.0,
                size: d.size.into(),
            },
            state: DepositState::Opening,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompartmentRef {
    #[schema(example = "A1")]
    pub id: String,
}

/// A pickup whose compartment has been opened.
#[derive(Debug, Serialize, ToSchema)]
pub struct PickupView {
    /// The first of `opened`.
    pub parcel_id: String,
    pub compartment: CompartmentRef,
    /// Every parcel whose compartment opened, in order: one for a parcel's pickup code; each
    /// stored parcel in its scope for a standing pickup code (an access code).
    pub opened: Vec<OpenedView>,
}

/// One parcel a pickup opened.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenedView {
    pub parcel_id: String,
    pub compartment: CompartmentRef,
}

impl From<PickupOpened> for PickupView {
    fn from(p: PickupOpened) -> Self {
        Self {
            parcel_id: p.parcel_id.0,
            compartment: CompartmentRef {
                id: p.compartment.0,
            },
            opened: p
                .opened
                .into_iter()
                .map(|(parcel, compartment)| OpenedView {
                    parcel_id: parcel.0,
                    compartment: CompartmentRef { id: compartment.0 },
                })
                .collect(),
        }
    }
}

/// The keypad's lockout state.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeypadView {
    #[schema(format = DateTime)]
    pub locked_until: Option<String>,
    /// Failed codes since the last success or unlock.
    pub failures: u32,
    /// Extension: lockouts in a row, each twice as long as the one before (up to
    /// `policy.keypad_lockout_max`). Several in a row mean someone keeps typing wrong codes:
    /// a guesser, or someone locking recipients out on purpose.
    pub lockouts_in_a_row: u32,
}

impl From<KeypadStatus> for KeypadView {
    fn from(k: KeypadStatus) -> Self {
        Self {
            locked_until: opt_time(k.locked_until),
            failures: k.failures,
            lockouts_in_a_row: k.lockouts,
        }
    }
}
