//! Occupancy sensors (a Kerong lock's infrared sensor) as evidence: what a compartment reads,
//! and the alerts when a closing contradicts the parcel's story. A deposit or delivery whose
//! compartment reads empty once its door closed publishes `parcel.not_detected`; a pickup that
//! leaves its compartment occupied publishes `parcel.left_behind`. Neither changes the parcel's
//! state: the operator decides what happened.
//!
//! The controller reads the sensors with the doors, before it reports the door change, so the
//! reading at hand when a closing is applied is the one taken with the door shut.

use super::core::Inner;
use super::tx::Tx;
use super::{Locker, Result};
use crate::domain::{CompartmentId, Parcel, ParcelState};
use serde_json::json;

impl Locker {
    /// What the occupancy sensor of `id` reads: `None` without a sensor, or while its bus does
    /// not answer.
    pub fn occupied(&self, id: &CompartmentId) -> Option<bool> {
        self.inner.controller.occupied(id)
    }
}

impl Inner {
    /// The door of `c` closed and moved `parcel` to `next`: alert where the sensor disagrees.
    pub(super) fn check_occupancy(
        &self,
        tx: &Tx<'_>,
        c: &CompartmentId,
        parcel: &Parcel,
        next: &Parcel,
    ) -> Result<()> {
        let Some(occupied) = self.controller.occupied(c) else {
            return Ok(());
        };
        let alert = match (parcel.state, next.state) {
            (from, ParcelState::Closed) if from != ParcelState::Closed && !occupied => {
                "parcel.not_detected"
            }
            (from, ParcelState::Collected) if from != ParcelState::Collected && occupied => {
                "parcel.left_behind"
            }
            _ => return Ok(()),
        };
        self.telemetry.occupancy_alert(alert);
        tracing::warn!(compartment = %c, parcel = %next.id, alert, "occupancy sensor disagrees");
        let data = json!({
            "parcel_id": next.id,
            "tracking_id": next.tracking_id,
            "compartment": c,
            "occupied": occupied,
        });
        self.publish(tx, alert, data)?;
        Ok(())
    }
}
