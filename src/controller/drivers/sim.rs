//! The simulated locker as a bus: one channel per compartment on it, latch and door alike (a
//! pulse pops that compartment's door), so `POST /api/v1/sim/doors/{id}` can move any door.

use super::{Opened, Wiring, ids};
use lockerd_hal::sim::SimLocker;
use std::time::Duration;

/// The loader puts both halves of a simulated compartment on the one sim bus, so the
/// compartments with a latch here are those with a door here.
pub(super) fn open(wiring: &Wiring, poll: Duration) -> Opened {
    let compartments = ids(wiring.latches());
    let locker = SimLocker::new(compartments.len());
    Opened {
        sim: Some(locker.handle()),
        driver: Box::new(locker),
        poll,
        // Simulated doors do not bounce.
        stable_reads: 1,
        latches: compartments.clone(),
        doors: compartments,
        sensors: vec![],
    }
}
