//! A compartment's `latch` and `door` tables, read against the driver of the bus they name: each
//! driver needs its own keys (sim none, Modbus unit and coil/input, GPIO a pin), and a key the
//! driver does not use is an error, because it means the file says one thing and the hardware
//! is another.

use super::check::{Check, ConfigError};
use super::hardware::{BusConfig, DoorRef, Driver, LatchRef, Level, Profile};
use super::raw::{RawDoor, RawLatch};

/// Highest BCM GPIO on the Pi's 40-pin header.
const MAX_PIN: i64 = 27;

/// Waveshare relay boards have at most 32 channels; above them the coil address space holds
/// commands (0x00FF switches every relay, 0x0200+n flashes relay n for a board-timed period).
const WAVESHARE_CHANNELS: u16 = 32;

pub(super) fn latch(
    check: &Check,
    key: &str,
    raw: RawLatch,
    buses: &[BusConfig],
) -> Result<LatchRef, ConfigError> {
    let bus = named_bus(check, key, &raw.bus, buses)?;
    let used: &[&str] = match bus.driver {
        Driver::Sim { .. } => &[],
        Driver::Gpio { .. } => &["pin", "active_low"],
        Driver::ModbusRtu { .. } | Driver::ModbusTcp { .. } => &["unit", "coil"],
    };
    reject_unused(check, key, &raw.given(), used, bus)?;
    let need = Need {
        check,
        key,
        what: "latch",
        bus,
    };
    Ok(match bus.driver {
        Driver::Sim { .. } => LatchRef::Sim { bus: raw.bus },
        Driver::Gpio { .. } => LatchRef::Gpio {
            pin: need.pin(raw.pin)?,
            // Active-high by default: with a pin from GPIO 9..=27, pulled down at power-up, a
            // booting Pi leaves the latch unpowered, i.e. locked.
            active_low: raw.active_low.unwrap_or(false),
            bus: raw.bus,
        },
        Driver::ModbusRtu { profile, .. } | Driver::ModbusTcp { profile, .. } => {
            let unit = need.unit(raw.unit)?;
            let coil = need.register("coil", raw.coil)?;
            if profile == Profile::Waveshare {
                need.waveshare_channel(coil)?;
            }
            LatchRef::Modbus {
                unit,
                coil,
                bus: raw.bus,
            }
        }
    })
}

pub(super) fn door(
    check: &Check,
    key: &str,
    raw: RawDoor,
    buses: &[BusConfig],
) -> Result<DoorRef, ConfigError> {
    let bus = named_bus(check, key, &raw.bus, buses)?;
    let used: &[&str] = match bus.driver {
        Driver::Sim { .. } => &[],
        Driver::Gpio { .. } => &["pin", "open_when", "pull"],
        Driver::ModbusRtu { .. } | Driver::ModbusTcp { .. } => &["unit", "input", "open_when"],
    };
    reject_unused(check, key, &raw.given(), used, bus)?;
    let need = Need {
        check,
        key,
        what: "door",
        bus,
    };
    Ok(match bus.driver {
        Driver::Sim { .. } => DoorRef::Sim { bus: raw.bus },
        Driver::Gpio { .. } => DoorRef::Gpio {
            pin: need.pin(raw.pin)?,
            open_when: need.level(raw.open_when.as_ref())?,
            pull: raw.pull.unwrap_or_default(),
            bus: raw.bus,
        },
        Driver::ModbusRtu { .. } | Driver::ModbusTcp { .. } => DoorRef::Modbus {
            unit: need.unit(raw.unit)?,
            input: need.register("input", raw.input)?,
            open_when: need.flag(raw.open_when.as_ref())?,
            bus: raw.bus,
        },
    })
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

fn reject_unused(
    check: &Check,
    key: &str,
    given: &[(&'static str, bool)],
    used: &[&str],
    bus: &BusConfig,
) -> Result<(), ConfigError> {
    match given
        .iter()
        .find(|(field, given)| *given && !used.contains(field))
    {
        Some((field, _)) => Err(check.error(
            format!("{key}.{field}"),
            format!("not used by {} bus {:?}", bus.driver.kind(), bus.name),
        )),
        None => Ok(()),
    }
}

/// The driver-specific keys of one latch or door table: presence, type and range.
struct Need<'a> {
    check: &'a Check<'a>,
    key: &'a str,
    what: &'static str,
    bus: &'a BusConfig,
}

impl Need<'_> {
    fn get(&self, field: &str, value: Option<i64>) -> Result<i64, ConfigError> {
        value.ok_or_else(|| {
            self.check.error(
                format!("{}.{field}", self.key),
                format!(
                    "required for a {} on {} bus {:?}",
                    self.what,
                    self.bus.driver.kind(),
                    self.bus.name
                ),
            )
        })
    }

    fn invalid(&self, field: &str, message: String) -> ConfigError {
        self.check.error(format!("{}.{field}", self.key), message)
    }

    fn unit(&self, value: Option<i64>) -> Result<u8, ConfigError> {
        let unit = self.get("unit", value)?;
        // 0 is broadcast (no reply) and 248..=255 are reserved by the Modbus spec.
        match u8::try_from(unit) {
            Ok(unit @ 1..=247) => Ok(unit),
            _ => Err(self.invalid(
                "unit",
                format!("unit {unit} is out of range; modbus units are 1..=247"),
            )),
        }
    }

    fn register(&self, field: &str, value: Option<i64>) -> Result<u16, ConfigError> {
        let number = self.get(field, value)?;
        u16::try_from(number)
            .map_err(|_| self.invalid(field, format!("{field} {number} is out of range 0..=65535")))
    }

    /// A coil on a waveshare board must be one of its relays, never one of its command addresses.
    fn waveshare_channel(&self, coil: u16) -> Result<(), ConfigError> {
        if coil < WAVESHARE_CHANNELS {
            return Ok(());
        }
        Err(self.invalid(
            "coil",
            format!(
                "coil {coil} is not a relay of waveshare bus {:?}: waveshare relay boards have at \
                 most {WAVESHARE_CHANNELS} channels (coils 0..={}), and they treat coil 0x00FF as \
                 \"switch every relay\" and 0x0200+n as a board-timed \"flash\" command, so such a \
                 coil could energize every latch at once or one for hours",
                self.bus.name,
                WAVESHARE_CHANNELS - 1
            ),
        ))
    }

    /// A GPIO door's `open_when`: "high" (the default) or "low".
    fn level(&self, value: Option<&toml::Value>) -> Result<Level, ConfigError> {
        match value {
            None => Ok(Level::High),
            Some(toml::Value::String(s)) if s == "high" => Ok(Level::High),
            Some(toml::Value::String(s)) if s == "low" => Ok(Level::Low),
            Some(other) => Err(self.invalid(
                "open_when",
                format!("expected \"high\" or \"low\" on a gpio bus, got {other}"),
            )),
        }
    }

    /// A Modbus door's `open_when`: the input value that means open, true by default.
    fn flag(&self, value: Option<&toml::Value>) -> Result<bool, ConfigError> {
        match value {
            None => Ok(true),
            Some(toml::Value::Boolean(value)) => Ok(*value),
            Some(other) => Err(self.invalid(
                "open_when",
                format!("expected true or false on a modbus bus, got {other}"),
            )),
        }
    }

    fn pin(&self, value: Option<i64>) -> Result<u8, ConfigError> {
        let pin = self.get("pin", value)?;
        match u8::try_from(pin) {
            Ok(pin) if i64::from(pin) <= MAX_PIN => Ok(pin),
            _ => Err(self.invalid(
                "pin",
                format!("pin {pin} is not a gpio of the pi; use a BCM number 0..=27"),
            )),
        }
    }
}
