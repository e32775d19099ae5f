//! The locker's rules, pure: no I/O, no clock, no tokio, axum, rusqlite or hal.
//!
//! Each state machine takes the current state, the time and an event, and returns the new state
//! or refuses the event. The service layer (`crate::locker`) loads state from the store, calls in
//! here, and writes the result back in one transaction together with the events it publishes.

mod size;

pub use size::Size;
