//! The buses the controller drives, behind one enum so a locker can mix drivers.
//!
//! The hal traits use `async fn` and are not object safe; an enum keeps dispatch static and
//! gives every driver error the same shape: a kind the controller acts on and a message for
//! `/healthz`.

use lockerd_hal::gpio::GpioBank;
use lockerd_hal::modbus::ModbusBoard;
use lockerd_hal::sim::SimLocker;
use lockerd_hal::{DoorSensor, DoorState, ErrorKind, Latch};
use std::time::Duration;

/// A driver error reduced to what the controller needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BusError {
    pub kind: ErrorKind,
    pub message: String,
}

impl BusError {
    fn from_driver<E: lockerd_hal::Error>(e: E) -> Self {
        BusError {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// One configured bus with its driver.
pub enum AnyBus {
    Sim(SimLocker),
    Modbus(Box<ModbusBoard>),
    Gpio(Box<GpioBank>),
}

/// Calls the same method on whichever driver the bus has.
macro_rules! dispatch {
    ($bus:expr, $d:ident => $call:expr) => {
        match $bus {
            AnyBus::Sim($d) => $call.map_err(BusError::from_driver),
            AnyBus::Modbus($d) => $call.map_err(BusError::from_driver),
            AnyBus::Gpio($d) => $call.map_err(BusError::from_driver),
        }
    };
}

impl AnyBus {
    pub async fn all_off(&mut self) -> Result<(), BusError> {
        dispatch!(self, d => d.all_off().await)
    }

    pub async fn pulse(&mut self, channel: usize, duration: Duration) -> Result<(), BusError> {
        dispatch!(self, d => d.pulse(channel, duration).await)
    }

    pub async fn read_doors(&mut self, states: &mut [DoorState]) -> Result<(), BusError> {
        dispatch!(self, d => d.read_doors(states).await)
    }

    pub fn door_count(&self) -> usize {
        match self {
            AnyBus::Sim(d) => d.door_count(),
            AnyBus::Modbus(d) => d.door_count(),
            AnyBus::Gpio(d) => d.door_count(),
        }
    }
}
