//! The buses the controller drives, behind one object-safe trait so a locker can mix drivers
//! and a new driver needs no code here.
//!
//! The hal traits use `async fn` and are not object safe; [`Bus`] is implemented once for every
//! driver that is both a [`Latch`] and a [`DoorSensor`], boxing each request's future (one small
//! allocation per bus request, next to milliseconds on the wire). It gives every driver error
//! the same shape: a kind the controller acts on and a message for `/healthz`.

use lockerd_hal::{DoorSensor, DoorState, ErrorKind, Latch};
use std::any::Any;
use std::future::Future;
use std::pin::Pin;
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

/// The future of one bus request.
pub type BusFuture<'a> = Pin<Box<dyn Future<Output = Result<(), BusError>> + Send + 'a>>;

/// One configured bus with its driver: its latch outputs and door inputs, numbered per bus.
pub trait Bus: Send {
    /// Drives every latch output of the bus off.
    fn all_off(&mut self) -> BusFuture<'_>;
    /// Energizes latch output `channel` for `duration`, then switches it off.
    fn pulse(&mut self, channel: usize, duration: Duration) -> BusFuture<'_>;
    /// Reads every door of the bus into `states` (`states.len() == door_count()`).
    fn read_doors<'a>(&'a mut self, states: &'a mut [DoorState]) -> BusFuture<'a>;
    fn door_count(&self) -> usize;
    /// The number of occupancy sensors, and what the last door read read of them.
    fn occupancy_count(&self) -> usize;
    fn occupancy(&self, occupied: &mut [Option<bool>]);
    /// The driver itself, for the tools that use what only one driver has (`lockerd hw scan`
    /// probes Modbus unit ids).
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

/// A configured bus, whichever driver it has.
pub type AnyBus = Box<dyn Bus>;

impl<D> Bus for D
where
    D: Latch + DoorSensor + Send + 'static,
{
    fn all_off(&mut self) -> BusFuture<'_> {
        Box::pin(async move { Latch::all_off(self).await.map_err(BusError::from_driver) })
    }

    fn pulse(&mut self, channel: usize, duration: Duration) -> BusFuture<'_> {
        Box::pin(async move {
            Latch::pulse(self, channel, duration)
                .await
                .map_err(BusError::from_driver)
        })
    }

    fn read_doors<'a>(&'a mut self, states: &'a mut [DoorState]) -> BusFuture<'a> {
        Box::pin(async move {
            DoorSensor::read_doors(self, states)
                .await
                .map_err(BusError::from_driver)
        })
    }

    fn door_count(&self) -> usize {
        DoorSensor::door_count(self)
    }

    fn occupancy_count(&self) -> usize {
        DoorSensor::occupancy_count(self)
    }

    fn occupancy(&self, occupied: &mut [Option<bool>]) {
        DoorSensor::occupancy(self, occupied)
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}
