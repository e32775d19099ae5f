//! The cloud's copy of the event feed, delivered by push: the wire shape of an event (the same
//! object the pull route `GET /api/v1/sync/events` answers with), the signed batch, the task
//! that POSTs batches until the cloud has everything, and the state an operator sees of it.
//!
//! Push has a cursor of its own (`Locker::push_delivered`), apart from the pull agent's
//! acknowledgement, so the two can run together and a sync token acknowledging ahead never makes
//! push skip an event. Delivery is at least once; event ids let the cloud drop repeats.
//!
//! Depends on `locker` (the feed) and `config`; knows nothing of the HTTP server, which reads
//! `PushStatus` for `/healthz` and `/metrics`.

mod backoff;
mod mqtt_status;
mod push;
mod status;
mod wire;

#[cfg(test)]
mod tests;

pub use backoff::Backoff;
pub use mqtt_status::{MqttState, MqttStatus};
pub use push::Pusher;
pub use status::{PushPhase, PushState, PushStatus};
pub use wire::{EventView, PushBody, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature};
