//! The parcel state machine.
//!
//! The states are the API's. Taking a parcel out (pickup, a courier's cancel, a return) is a
//! `Removal` in progress on top of the state the parcel is in: the parcel stays `stored`
//! (`expired`, `open`/`closed`) until its door has been seen open and then closed, so a latch that
//! fails or a door that never opens leaves the parcel where it was.

use super::{CompartmentId, CourierId, ParcelId, Size, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParcelState {
    /// Deposit: the latch is being pulsed, door not seen open yet.
    Opening,
    /// Deposit: door open, the courier is putting the parcel in.
    Open,
    /// Deposit: door closed, not yet confirmed.
    Closed,
    /// In the locker, pickup code live.
    Stored,
    Collected,
    /// Not collected by `expires_at`: code dead, waiting for a courier return.
    Expired,
    Returned,
    Cancelled,
}

impl ParcelState {
    pub const ALL: [ParcelState; 8] = [
        Self::Opening,
        Self::Open,
        Self::Closed,
        Self::Stored,
        Self::Collected,
        Self::Expired,
        Self::Returned,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opening => "opening",
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Stored => "stored",
            Self::Collected => "collected",
            Self::Expired => "expired",
            Self::Returned => "returned",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// Whether the parcel has left the locker for good.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Collected | Self::Returned | Self::Cancelled)
    }
}

/// Why a parcel's door is being opened to take it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemovalKind {
    Pickup,
    Cancel,
    Return,
}

impl RemovalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pickup => "pickup",
            Self::Cancel => "cancel",
            Self::Return => "return",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pickup, Self::Cancel, Self::Return]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    fn final_state(self) -> ParcelState {
        match self {
            Self::Pickup => ParcelState::Collected,
            Self::Cancel => ParcelState::Cancelled,
            Self::Return => ParcelState::Returned,
        }
    }
}

/// A removal in progress and whether its door has been seen open yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Removal {
    pub kind: RemovalKind,
    pub door_seen_open: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parcel {
    pub id: ParcelId,
    pub tracking_id: String,
    pub size: Size,
    pub state: ParcelState,
    pub removal: Option<Removal>,
    pub compartment: Option<CompartmentId>,
    pub courier: Option<CourierId>,
    pub deposited_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub stored_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    /// When it was collected, cancelled or returned.
    pub ended_at: Option<Timestamp>,
    pub photo: bool,
    /// What admitted it; `None` only for a parcel from before lockerd recorded it.
    pub delivered_by: Option<DeliveredBy>,
}

/// What admitted a parcel into the locker, as `parcel.stored` and the parcel view name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveredBy {
    /// `courier:<name>`: a courier logged in with TOTP deposited it.
    Courier(String),
    /// `reservation`: a driver without an account scanned a parcel the owner pre-advised.
    Reservation,
    /// `pin:<access code name>`: a driver gave a delivery access code.
    Pin(String),
    /// `open_drop`: a driver without an account, admitted by `[delivery] open_drop`.
    OpenDrop,
}

impl DeliveredBy {
    pub fn as_string(&self) -> String {
        match self {
            Self::Courier(name) => format!("courier:{name}"),
            Self::Reservation => "reservation".into(),
            Self::Pin(name) => format!("pin:{name}"),
            Self::OpenDrop => "open_drop".into(),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.split_once(':') {
            Some(("courier", name)) => Some(Self::Courier(name.into())),
            Some(("pin", name)) => Some(Self::Pin(name.into())),
            None if s == "reservation" => Some(Self::Reservation),
            None if s == "open_drop" => Some(Self::OpenDrop),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParcelEvent {
    /// Its compartment's door was seen open.
    DoorOpened,
    /// Its compartment's door was seen closed.
    DoorClosed,
    /// The deposit was confirmed (by the courier, their logout, or the grace period).
    Stored { expires_at: Timestamp },
    /// The courier reopens a closed deposit.
    Reopened,
    /// The deposit moves to another compartment (resize, or its latch failed).
    Moved(CompartmentId),
    /// No compartment could be opened for the deposit.
    DepositFailed,
    /// A door is being opened to take the parcel out.
    RemovalStarted(RemovalKind),
    /// The door for a removal could not be opened: the parcel stays as it was.
    RemovalFailed,
    /// `expires_at` has passed.
    Expired,
    /// An operator gives it more time.
    Extended { until: Timestamp },
}

impl ParcelEvent {
    fn name(&self) -> &'static str {
        match self {
            Self::DoorOpened => "door opened",
            Self::DoorClosed => "door closed",
            Self::Stored { .. } => "stored",
            Self::Reopened => "reopened",
            Self::Moved(_) => "moved",
            Self::DepositFailed => "deposit failed",
            Self::RemovalStarted(_) => "removal started",
            Self::RemovalFailed => "removal failed",
            Self::Expired => "expired",
            Self::Extended { .. } => "extended",
        }
    }
}

/// An event the parcel's current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parcel in state {} cannot take {event}", state.as_str())]
pub struct Refused {
    pub state: ParcelState,
    pub event: &'static str,
}

impl Parcel {
    /// A deposit just assigned to `compartment`.
    pub fn deposit(
        id: ParcelId,
        tracking_id: String,
        size: Size,
        compartment: CompartmentId,
        courier: Option<CourierId>,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            tracking_id,
            size,
            state: ParcelState::Opening,
            removal: None,
            compartment: Some(compartment),
            courier,
            deposited_at: now,
            closed_at: None,
            stored_at: None,
            expires_at: None,
            ended_at: None,
            photo: false,
            delivered_by: None,
        }
    }

    /// The parcel after `event` at `now`, or why it refuses it.
    pub fn apply(&self, event: ParcelEvent, now: Timestamp) -> Result<Parcel, Refused> {
        let refused = Refused {
            state: self.state,
            event: event.name(),
        };
        let mut next = self.clone();
        let taken = match self.removal {
            Some(removal) => next.apply_during_removal(removal, event, now),
            None => next.apply_without_removal(event, now),
        };
        if taken { Ok(next) } else { Err(refused) }
    }

    /// `event` while a removal is in progress: only its door and a failed opening move it on.
    /// False if the parcel refuses the event.
    fn apply_during_removal(
        &mut self,
        removal: Removal,
        event: ParcelEvent,
        now: Timestamp,
    ) -> bool {
        match event {
            ParcelEvent::DoorOpened => {
                self.removal = Some(Removal {
                    door_seen_open: true,
                    ..removal
                });
            }
            ParcelEvent::DoorClosed if removal.door_seen_open => {
                self.state = removal.kind.final_state();
                self.removal = None;
                self.ended_at = Some(now);
            }
            // The door was already closed when the removal began: not yet opened, nothing to do.
            ParcelEvent::DoorClosed => {}
            ParcelEvent::RemovalFailed if !removal.door_seen_open => self.removal = None,
            _ => return false,
        }
        true
    }

    /// `event` with no removal in progress: the deposit, storage, expiry and the start of a
    /// removal. False if the parcel refuses the event.
    fn apply_without_removal(&mut self, event: ParcelEvent, now: Timestamp) -> bool {
        use ParcelState as S;
        match (self.state, event) {
            (S::Opening | S::Closed, ParcelEvent::DoorOpened) => self.state = S::Open,
            // A restart may find a deposit's door closed before it was ever seen open: the
            // parcel may be inside, so it is treated as closed and the courier can still decide.
            (S::Opening | S::Open, ParcelEvent::DoorClosed) => {
                self.state = S::Closed;
                self.closed_at = Some(now);
            }
            (S::Closed, ParcelEvent::Stored { expires_at }) => {
                self.state = S::Stored;
                self.stored_at = Some(now);
                self.expires_at = Some(expires_at);
            }
            (S::Closed, ParcelEvent::Reopened) => self.state = S::Opening,
            (S::Opening | S::Open, ParcelEvent::Moved(to)) => {
                self.state = S::Opening;
                self.compartment = Some(to);
            }
            (S::Opening, ParcelEvent::DepositFailed) => {
                self.state = S::Cancelled;
                self.compartment = None;
                self.ended_at = Some(now);
            }
            (state, ParcelEvent::RemovalStarted(kind)) if removal_allowed(state, kind) => {
                // A cancel while the door is still open needs no pulse: closing it ends it.
                self.removal = Some(Removal {
                    kind,
                    door_seen_open: state == S::Open,
                });
            }
            (S::Stored, ParcelEvent::Expired) => self.state = S::Expired,
            // Any other door movement of a parcel still in the locker changes nothing about the
            // parcel (a forced door is the compartment's business).
            (state, ParcelEvent::DoorOpened | ParcelEvent::DoorClosed) if !state.is_final() => {}
            (S::Stored | S::Expired, ParcelEvent::Extended { until }) => {
                self.state = S::Stored;
                self.expires_at = Some(until);
            }
            _ => return false,
        }
        true
    }
}

/// Which removals each state allows: a courier cancels a deposit not yet stored, a recipient
/// collects a stored parcel, a courier returns an expired one.
fn removal_allowed(state: ParcelState, kind: RemovalKind) -> bool {
    matches!(
        (state, kind),
        (ParcelState::Open | ParcelState::Closed, RemovalKind::Cancel)
            | (ParcelState::Stored, RemovalKind::Pickup)
            | (ParcelState::Expired, RemovalKind::Return)
    )
}
