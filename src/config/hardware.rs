//! The hardware the file describes: buses (where latches and door sensors live) and the
//! compartments wired to them. These are plain validated values: opening a bus is the
//! controller's job, not the config's. What each driver's settings and addresses are is in
//! `drivers`.

use super::drivers::{DoorRef, Driver, LatchRef, OccupancyRef};
use crate::domain::Size;

/// One `[[bus]]`.
#[derive(Debug, Clone)]
pub struct BusConfig {
    pub name: String,
    pub driver: Driver,
}

/// One `[[compartment]]`.
#[derive(Debug, Clone)]
pub struct CompartmentConfig {
    pub id: String,
    pub size: Size,
    /// Reachable from a wheelchair.
    pub accessible: bool,
    pub latch: LatchRef,
    pub door: DoorRef,
    /// Its occupancy sensor, where it has one (a Kerong lock's infrared sensor).
    pub occupancy: Option<OccupancyRef>,
}
