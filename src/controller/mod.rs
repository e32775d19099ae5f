//! The controller: the one owner of the hardware.
//!
//! A single task drives every bus. It takes `Open` requests over a channel, pulses one latch at
//! a time across the whole locker (solenoid inrush), never longer than `latch.max_pulse`, rests
//! each latch for `latch.cooldown`, and counts a pulse only when the door is seen open within
//! `latch.open_timeout`, retrying `latch.retries` times before giving up. It reads the door
//! sensors and reports every change as a [`HwEvent`], in order, on one channel.
//!
//! It knows nothing of parcels: each request carries an opaque ticket `T` that comes back with
//! its outcome, so the service can tell what an opening was for.

mod build;
mod bus;
mod task;

pub use build::{Hardware, build};
pub use bus::{AnyBus, BusError};

use crate::domain::CompartmentId;
use lockerd_hal::DoorState;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// A bus as `/healthz` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusHealth {
    pub name: String,
    pub ok: bool,
    pub last_error: Option<String>,
}

/// Pulse timing, from `[latch]` of the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub pulse: Duration,
    pub max_pulse: Duration,
    pub cooldown: Duration,
    pub open_timeout: Duration,
    pub retries: u32,
    pub door_left_open: Duration,
}

/// What the hardware did, in the order it happened.
#[derive(Debug)]
pub enum HwEvent<T> {
    /// The door states read at start, before any other event (`None`: bus unreadable).
    Initial(HashMap<CompartmentId, Option<DoorState>>),
    /// The door of an `Open` request was seen open.
    Opened {
        compartment: CompartmentId,
        ticket: T,
    },
    /// The latch did not open the door within its retries, or its bus is down.
    OpenFailed {
        compartment: CompartmentId,
        ticket: T,
        reason: String,
    },
    /// A door opened with no opening requested: forced, or opened by hand.
    DoorForced(CompartmentId),
    DoorClosed(CompartmentId),
    /// A door stayed open longer than `latch.door_left_open` (reported once per opening).
    DoorLeftOpen(CompartmentId),
}

pub(crate) enum Command<T> {
    Open {
        compartment: CompartmentId,
        ticket: T,
    },
    /// Read the doors now (after a simulated door moved).
    PollNow,
}

/// A cheap, clonable handle on the controller task.
pub struct ControllerHandle<T> {
    commands: mpsc::UnboundedSender<Command<T>>,
    health: Arc<Mutex<Vec<BusHealth>>>,
}

impl<T> Clone for ControllerHandle<T> {
    fn clone(&self) -> Self {
        Self {
            commands: self.commands.clone(),
            health: self.health.clone(),
        }
    }
}

/// The controller task has stopped (the daemon is shutting down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the hardware controller has stopped")]
pub struct Stopped;

impl<T> ControllerHandle<T> {
    /// Asks for `compartment` to be opened; the outcome arrives as `Opened` or `OpenFailed`.
    pub fn open(&self, compartment: CompartmentId, ticket: T) -> Result<(), Stopped> {
        self.commands
            .send(Command::Open {
                compartment,
                ticket,
            })
            .map_err(|_| Stopped)
    }

    /// Asks for the doors to be read now rather than at the next poll.
    pub fn poll_now(&self) {
        let _ = self.commands.send(Command::PollNow);
    }

    /// Each bus's health as last seen.
    pub fn health(&self) -> Vec<BusHealth> {
        self.health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Starts the controller task over `hardware`.
///
/// It first drives every latch output off and reads every door (reported as
/// [`HwEvent::Initial`]); it stops, switching every output off again, when `shutdown` resolves.
pub fn spawn<T: Send + 'static>(
    hardware: Hardware,
    timing: Timing,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (
    ControllerHandle<T>,
    mpsc::UnboundedReceiver<HwEvent<T>>,
    tokio::task::JoinHandle<()>,
) {
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (event_tx, events) = mpsc::unbounded_channel();
    let health = Arc::new(Mutex::new(hardware.initial_health()));
    let task = task::Task::new(hardware, timing, command_rx, event_tx, health.clone());
    let join = tokio::spawn(task.run(shutdown));
    (ControllerHandle { commands, health }, events, join)
}

#[cfg(test)]
mod tests;
