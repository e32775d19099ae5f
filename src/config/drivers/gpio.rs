//! `driver = "gpio"`: the Pi's own header. Latches and doors are BCM pins; a pin is one
//! compartment's latch or door, never both, across every gpio bus.

use super::super::check::{Check, ConfigError};
use super::super::duration;
use super::super::hardware::BusConfig;
use super::super::keys::{self, Keys};
use super::{Claim, DoorRef, Driver, LatchRef, Need, Registration, any_timing};
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// Highest BCM GPIO on the Pi's 40-pin header.
const MAX_PIN: i64 = 27;

pub(super) const GPIO: Registration = Registration {
    kind: "gpio",
    bus_keys: &["debounce"],
    latch_keys: &["pin", "active_low"],
    door_keys: &["pin", "open_when", "pull"],
    occupancy_keys: &[],
    occupancy: None,
    single: false,
    bus,
    latch,
    door,
    latch_timing: any_timing,
};

/// A GPIO input level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    High,
    Low,
}

/// The Pi's internal pull resistor on a door input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pull {
    #[default]
    Up,
    Down,
    None,
}

#[derive(Deserialize)]
struct BusKeys {
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    debounce: Option<Duration>,
}

fn bus(check: &Check, key: &str, raw: &Keys, _: &[BusConfig]) -> Result<Driver, ConfigError> {
    let keys: BusKeys = keys::read(check, key, raw)?;
    let debounce = keys.debounce.unwrap_or(Duration::from_millis(20));
    check.at_most(
        &format!("{key}.debounce"),
        debounce,
        Duration::from_secs(1),
        "1s",
        "a reed switch settles in milliseconds, and a longer filter hides a door's real changes",
    )?;
    Ok(Driver::Gpio { debounce })
}

/// Integers are read wide so that an out-of-range pin gets a message with the allowed range
/// rather than serde's "expected u8".
#[derive(Deserialize)]
struct LatchKeys {
    pin: Option<i64>,
    active_low: Option<bool>,
}

fn latch(need: &Need, raw: &Keys) -> Result<LatchRef, ConfigError> {
    let keys: LatchKeys = keys::read(need.check, need.key, raw)?;
    Ok(LatchRef::Gpio {
        pin: pin(need, keys.pin)?,
        // Active-high by default: with a pin from GPIO 9..=27, pulled down at power-up, a
        // booting Pi leaves the latch unpowered, i.e. locked.
        active_low: keys.active_low.unwrap_or(false),
        bus: need.bus_name(),
    })
}

#[derive(Deserialize)]
struct DoorKeys {
    pin: Option<i64>,
    /// "high" or "low"; a boolean is another driver's `open_when`.
    open_when: Option<toml::Value>,
    pull: Option<Pull>,
}

fn door(need: &Need, raw: &Keys) -> Result<DoorRef, ConfigError> {
    let keys: DoorKeys = keys::read(need.check, need.key, raw)?;
    Ok(DoorRef::Gpio {
        pin: pin(need, keys.pin)?,
        open_when: level(need, keys.open_when.as_ref())?,
        pull: keys.pull.unwrap_or_default(),
        bus: need.bus_name(),
    })
}

/// A GPIO door's `open_when`: "high" (the default) or "low".
fn level(need: &Need, value: Option<&toml::Value>) -> Result<Level, ConfigError> {
    match value {
        None => Ok(Level::High),
        Some(toml::Value::String(s)) if s == "high" => Ok(Level::High),
        Some(toml::Value::String(s)) if s == "low" => Ok(Level::Low),
        Some(other) => Err(need.invalid(
            "open_when",
            format!("expected \"high\" or \"low\" on a gpio bus, got {other}"),
        )),
    }
}

fn pin(need: &Need, value: Option<i64>) -> Result<u8, ConfigError> {
    let pin = need.get("pin", value)?;
    match u8::try_from(pin) {
        Ok(pin) if i64::from(pin) <= MAX_PIN => Ok(pin),
        _ => Err(need.invalid(
            "pin",
            format!("pin {pin} is not a gpio of the pi; use a BCM number 0..=27"),
        )),
    }
}

/// One Pi, one header: a pin is claimed across every gpio bus, as latch or door.
pub(super) fn pin_claim(pin: u8) -> Claim {
    Claim {
        id: format!("gpio pin {pin}"),
        field: "pin",
        what: format!("gpio pin {pin}"),
        by_role: true,
    }
}

pub(super) fn show_latch(
    f: &mut fmt::Formatter<'_>,
    bus: &str,
    pin: u8,
    active_low: bool,
) -> fmt::Result {
    write!(f, "{bus} pin {pin}")?;
    if active_low {
        f.write_str(" active-low")?;
    }
    Ok(())
}

pub(super) fn show_door(
    f: &mut fmt::Formatter<'_>,
    bus: &str,
    pin: u8,
    open_when: Level,
    pull: Pull,
) -> fmt::Result {
    let pull = match pull {
        Pull::Up => "pull-up",
        Pull::Down => "pull-down",
        Pull::None => "no pull",
    };
    let level = match open_when {
        Level::High => "high",
        Level::Low => "low",
    };
    write!(f, "{bus} pin {pin} {pull} ({level} = open)")
}
