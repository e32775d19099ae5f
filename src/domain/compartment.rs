//! The compartment state machine.
//!
//! `Disabled` and `Fault` are sticky: doors still open and close in them (an operator or a
//! recipient may still take a parcel out), but only `Enabled` leaves them. Whether a parcel is
//! inside is tracked by `parcel`, which the service updates as parcels arrive and leave.

use super::{CompartmentId, ParcelId, Size};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompartmentState {
    /// Empty, enabled, door closed: may be assigned.
    Free,
    /// Assigned to a deposit whose door has not been seen open yet.
    Reserved,
    /// Door open.
    Open,
    /// A parcel inside, door closed.
    Occupied,
    /// Taken out of service by an operator: never assigned.
    Disabled,
    /// Its latch failed to open the door: never assigned until an operator enables it.
    Fault,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Door {
    Open,
    Closed,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompartmentEvent {
    /// Chosen for a deposit.
    Reserved(ParcelId),
    /// The parcel no longer belongs here: a reservation given up before the door opened, or a
    /// resized parcel confirmed in its new compartment.
    Released,
    /// The door was seen open.
    DoorOpened,
    /// The door was seen closed; `parcel_inside` says whether the parcel stays in.
    DoorClosed {
        parcel_inside: bool,
    },
    /// The latch did not open the door within its retries.
    Faulted,
    Disabled,
    Enabled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compartment {
    pub id: CompartmentId,
    pub size: Size,
    pub accessible: bool,
    pub state: CompartmentState,
    pub door: Door,
    pub parcel: Option<ParcelId>,
    /// How many deposits it has taken; assignment spreads wear over equal compartments.
    pub uses: u64,
}

/// An event the current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("compartment in state {state:?} cannot take {event}")]
pub struct Refused {
    pub state: CompartmentState,
    pub event: &'static str,
}

impl CompartmentEvent {
    fn name(&self) -> &'static str {
        match self {
            Self::Reserved(_) => "reserved",
            Self::Released => "released",
            Self::DoorOpened => "door opened",
            Self::DoorClosed { .. } => "door closed",
            Self::Faulted => "faulted",
            Self::Disabled => "disabled",
            Self::Enabled => "enabled",
        }
    }
}

impl Compartment {
    /// A new, empty, enabled compartment whose door has not been read yet.
    pub fn new(id: CompartmentId, size: Size, accessible: bool) -> Self {
        Self {
            id,
            size,
            accessible,
            state: CompartmentState::Free,
            door: Door::Unknown,
            parcel: None,
            uses: 0,
        }
    }

    /// The state the compartment settles in once nothing is in progress.
    fn resting_state(&self) -> CompartmentState {
        match (self.door, &self.parcel) {
            (Door::Open, _) => CompartmentState::Open,
            (_, Some(_)) => CompartmentState::Occupied,
            (_, None) => CompartmentState::Free,
        }
    }

    /// The compartment after `event`, or why it refuses it.
    pub fn apply(&self, event: CompartmentEvent) -> Result<Compartment, Refused> {
        use CompartmentState as S;
        let refuse = |event: &CompartmentEvent| Refused {
            state: self.state,
            event: event.name(),
        };
        let mut next = self.clone();
        let sticky = matches!(self.state, S::Disabled | S::Fault);
        match event {
            CompartmentEvent::Reserved(parcel) if self.state == S::Free => {
                next.state = S::Reserved;
                next.parcel = Some(parcel);
                next.uses += 1;
            }
            // From `Open` or `Occupied`: a resized parcel is confirmed in its new compartment.
            CompartmentEvent::Released if self.state != S::Free => {
                next.parcel = None;
                if !sticky {
                    next.state = next.resting_state();
                }
            }
            CompartmentEvent::DoorOpened => {
                next.door = Door::Open;
                if !sticky {
                    next.state = S::Open;
                }
            }
            CompartmentEvent::DoorClosed { parcel_inside } => {
                next.door = Door::Closed;
                if !parcel_inside {
                    next.parcel = None;
                }
                if !sticky {
                    next.state = next.resting_state();
                }
            }
            CompartmentEvent::Faulted => {
                next.state = S::Fault;
            }
            CompartmentEvent::Disabled if self.state != S::Reserved => {
                next.state = S::Disabled;
            }
            CompartmentEvent::Enabled if self.state != S::Reserved => {
                next.state = next.resting_state();
            }
            other => return Err(refuse(&other)),
        }
        Ok(next)
    }

    /// Whether a deposit may be assigned here.
    pub fn assignable(&self) -> bool {
        self.state == CompartmentState::Free
    }
}
