//! `driver = "modbus-rtu"` and `driver = "modbus-tcp"`: Modbus relay boards. Latches are coils
//! and doors discrete inputs of a unit; the profile says how a board times a pulse.

use super::super::check::{Check, ConfigError};
use super::super::duration::{self, show};
use super::super::hardware::BusConfig;
use super::super::keys::{self, Keys};
use super::super::sections::LatchConfig;
use super::{Claim, DoorRef, Driver, LatchRef, Need, Registration, line};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Waveshare relay boards have at most 32 channels; above them the coil address space holds
/// commands (0x00FF switches every relay, 0x0200+n flashes relay n for a board-timed period).
const WAVESHARE_CHANNELS: u16 = 32;

/// Request timeout and poll period unless the file says otherwise.
const DEFAULT_TIMING: (Duration, Duration) =
    (Duration::from_millis(300), Duration::from_millis(250));

pub(super) const RTU: Registration = Registration {
    kind: "modbus-rtu",
    bus_keys: &[
        "device",
        "baud",
        "parity",
        "stop_bits",
        "timeout",
        "poll",
        "profile",
    ],
    latch_keys: &["unit", "coil"],
    door_keys: &["unit", "input", "open_when"],
    occupancy_keys: &[],
    occupancy: None,
    single: false,
    bus: rtu,
    latch,
    door,
    latch_timing: board_timed_pulse,
};

pub(super) const TCP: Registration = Registration {
    kind: "modbus-tcp",
    bus_keys: &["address", "timeout", "poll", "profile"],
    bus: tcp,
    ..RTU
};

/// Serial parity; 8N1 (`None`, one stop bit) unless the file says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    #[default]
    None,
    Even,
    Odd,
}

/// How a relay board maps latch pulses onto Modbus requests (see `docs/hardware.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// FC05 coil on/off, FC02 discrete inputs.
    #[default]
    Generic,
    Waveshare,
    Eletechsup,
}

#[derive(Deserialize)]
struct BusKeys {
    device: Option<PathBuf>,
    baud: Option<u32>,
    parity: Option<Parity>,
    stop_bits: Option<u8>,
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    timeout: Option<Duration>,
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    poll: Option<Duration>,
    profile: Option<Profile>,
    address: Option<String>,
}

fn rtu(check: &Check, key: &str, raw: &Keys, earlier: &[BusConfig]) -> Result<Driver, ConfigError> {
    let keys: BusKeys = keys::read(check, key, raw)?;
    let device = line::device(check, key, RTU.kind, keys.device, earlier, "unit")?;
    let baud = line::baud(check, key, keys.baud.unwrap_or(9600))?;
    let stop_bits = keys.stop_bits.unwrap_or(1);
    check.ensure(
        matches!(stop_bits, 1 | 2),
        &format!("{key}.stop_bits"),
        || format!("must be 1 or 2, got {stop_bits}"),
    )?;
    let (timeout, poll) = line::timing(check, key, keys.timeout, keys.poll, DEFAULT_TIMING)?;
    Ok(Driver::ModbusRtu {
        device,
        baud,
        parity: keys.parity.unwrap_or_default(),
        stop_bits,
        timeout,
        poll,
        profile: keys.profile.unwrap_or_default(),
    })
}

fn tcp(check: &Check, key: &str, raw: &Keys, _: &[BusConfig]) -> Result<Driver, ConfigError> {
    let keys: BusKeys = keys::read(check, key, raw)?;
    let address_key = format!("{key}.address");
    let address = keys.address.ok_or_else(|| {
        check.error(
            &address_key,
            "required for driver \"modbus-tcp\" (e.g. \"192.168.10.20:502\")",
        )
    })?;
    check.ensure(line::is_host_port(&address), &address_key, || {
        format!("{address:?} is not host:port (e.g. \"192.168.10.20:502\")")
    })?;
    let (timeout, poll) = line::timing(check, key, keys.timeout, keys.poll, DEFAULT_TIMING)?;
    Ok(Driver::ModbusTcp {
        address,
        timeout,
        poll,
        profile: keys.profile.unwrap_or_default(),
    })
}

fn profile(driver: &Driver) -> Option<Profile> {
    match driver {
        Driver::ModbusRtu { profile, .. } | Driver::ModbusTcp { profile, .. } => Some(*profile),
        _ => None,
    }
}

/// Integers are read wide so that an out-of-range unit or coil gets a message with the allowed
/// range rather than serde's "expected u8".
#[derive(Deserialize)]
struct LatchKeys {
    unit: Option<i64>,
    coil: Option<i64>,
}

fn latch(need: &Need, raw: &Keys) -> Result<LatchRef, ConfigError> {
    let keys: LatchKeys = keys::read(need.check, need.key, raw)?;
    let unit = unit(need, keys.unit)?;
    let coil = register(need, "coil", keys.coil)?;
    if profile(&need.bus.driver) == Some(Profile::Waveshare) {
        waveshare_channel(need, coil)?;
    }
    Ok(LatchRef::Modbus {
        unit,
        coil,
        bus: need.bus_name(),
    })
}

#[derive(Deserialize)]
struct DoorKeys {
    unit: Option<i64>,
    input: Option<i64>,
    /// A boolean; "high"/"low" is another driver's `open_when`.
    open_when: Option<toml::Value>,
}

fn door(need: &Need, raw: &Keys) -> Result<DoorRef, ConfigError> {
    let keys: DoorKeys = keys::read(need.check, need.key, raw)?;
    Ok(DoorRef::Modbus {
        unit: unit(need, keys.unit)?,
        input: register(need, "input", keys.input)?,
        open_when: flag(need, keys.open_when.as_ref())?,
        bus: need.bus_name(),
    })
}

fn unit(need: &Need, value: Option<i64>) -> Result<u8, ConfigError> {
    let unit = need.get("unit", value)?;
    // 0 is broadcast (no reply) and 248..=255 are reserved by the Modbus spec.
    match u8::try_from(unit) {
        Ok(unit @ 1..=247) => Ok(unit),
        _ => Err(need.invalid(
            "unit",
            format!("unit {unit} is out of range; modbus units are 1..=247"),
        )),
    }
}

fn register(need: &Need, field: &str, value: Option<i64>) -> Result<u16, ConfigError> {
    let number = need.get(field, value)?;
    u16::try_from(number)
        .map_err(|_| need.invalid(field, format!("{field} {number} is out of range 0..=65535")))
}

/// A coil on a waveshare board must be one of its relays, never one of its command addresses.
fn waveshare_channel(need: &Need, coil: u16) -> Result<(), ConfigError> {
    if coil < WAVESHARE_CHANNELS {
        return Ok(());
    }
    Err(need.invalid(
        "coil",
        format!(
            "coil {coil} is not a relay of waveshare bus {:?}: waveshare relay boards have at \
             most {WAVESHARE_CHANNELS} channels (coils 0..={}), and they treat coil 0x00FF as \
             \"switch every relay\" and 0x0200+n as a board-timed \"flash\" command, so such a \
             coil could energize every latch at once or one for hours",
            need.bus.name,
            WAVESHARE_CHANNELS - 1
        ),
    ))
}

/// A Modbus door's `open_when`: the input value that means open, true by default.
fn flag(need: &Need, value: Option<&toml::Value>) -> Result<bool, ConfigError> {
    match value {
        None => Ok(true),
        Some(toml::Value::Boolean(value)) => Ok(*value),
        Some(other) => Err(need.invalid(
            "open_when",
            format!("expected true or false on a modbus bus, got {other}"),
        )),
    }
}

/// An Eletechsup board times a pulse itself, in whole seconds.
fn board_timed_pulse(
    check: &Check,
    latch: &LatchConfig,
    bus: &BusConfig,
) -> Result<(), ConfigError> {
    if profile(&bus.driver) != Some(Profile::Eletechsup) {
        return Ok(());
    }
    let pulse = latch.pulse;
    let whole_seconds = pulse >= Duration::from_secs(1) && pulse.subsec_nanos() == 0;
    check.ensure(whole_seconds, "latch.pulse", || {
        format!(
            "{} cannot be timed by bus {:?}: its profile \"eletechsup\" times pulses on the board \
             in whole seconds, so latch.pulse must be a whole number of seconds, at least 1s \
             (e.g. \"1s\")",
            show(pulse),
            bus.name
        )
    })
}

pub(super) fn coil_claim(bus: &str, unit: u8, coil: u16) -> Claim {
    Claim {
        id: format!("modbus coil {bus:?} {unit} {coil}"),
        field: "coil",
        what: format!("coil {coil} of unit {unit} on bus {bus:?}"),
        by_role: false,
    }
}

pub(super) fn input_claim(bus: &str, unit: u8, input: u16) -> Claim {
    Claim {
        id: format!("modbus input {bus:?} {unit} {input}"),
        field: "input",
        what: format!("input {input} of unit {unit} on bus {bus:?}"),
        by_role: false,
    }
}
