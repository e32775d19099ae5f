//! The Modbus relay-board driver: latches and door inputs on RS485 (RTU) or Modbus TCP boards.
//!
//! A [`ModbusBoard`] drives one bus: one serial port or one TCP connection, with any number of
//! units (boards) on it. It implements [`Latch`](crate::Latch) and
//! [`DoorSensor`](crate::DoorSensor): latch channel `i` is the coil `latches[i]`, door channel `i`
//! the discrete input `doors[i]`, each on its own unit.
//!
//! The module is split by role:
//! - `bus`: the connection. One request at a time, each under the configured timeout, the
//!   RTU silent gap between frames, and a fresh connection after any failure (tokio-modbus
//!   contexts are unusable after a transport error or timeout).
//! - `board`: what a board profile means in requests: pulses, all-off, door reads, scans.
//! - `error`: [`ModbusError`] and how tokio-modbus failures map onto [`ErrorKind`](crate::ErrorKind).
//!
//! It depends on the hal traits, tokio-modbus and tokio-serial only; nothing here knows about
//! compartments or the daemon's configuration format.

mod board;
mod bus;
#[cfg(feature = "emulator")]
pub mod emulator;
mod error;

use std::path::PathBuf;
use std::time::Duration;

pub use board::ModbusBoard;
pub use error::ModbusError;

/// How the bus is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Modbus RTU on a serial port (usually an RS485 adapter), 8 data bits.
    Rtu {
        device: PathBuf,
        baud: u32,
        parity: Parity,
        stop_bits: StopBits,
    },
    /// Modbus TCP, to a TCP-native board or an RTU gateway.
    Tcp {
        /// `host:port`.
        address: String,
    },
}

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Parity {
    #[default]
    None,
    Even,
    Odd,
}

/// Serial stop bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StopBits {
    #[default]
    One,
    Two,
}

/// What a board's registers mean: how to pulse a latch and switch every latch off.
///
/// Door inputs are read the same way on every profile: one FC02 per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// FC05 coil on, wait, FC05 coil off; all-off is FC05 off to every configured coil.
    #[default]
    Generic,
    /// As `Generic`, but all-off is FC05 off to coil 0x00FF once per unit, which switches every
    /// relay of the board, configured or not.
    Waveshare,
    /// Board-timed pulses: FC06 `0x06XX` to register `coil + 1` switches the relay on for `XX`
    /// whole seconds, so a daemon killed mid-pulse cannot leave it energized. Pulses under one
    /// second are refused. All-off is FC06 `0x0200` to each configured channel.
    Eletechsup,
}

/// Where a latch channel lives: a coil (relay) of one unit.
///
/// `coil` is the 0-based relay number; the `Eletechsup` profile writes register `coil + 1`
/// because those boards number their channels from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoilAddr {
    pub unit: u8,
    pub coil: u16,
}

/// Where a door channel lives: a discrete input of one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InputAddr {
    pub unit: u8,
    pub input: u16,
    /// The input value that means "door open": `false` for a reed switch that closes the
    /// circuit (input on) while the door is shut.
    pub open_when: bool,
}

/// The bus settings of one [`ModbusBoard`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModbusConfig {
    pub transport: Transport,
    /// The bound on every connect and every request; past it the request fails with
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) and the connection is reopened.
    pub timeout: Duration,
    pub profile: Profile,
}
