//! The door-sensor capability: read whether doors are open.

use std::future::Future;

/// What a door sensor reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DoorState {
    Open,
    Closed,
}

impl DoorState {
    /// `Open` when `open` is true.
    pub fn from_open(open: bool) -> Self {
        if open { Self::Open } else { Self::Closed }
    }
}

/// A bus of door sensors, numbered `0..n`.
///
/// One call reads every door of the bus, so a driver can use one bus request per board (a
/// Modbus FC02 over all inputs) instead of one per door.
pub trait DoorSensor {
    /// The driver's error type.
    type Error: crate::Error;

    /// The number of door inputs on this bus.
    fn door_count(&self) -> usize;

    /// Read every door of this bus into `states` (`states.len() == door_count()`).
    fn read_doors(
        &mut self,
        states: &mut [DoorState],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The number of occupancy sensors on this bus (a Kerong board's infrared sensors); none
    /// unless the driver has them.
    fn occupancy_count(&self) -> usize {
        0
    }

    /// What the last `read_doors` read of the occupancy sensors: `occupied[i]` for sensor `i`,
    /// `None` where it was not read. Boards that report doors and sensors in one frame give
    /// both for one request.
    fn occupancy(&self, occupied: &mut [Option<bool>]) {
        occupied.fill(None);
    }
}
