//! The hardware the file describes: buses (where latches and door sensors live) and the
//! compartments wired to them. These are plain validated values: opening a bus is the
//! controller's job, not the config's.

use crate::domain::Size;
use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One `[[bus]]`.
#[derive(Debug, Clone)]
pub struct BusConfig {
    pub name: String,
    pub driver: Driver,
}

/// A bus driver with the settings that driver uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Driver {
    /// Simulated latches and doors; `poll` is how often the simulated doors are read.
    Sim { poll: Duration },
    /// The Raspberry Pi's own GPIO header (BCM numbering).
    Gpio { debounce: Duration },
    /// A serial RS-485 line carrying one or more Modbus units.
    ModbusRtu {
        device: PathBuf,
        baud: u32,
        parity: Parity,
        stop_bits: u8,
        timeout: Duration,
        poll: Duration,
        profile: Profile,
    },
    /// A Modbus TCP device or RTU-to-TCP gateway.
    ModbusTcp {
        address: String,
        timeout: Duration,
        poll: Duration,
        profile: Profile,
    },
}

impl Driver {
    /// The `driver = "..."` value that selects this driver.
    pub fn kind(&self) -> &'static str {
        match self {
            Driver::Sim { .. } => "sim",
            Driver::Gpio { .. } => "gpio",
            Driver::ModbusRtu { .. } => "modbus-rtu",
            Driver::ModbusTcp { .. } => "modbus-tcp",
        }
    }

    pub fn is_modbus(&self) -> bool {
        matches!(self, Driver::ModbusRtu { .. } | Driver::ModbusTcp { .. })
    }
}

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

/// One `[[compartment]]`.
#[derive(Debug, Clone)]
pub struct CompartmentConfig {
    pub id: String,
    pub size: Size,
    /// Reachable from a wheelchair.
    pub accessible: bool,
    pub latch: LatchRef,
    pub door: DoorRef,
}

/// Where a compartment's latch output is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LatchRef {
    Sim {
        bus: String,
    },
    Modbus {
        bus: String,
        unit: u8,
        coil: u16,
    },
    Gpio {
        bus: String,
        pin: u8,
        active_low: bool,
    },
}

impl LatchRef {
    pub fn bus(&self) -> &str {
        match self {
            LatchRef::Sim { bus } | LatchRef::Modbus { bus, .. } | LatchRef::Gpio { bus, .. } => {
                bus
            }
        }
    }
}

/// Where a compartment's door sensor is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DoorRef {
    Sim {
        bus: String,
    },
    /// `open_when` is the input value that means "door open".
    Modbus {
        bus: String,
        unit: u8,
        input: u16,
        open_when: bool,
    },
    Gpio {
        bus: String,
        pin: u8,
        open_when: Level,
        pull: Pull,
    },
}

impl DoorRef {
    pub fn bus(&self) -> &str {
        match self {
            DoorRef::Sim { bus } | DoorRef::Modbus { bus, .. } | DoorRef::Gpio { bus, .. } => bus,
        }
    }
}

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

/// As `check-config` shows it: "sim", "rs485 unit 1 coil 0", "pi pin 17 active-low".
impl fmt::Display for LatchRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LatchRef::Sim { bus } => write!(f, "{bus}"),
            LatchRef::Modbus { bus, unit, coil } => write!(f, "{bus} unit {unit} coil {coil}"),
            LatchRef::Gpio {
                bus,
                pin,
                active_low,
            } => {
                write!(f, "{bus} pin {pin}")?;
                if *active_low {
                    f.write_str(" active-low")?;
                }
                Ok(())
            }
        }
    }
}

/// As `check-config` shows it: "sim", "rs485 unit 1 input 0 (on = open)",
/// "pi pin 27 pull-up (high = open)".
impl fmt::Display for DoorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DoorRef::Sim { bus } => write!(f, "{bus}"),
            DoorRef::Modbus {
                bus,
                unit,
                input,
                open_when,
            } => {
                let value = if *open_when { "on" } else { "off" };
                write!(f, "{bus} unit {unit} input {input} ({value} = open)")
            }
            DoorRef::Gpio {
                bus,
                pin,
                open_when,
                pull,
            } => {
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
        }
    }
}
