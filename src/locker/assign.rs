//! Assignment: which compartment a deposit gets. The rule (smallest that fits, an accessible one
//! when asked for) is `domain::choose`; here is what it is chosen from, what is not free to
//! assign (an opening underway, a bus down, a compartment already tried), and why nothing fits.

use super::core::Inner;
use super::{LockerError, Result};
use crate::domain::{CodePurpose, Compartment, CompartmentId, CompartmentState, ParcelId, Size};
use crate::store;
use rusqlite::Connection;

/// Where a parcel may go beyond its size: an accessible compartment if one fits, and only
/// compartments in `within` when a scoped delivery code admitted it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub accessible: bool,
    pub within: Option<Vec<CompartmentId>>,
}

impl Inner {
    /// What was asked of a parcel's placement when it was admitted, for a resize or a move.
    pub fn placement_of(&self, conn: &Connection, parcel: &ParcelId) -> Result<Placement> {
        Ok(Placement {
            accessible: store::prefers_accessible(conn, parcel.as_str())?,
            within: store::compartment_scope(conn, parcel)?,
        })
    }

    /// Picks a compartment for parcel `tracking_id` of `size`, or says why there is none.
    pub fn choose(
        &self,
        conn: &Connection,
        tracking_id: &str,
        size: Size,
        placement: &Placement,
    ) -> Result<Compartment> {
        self.choose_excluding(conn, tracking_id, size, placement, &[])
    }

    /// The compartments a live standing pickup code with a scope names: a resident's own, in a
    /// bank. Only deliveries through a delivery code scoped to them are put there, so whatever
    /// they hold is that resident's and their standing code may open all of it.
    fn owned_compartments(&self, conn: &Connection) -> Result<Vec<CompartmentId>> {
        let now = self.now();
        Ok(store::list_access_codes(conn)?
            .into_iter()
            .filter(|code| code.purpose == CodePurpose::Pickup && code.usable(now))
            .filter_map(|code| code.compartments)
            .flatten()
            .collect())
    }

    /// Like `choose`, skipping `tried`. Compartments with an opening underway or on a bus that
    /// is down are not free to assign, nor any outside `placement.within`, nor (without
    /// `within`) a compartment a scoped standing pickup code owns. A parcel whose
    /// reservation asks for an accessible compartment gets one if one fits, and so does one
    /// whose courier asked for one (`placement.accessible`). `HardwareUnavailable` when fitting
    /// compartments exist but are all faulty, unavailable or already tried;
    /// `NoCompartmentAvailable` otherwise.
    pub fn choose_excluding(
        &self,
        conn: &Connection,
        tracking_id: &str,
        size: Size,
        placement: &Placement,
        tried: &[CompartmentId],
    ) -> Result<Compartment> {
        let accessible = placement.accessible || self.wants_accessible(conn, tracking_id)?;
        let busy: Vec<CompartmentId> = store::list_intents(conn)?
            .into_iter()
            .map(|i| i.compartment)
            .collect();
        let owned = match &placement.within {
            Some(_) => Vec::new(),
            None => self.owned_compartments(conn)?,
        };
        let all: Vec<Compartment> = store::list_compartments(conn, &self.order)?
            .into_iter()
            .filter(|c| placement.within.as_ref().is_none_or(|w| w.contains(&c.id)))
            .filter(|c| !owned.contains(&c.id))
            .collect();
        let usable = |c: &Compartment| {
            !busy.contains(&c.id) && !tried.contains(&c.id) && self.controller.available(&c.id)
        };
        let candidates: Vec<&Compartment> = all.iter().filter(|c| usable(c)).collect();
        if let Some(c) = crate::domain::choose(candidates, size, accessible) {
            return Ok(c.clone());
        }
        let hardware_to_blame = all.iter().any(|c| {
            let empty_and_fits = c.size.fits(size) && c.parcel.is_none();
            let broken = c.state == CompartmentState::Fault
                || tried.contains(&c.id)
                || !self.controller.available(&c.id);
            empty_and_fits && broken && c.state != CompartmentState::Disabled
        });
        Err(if hardware_to_blame {
            LockerError::HardwareUnavailable
        } else {
            LockerError::NoCompartmentAvailable
        })
    }
}
