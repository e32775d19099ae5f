//! `[[compartment]]` tables: ids, and the rule that no two compartments share hardware. A shared
//! latch output would open two doors for one parcel; a shared door input would report one door's
//! state for another; a GPIO pin can be an output or an input, never both.

use super::check::{Check, ConfigError};
use super::drivers::{Claim, DoorRef, LatchRef};
use super::hardware::{BusConfig, CompartmentConfig};
use super::raw::RawCompartment;
use super::wiring;
use std::collections::HashMap;

/// Ids appear in URLs and on labels: keep them short and URL-safe.
const MAX_ID_LEN: usize = 16;

pub(super) fn validate(
    check: &Check,
    raw: Vec<RawCompartment>,
    buses: &[BusConfig],
) -> Result<Vec<CompartmentConfig>, ConfigError> {
    check.ensure(!raw.is_empty(), "compartment", || {
        "at least one [[compartment]] is required".to_owned()
    })?;
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut claims = Claims::default();
    let mut compartments = Vec::with_capacity(raw.len());
    for (index, compartment) in raw.into_iter().enumerate() {
        let key = format!("compartment[{index}]");
        let id_key = format!("{key}.id");
        let id = compartment.id;
        check.ensure(is_valid_id(&id), &id_key, || {
            format!("{id:?} is not a valid id; use 1 to {MAX_ID_LEN} letters, digits, '-' or '_' (ids appear in URLs)")
        })?;
        if let Some(first) = ids.insert(id.clone(), index) {
            return Err(check.error(
                id_key,
                format!("duplicate id {id:?} (already used by compartment[{first}])"),
            ));
        }
        let latch = wiring::latch(check, &format!("{key}.latch"), compartment.latch, buses)?;
        let door = wiring::door(check, &format!("{key}.door"), compartment.door, buses)?;
        let occupancy_key = format!("{key}.occupancy");
        let occupancy = compartment
            .occupancy
            .map(|raw| wiring::occupancy(check, &occupancy_key, raw, buses))
            .transpose()?;
        not_half_simulated(check, &key, &latch, &door, buses)?;
        claims.latch(check, &key, &id, &latch)?;
        claims.door(check, &key, &id, &door)?;
        if let Some(sensor) = &occupancy {
            claims.take(
                check,
                &occupancy_key,
                &id,
                sensor.claim(),
                "occupancy sensor",
            )?;
        }
        compartments.push(CompartmentConfig {
            id,
            size: compartment.size,
            accessible: compartment.accessible,
            latch,
            door,
            occupancy,
        });
    }
    Ok(compartments)
}

/// A compartment is simulated or real, never half of each: a sim latch with a real door sensor
/// (or a real latch "opened" by a simulation) would report openings that never happened. Both
/// halves of a simulated compartment are on the same sim bus.
fn not_half_simulated(
    check: &Check,
    key: &str,
    latch: &LatchRef,
    door: &DoorRef,
    buses: &[BusConfig],
) -> Result<(), ConfigError> {
    let sim_latch = matches!(latch, LatchRef::Sim { .. });
    let sim_door = matches!(door, DoorRef::Sim { .. });
    if (!sim_latch && !sim_door) || latch.bus() == door.bus() {
        return Ok(());
    }
    let kind = |name: &str| {
        buses
            .iter()
            .find(|bus| bus.name == name)
            .map_or("unknown", |bus| bus.driver.kind())
    };
    Err(check.error(
        format!("{key}.door.bus"),
        format!(
            "door on {} bus {:?} but latch on {} bus {:?}: simulated and real hardware are not \
             mixed in one compartment; put its latch and door on the same sim bus",
            kind(door.bus()),
            door.bus(),
            kind(latch.bus()),
            latch.bus()
        ),
    ))
}

fn is_valid_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Hardware already taken (each driver says what its latches and doors take), and by which
/// compartment, as its latch or its door.
#[derive(Default)]
struct Claims {
    taken: HashMap<String, (String, &'static str)>,
}

impl Claims {
    fn latch(
        &mut self,
        check: &Check,
        key: &str,
        id: &str,
        latch: &LatchRef,
    ) -> Result<(), ConfigError> {
        self.take(check, &format!("{key}.latch"), id, latch.claim(), "latch")
    }

    fn door(
        &mut self,
        check: &Check,
        key: &str,
        id: &str,
        door: &DoorRef,
    ) -> Result<(), ConfigError> {
        self.take(check, &format!("{key}.door"), id, door.claim(), "door")
    }

    fn take(
        &mut self,
        check: &Check,
        key: &str,
        id: &str,
        claim: Option<Claim>,
        role: &'static str,
    ) -> Result<(), ConfigError> {
        let Some(claim) = claim else {
            return Ok(());
        };
        match self.taken.insert(claim.id, (id.to_owned(), role)) {
            None => Ok(()),
            Some((owner, owner_role)) => {
                let by = if claim.by_role {
                    format!("the {owner_role} of compartment {owner}")
                } else {
                    format!("compartment {owner}")
                };
                Err(check.error(
                    format!("{key}.{}", claim.field),
                    format!("{} is already used by {by}", claim.what),
                ))
            }
        }
    }
}
