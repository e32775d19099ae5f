//! A compartment's `latch` and `door` tables, read against the driver of the bus they name: each
//! driver needs its own keys (sim none, Modbus unit and coil/input, GPIO a pin), and a key the
//! driver does not use is an error, because it means the file says one thing and the hardware
//! is another. The driver's module (`drivers`) reads the keys it uses.

use super::buses::toml_key;
use super::check::{Check, ConfigError};
use super::drivers::{self, DoorRef, LatchRef, Need, OccupancyRef, REGISTERED, Registration};
use super::hardware::BusConfig;
use super::raw::RawWire;

pub(super) fn latch(
    check: &Check,
    key: &str,
    raw: RawWire,
    buses: &[BusConfig],
) -> Result<LatchRef, ConfigError> {
    let (need, registration) = prepare(check, key, "latch", &raw, buses)?;
    (registration.latch)(&need, &raw.keys)
}

pub(super) fn door(
    check: &Check,
    key: &str,
    raw: RawWire,
    buses: &[BusConfig],
) -> Result<DoorRef, ConfigError> {
    let (need, registration) = prepare(check, key, "door", &raw, buses)?;
    (registration.door)(&need, &raw.keys)
}

pub(super) fn occupancy(
    check: &Check,
    key: &str,
    raw: RawWire,
    buses: &[BusConfig],
) -> Result<OccupancyRef, ConfigError> {
    if let Some(bus) = raw
        .bus
        .as_deref()
        .and_then(|name| buses.iter().find(|b| b.name == name))
        && drivers::find(bus.driver.kind()).is_some_and(|r| r.occupancy.is_none())
    {
        return Err(check.error(
            format!("{key}.bus"),
            format!(
                "{} bus {:?} has no occupancy sensors (kerong-cu boards do)",
                bus.driver.kind(),
                bus.name
            ),
        ));
    }
    let (need, registration) = prepare(check, key, "occupancy sensor", &raw, buses)?;
    let read = registration.occupancy.expect("checked above");
    read(&need, &raw.keys)
}

/// The bus the table names, and no key its driver does not use.
fn prepare<'a>(
    check: &'a Check,
    key: &'a str,
    what: &'static str,
    raw: &RawWire,
    buses: &'a [BusConfig],
) -> Result<(Need<'a>, &'static Registration), ConfigError> {
    let name = raw
        .bus
        .as_deref()
        .ok_or_else(|| check.error(format!("{key}.bus"), "required key is missing"))?;
    let bus = named_bus(check, key, name, buses)?;
    let registration = drivers::find(bus.driver.kind()).expect("every driver is registered");
    let keys_of = |r: &Registration| match what {
        "latch" => r.latch_keys,
        "door" => r.door_keys,
        _ => r.occupancy_keys,
    };
    let used = keys_of(registration);
    if let Some(field) = raw.keys.keys().find(|k| !used.contains(&k.as_str())) {
        let elsewhere = REGISTERED
            .iter()
            .any(|r| keys_of(r).contains(&field.as_str()));
        let message = if elsewhere {
            format!("not used by {} bus {:?}", bus.driver.kind(), bus.name)
        } else {
            let expected: Vec<&str> = std::iter::once("bus").chain(used.iter().copied()).collect();
            format!("unknown key (expected one of {})", expected.join(", "))
        };
        return Err(check.error(format!("{key}.{}", toml_key(field)), message));
    }
    let need = Need {
        check,
        key,
        what,
        bus,
    };
    Ok((need, registration))
}

fn named_bus<'b>(
    check: &Check,
    key: &str,
    name: &str,
    buses: &'b [BusConfig],
) -> Result<&'b BusConfig, ConfigError> {
    buses.iter().find(|bus| bus.name == name).ok_or_else(|| {
        let names: Vec<String> = buses.iter().map(|bus| format!("{:?}", bus.name)).collect();
        check.error(
            format!("{key}.bus"),
            format!("no bus named {name:?} (configured: {})", names.join(", ")),
        )
    })
}
