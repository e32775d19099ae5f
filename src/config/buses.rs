//! `[[bus]]` tables: names unique, the driver one of those registered (`drivers`), and no key
//! the driver does not use; the driver's module reads its own keys.

use super::check::{Check, ConfigError};
use super::drivers::{self, REGISTERED, Registration};
use super::hardware::BusConfig;
use super::raw::RawBus;
use std::collections::HashMap;

pub(super) fn validate(check: &Check, raw: Vec<RawBus>) -> Result<Vec<BusConfig>, ConfigError> {
    check.ensure(!raw.is_empty(), "bus", || {
        "at least one [[bus]] is required (driver = \"sim\" for development)".to_owned()
    })?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut single: HashMap<&'static str, usize> = HashMap::new();
    let mut buses = Vec::with_capacity(raw.len());
    for (index, bus) in raw.into_iter().enumerate() {
        let key = format!("bus[{index}]");
        let required =
            |field: &str| check.error(format!("{key}.{field}"), "required key is missing");
        let name = bus.name.clone().ok_or_else(|| required("name"))?;
        let kind = bus.driver.as_deref().ok_or_else(|| required("driver"))?;
        let registration = driver(check, &key, kind)?;
        let name_key = format!("{key}.name");
        check.ensure(!name.trim().is_empty(), &name_key, || {
            "must not be empty".to_owned()
        })?;
        if let Some(first) = seen.insert(name.clone(), index) {
            return Err(check.error(
                name_key,
                format!("duplicate bus name {name:?} (already used by bus[{first}])"),
            ));
        }
        if registration.single
            && let Some(first) = single.insert(registration.kind, index)
        {
            let kind = registration.kind;
            return Err(check.error(
                format!("{key}.driver"),
                format!(
                    "a second {kind} bus (bus[{first}] is already one); at most one {kind} \
                     bus may be configured"
                ),
            ));
        }
        unused_keys(check, &key, &bus, registration)?;
        let driver = (registration.bus)(check, &key, &bus.keys, &buses)?;
        buses.push(BusConfig { name, driver });
    }
    Ok(buses)
}

/// The registration of `driver = kind`, or serde's message for an unknown variant.
fn driver(check: &Check, key: &str, kind: &str) -> Result<&'static Registration, ConfigError> {
    drivers::find(kind).ok_or_else(|| {
        let known: Vec<String> = REGISTERED.iter().map(|r| format!("`{}`", r.kind)).collect();
        check.error(
            format!("{key}.driver"),
            format!(
                "unknown variant `{kind}`, expected one of {}",
                known.join(", ")
            ),
        )
    })
}

/// A key another driver uses means the installer thinks the bus is something it is not (a
/// `baud` on a TCP bus); a key no driver uses is a typo.
fn unused_keys(
    check: &Check,
    key: &str,
    bus: &RawBus,
    registration: &Registration,
) -> Result<(), ConfigError> {
    let Some(field) = bus
        .keys
        .keys()
        .find(|k| !registration.bus_keys.contains(&k.as_str()))
    else {
        return Ok(());
    };
    let elsewhere = REGISTERED
        .iter()
        .any(|r| r.bus_keys.contains(&field.as_str()));
    let message = if elsewhere {
        format!("not used by driver \"{}\"", registration.kind)
    } else {
        let expected: Vec<&str> = ["name", "driver"]
            .into_iter()
            .chain(registration.bus_keys.iter().copied())
            .collect();
        format!("unknown key (expected one of {})", expected.join(", "))
    };
    Err(check.error(format!("{key}.{}", toml_key(field)), message))
}

/// A key as TOML writes it: bare when it can be, quoted otherwise.
pub(super) fn toml_key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_owned()
    } else {
        format!("{name:?}")
    }
}
