//! The JSON shapes the API answers with (docs/api.md), built from the service's types.
//!
//! The domain's enums get their own wire enums here (`states`), converted by exhaustive
//! matches, so the domain stays free of serde names and a new domain state cannot reach the
//! wire unnamed. Times go out as RFC 3339 UTC strings, absent ones as `null`.

mod accounts;
mod audit;
mod daemon;
mod deliveries;
mod evidence;
mod kiosk;
mod parcels;
mod states;
mod sync;

pub use accounts::*;
pub use audit::*;
pub use daemon::*;
pub use deliveries::*;
pub use evidence::*;
pub use kiosk::*;
pub use parcels::*;
pub use states::*;
pub use sync::*;

use crate::domain::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

fn time(t: Timestamp) -> String {
    t.to_rfc3339()
}

fn opt_time(t: Option<Timestamp>) -> Option<String> {
    t.map(time)
}

/// The empty object `{}` that answers a `202 Accepted`: the door is being opened.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {}
