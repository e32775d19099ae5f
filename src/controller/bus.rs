//! The buses the controller drives, behind one enum so a locker can mix drivers.
//!
//! The hal traits use `async fn` and are not object safe; an enum keeps dispatch static and
//! gives every driver error the same shape: a kind the controller acts on and a message for
//! `/healthz`.

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
}

impl AnyBus {
    pub async fn all_off(&mut self) -> Result<(), BusError> {
        match self {
            AnyBus::Sim(d) => d.all_off().await.map_err(BusError::from_driver),
        }
    }

    pub async fn pulse(&mut self, channel: usize, duration: Duration) -> Result<(), BusError> {
        match self {
            AnyBus::Sim(d) => d
                .pulse(channel, duration)
                .await
                .map_err(BusError::from_driver),
        }
    }

    pub async fn read_doors(&mut self, states: &mut [DoorState]) -> Result<(), BusError> {
        match self {
            AnyBus::Sim(d) => d.read_doors(states).await.map_err(BusError::from_driver),
        }
    }

    pub fn door_count(&self) -> usize {
        match self {
            AnyBus::Sim(d) => d.door_count(),
        }
    }
}
