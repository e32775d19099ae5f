//! The locker's rules, pure: no I/O, no clock, no tokio, axum, rusqlite or hal.
//!
//! Each state machine takes the current state, the time and an event, and returns the new state
//! or refuses the event. The service layer (`crate::locker`) loads state from the store, calls in
//! here, and writes the result back in one transaction together with the events it publishes.

mod access_code;
mod assign;
mod compartment;
mod ids;
mod parcel;
mod rate;
mod reservation;
mod role;
mod size;
mod throttle;
pub use throttle::{Throttle, ThrottlePolicy};

#[cfg(test)]
mod tests;

pub use access_code::{AccessCode, CodePurpose};
pub use assign::choose;
pub use compartment::{Compartment, CompartmentEvent, CompartmentState, Door};
pub use ids::{CompartmentId, CourierId, ParcelId, PickupCode, Timestamp};
pub use parcel::{DeliveredBy, Parcel, ParcelEvent, ParcelState, Removal, RemovalKind};
pub use rate::{RateLimit, RateRefusal, RateWindow};
pub use reservation::Reservation;
pub use role::Role;
pub use size::Size;

/// Refusals of the state machines.
pub mod refused {
    pub use super::compartment::Refused as CompartmentRefused;
    pub use super::parcel::Refused as ParcelRefused;
}
