//! `[[compartment]]` tables: ids, and the rule that no two compartments share hardware. A shared
//! latch output would open two doors for one parcel; a shared door input would report one door's
//! state for another; a GPIO pin can be an output or an input, never both.

use super::check::{Check, ConfigError};
use super::hardware::{BusConfig, CompartmentConfig, DoorRef, LatchRef};
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
        not_half_simulated(check, &key, &latch, &door, buses)?;
        claims.latch(check, &key, &id, &latch)?;
        claims.door(check, &key, &id, &door)?;
        compartments.push(CompartmentConfig {
            id,
            size: compartment.size,
            accessible: compartment.accessible,
            latch,
            door,
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

/// Hardware already taken, and by which compartment. Sim latches and doors are not here: every
/// sim compartment is its own channel.
#[derive(Default)]
struct Claims {
    coils: HashMap<(String, u8, u16), String>,
    inputs: HashMap<(String, u8, u16), String>,
    /// One Pi, one header: a pin is claimed across every gpio bus, as latch or door.
    pins: HashMap<u8, (String, &'static str)>,
}

impl Claims {
    fn latch(
        &mut self,
        check: &Check,
        key: &str,
        id: &str,
        latch: &LatchRef,
    ) -> Result<(), ConfigError> {
        match latch {
            LatchRef::Sim { .. } => Ok(()),
            LatchRef::Modbus { bus, unit, coil } => {
                match self.coils.insert((bus.clone(), *unit, *coil), id.to_owned()) {
                    None => Ok(()),
                    Some(owner) => Err(check.error(
                        format!("{key}.latch.coil"),
                        format!("coil {coil} of unit {unit} on bus {bus:?} is already used by compartment {owner}"),
                    )),
                }
            }
            LatchRef::Gpio { pin, .. } => {
                self.pin(check, &format!("{key}.latch.pin"), id, *pin, "latch")
            }
        }
    }

    fn door(
        &mut self,
        check: &Check,
        key: &str,
        id: &str,
        door: &DoorRef,
    ) -> Result<(), ConfigError> {
        match door {
            DoorRef::Sim { .. } => Ok(()),
            DoorRef::Modbus {
                bus, unit, input, ..
            } => {
                match self.inputs.insert((bus.clone(), *unit, *input), id.to_owned()) {
                    None => Ok(()),
                    Some(owner) => Err(check.error(
                        format!("{key}.door.input"),
                        format!("input {input} of unit {unit} on bus {bus:?} is already used by compartment {owner}"),
                    )),
                }
            }
            DoorRef::Gpio { pin, .. } => {
                self.pin(check, &format!("{key}.door.pin"), id, *pin, "door")
            }
        }
    }

    fn pin(
        &mut self,
        check: &Check,
        key: &str,
        id: &str,
        pin: u8,
        role: &'static str,
    ) -> Result<(), ConfigError> {
        match self.pins.insert(pin, (id.to_owned(), role)) {
            None => Ok(()),
            Some((owner, owner_role)) => Err(check.error(
                key,
                format!(
                    "gpio pin {pin} is already used by the {owner_role} of compartment {owner}"
                ),
            )),
        }
    }
}
