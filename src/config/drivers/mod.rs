//! The bus drivers the file can name, and the one place each is registered.
//!
//! A driver's module here owns everything the loader knows about it: the keys of its
//! `[[bus]]` table with their defaults and limits, the keys of a `latch` and `door` on it, the
//! hardware a latch or door claims (so two compartments cannot share it), and how `check-config`
//! shows them. The generic loader (`buses`, `wiring`, `compartments`) reads the keys common to
//! every driver and hands the rest to the driver through [`REGISTERED`].
//!
//! Adding a driver is its module, its variants in [`Driver`], [`LatchRef`] and [`DoorRef`], its
//! entry in [`REGISTERED`] and the arms below that name those variants; nothing else in the
//! loader changes. Depends on `check`, `keys`, `duration` and the public types of `hardware` and `sections`.

mod boards;
mod gpio;
mod line;
mod modbus;
mod need;
mod sim;

pub use boards::{BoardLink, FeedbackClosed};
pub use gpio::{Level, Pull};
pub use modbus::{Parity, Profile};

use super::check::{Check, ConfigError};
use super::hardware::BusConfig;
use super::keys::Keys;
use super::sections::LatchConfig;
pub(super) use need::Need;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// Kerong KR-CU16 lock-control boards on a serial line or a KR-BU bridge.
    KerongCu(BoardLink),
    /// Generic RS485 lock-control boards with 8A/80 frames.
    Lockboard {
        link: BoardLink,
        feedback_closed: FeedbackClosed,
    },
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
    Kerong {
        bus: String,
        board: u8,
        lock: u8,
    },
    Lockboard {
        bus: String,
        board: u8,
        lock: u8,
    },
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
    /// The lock's hook feedback: latched is closed.
    Kerong {
        bus: String,
        board: u8,
        lock: u8,
    },
    /// The lock's feedback, read as the bus's `feedback_closed` says.
    Lockboard {
        bus: String,
        board: u8,
        lock: u8,
    },
}

/// Where a compartment's occupancy sensor is (the optional `occupancy` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OccupancyRef {
    /// The infrared sensor of a Kerong lock.
    Kerong { bus: String, board: u8, lock: u8 },
}

impl OccupancyRef {
    pub fn bus(&self) -> &str {
        match self {
            OccupancyRef::Kerong { bus, .. } => bus,
        }
    }

    pub(super) fn claim(&self) -> Option<Claim> {
        match self {
            OccupancyRef::Kerong { bus, board, lock } => Some(Claim {
                id: format!("infrared {bus:?} {board} {lock}"),
                field: "lock",
                what: format!("the infrared sensor of lock {lock} of board {board} on bus {bus:?}"),
                by_role: false,
            }),
        }
    }
}

impl fmt::Display for OccupancyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OccupancyRef::Kerong { bus, board, lock } => {
                write!(f, "{bus} board {board} lock {lock}")
            }
        }
    }
}

/// Reads an `occupancy` table.
pub(super) type ReadOccupancy = fn(&Need, &Keys) -> Result<OccupancyRef, ConfigError>;

/// One registered driver: its `driver = "..."` name, its keys, and the functions that read them.
pub(super) struct Registration {
    pub kind: &'static str,
    pub bus_keys: &'static [&'static str],
    pub latch_keys: &'static [&'static str],
    pub door_keys: &'static [&'static str],
    pub occupancy_keys: &'static [&'static str],
    /// At most one bus of this driver may be configured.
    pub single: bool,
    /// Reads the driver's `[[bus]]` keys; `earlier` are the buses before it.
    pub bus: fn(&Check, &str, &Keys, &[BusConfig]) -> Result<Driver, ConfigError>,
    pub latch: fn(&Need, &Keys) -> Result<LatchRef, ConfigError>,
    pub door: fn(&Need, &Keys) -> Result<DoorRef, ConfigError>,
    /// Reads an `occupancy` table, for drivers with occupancy sensors.
    pub occupancy: Option<ReadOccupancy>,
    /// Cross-checks `[latch]` against one bus of this driver (pulses a board times itself).
    pub latch_timing: fn(&Check, &LatchConfig, &BusConfig) -> Result<(), ConfigError>,
}

/// Every driver the file can name, in the order error messages list them.
pub(super) const REGISTERED: &[Registration] = &[
    sim::SIM,
    gpio::GPIO,
    modbus::RTU,
    modbus::TCP,
    boards::KERONG,
    boards::LOCKBOARD,
];

/// The registration of `driver = kind`.
pub(super) fn find(kind: &str) -> Option<&'static Registration> {
    REGISTERED.iter().find(|r| r.kind == kind)
}

/// A `[latch]` any driver accepts.
pub(super) fn any_timing(_: &Check, _: &LatchConfig, _: &BusConfig) -> Result<(), ConfigError> {
    Ok(())
}

impl Driver {
    /// The `driver = "..."` value that selects this driver.
    pub fn kind(&self) -> &'static str {
        match self {
            Driver::Sim { .. } => "sim",
            Driver::Gpio { .. } => "gpio",
            Driver::ModbusRtu { .. } => "modbus-rtu",
            Driver::ModbusTcp { .. } => "modbus-tcp",
            Driver::KerongCu(_) => "kerong-cu",
            Driver::Lockboard { .. } => "lockboard",
        }
    }

    pub fn is_modbus(&self) -> bool {
        matches!(self, Driver::ModbusRtu { .. } | Driver::ModbusTcp { .. })
    }

    /// The serial device the bus opens, for drivers on a serial line.
    pub fn device(&self) -> Option<&Path> {
        match self {
            Driver::ModbusRtu { device, .. } => Some(device),
            Driver::KerongCu(link) | Driver::Lockboard { link, .. } => link.device.as_deref(),
            _ => None,
        }
    }

    /// Where the bus is reached, as the commissioning tool names it: "modbus-rtu /dev/ttyUSB0".
    pub fn endpoint(&self) -> String {
        match self {
            Driver::ModbusRtu { device, .. } => format!("modbus-rtu {}", device.display()),
            Driver::ModbusTcp { address, .. } => format!("modbus-tcp {address}"),
            Driver::KerongCu(link) | Driver::Lockboard { link, .. } => {
                boards::endpoint(self.kind(), link)
            }
            other => other.kind().to_owned(),
        }
    }
}

/// Hardware a latch or door takes for itself: no other compartment may take it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Claim {
    /// What is claimed, unique across every driver ("gpio pin 17", "coil net/1/3").
    pub id: String,
    /// The key of the table that names it (`coil`, `pin`).
    pub field: &'static str,
    /// How an error names it: "coil 3 of unit 1 on bus \"net\"".
    pub what: String,
    /// The same hardware can be a latch or a door (a GPIO pin): name the role that took it.
    pub by_role: bool,
}

impl LatchRef {
    pub fn bus(&self) -> &str {
        match self {
            LatchRef::Sim { bus }
            | LatchRef::Modbus { bus, .. }
            | LatchRef::Gpio { bus, .. }
            | LatchRef::Kerong { bus, .. }
            | LatchRef::Lockboard { bus, .. } => bus,
        }
    }

    /// What this latch takes for itself; none for a simulated one (every sim compartment is its
    /// own channel).
    pub(super) fn claim(&self) -> Option<Claim> {
        match self {
            LatchRef::Sim { .. } => None,
            LatchRef::Modbus { bus, unit, coil } => Some(modbus::coil_claim(bus, *unit, *coil)),
            LatchRef::Gpio { pin, .. } => Some(gpio::pin_claim(*pin)),
            LatchRef::Kerong { bus, board, lock } | LatchRef::Lockboard { bus, board, lock } => {
                Some(boards::latch_claim(bus, *board, *lock))
            }
        }
    }
}

impl DoorRef {
    pub fn bus(&self) -> &str {
        match self {
            DoorRef::Sim { bus }
            | DoorRef::Modbus { bus, .. }
            | DoorRef::Gpio { bus, .. }
            | DoorRef::Kerong { bus, .. }
            | DoorRef::Lockboard { bus, .. } => bus,
        }
    }

    pub(super) fn claim(&self) -> Option<Claim> {
        match self {
            DoorRef::Sim { .. } => None,
            DoorRef::Modbus {
                bus, unit, input, ..
            } => Some(modbus::input_claim(bus, *unit, *input)),
            DoorRef::Gpio { pin, .. } => Some(gpio::pin_claim(*pin)),
            DoorRef::Kerong { bus, board, lock } | DoorRef::Lockboard { bus, board, lock } => {
                Some(boards::door_claim(bus, *board, *lock))
            }
        }
    }
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
            } => gpio::show_latch(f, bus, *pin, *active_low),
            LatchRef::Kerong { bus, board, lock } | LatchRef::Lockboard { bus, board, lock } => {
                write!(f, "{bus} board {board} lock {lock}")
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
            } => gpio::show_door(f, bus, *pin, *open_when, *pull),
            DoorRef::Kerong { bus, board, lock } | DoorRef::Lockboard { bus, board, lock } => {
                write!(f, "{bus} board {board} lock {lock} (feedback)")
            }
        }
    }
}
