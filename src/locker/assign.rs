//! Assignment: which compartment a deposit gets. The rule (smallest that fits, an accessible one
//! when asked for) is `domain::choose`; here is what it is chosen from, what is not free to
//! assign (an opening underway, a bus down, a compartment already tried), and why nothing fits.

use super::core::Inner;
use super::{LockerError, Result};
use crate::domain::{Compartment, CompartmentId, CompartmentState, Size};
use crate::store;
use rusqlite::Connection;

impl Inner {
    /// Picks a compartment for parcel `tracking_id` of `size`, or says why there is none.
    pub fn choose(
        &self,
        conn: &Connection,
        tracking_id: &str,
        size: Size,
        prefer_accessible: bool,
    ) -> Result<Compartment> {
        self.choose_excluding(conn, tracking_id, size, prefer_accessible, &[])
    }

    /// Like `choose`, skipping `tried`. Compartments with an opening underway or on a bus that
    /// is down are not free to assign. A parcel whose reservation asks for an accessible
    /// compartment gets one if one fits, and so does one whose courier asked for one
    /// (`prefer_accessible`). `HardwareUnavailable` when fitting compartments exist
    /// but are all faulty, unavailable or already tried; `NoCompartmentAvailable` otherwise.
    pub fn choose_excluding(
        &self,
        conn: &Connection,
        tracking_id: &str,
        size: Size,
        prefer_accessible: bool,
        tried: &[CompartmentId],
    ) -> Result<Compartment> {
        let accessible = prefer_accessible || self.wants_accessible(conn, tracking_id)?;
        let busy: Vec<CompartmentId> = store::list_intents(conn)?
            .into_iter()
            .map(|i| i.compartment)
            .collect();
        let all = store::list_compartments(conn, &self.order)?;
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
