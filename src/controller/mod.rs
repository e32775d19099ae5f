//! The controller: the one owner of the hardware.
//!
//! A single task drives every bus. It takes `Open` requests over a channel, pulses one latch at
//! a time across the whole locker (solenoid inrush), never longer than `latch.max_pulse`, rests
//! each latch for `latch.cooldown`, and counts a pulse only when the door is seen open within
//! `latch.open_timeout`, retrying `latch.retries` times before giving up. A pulse that fails on
//! the bus counts as one too: its on write may have reached the board with only the answer
//! lost, so the door is awaited before the latch is pulsed again, and a latch is pulsed again
//! only if its door is known closed (one that cannot be read fails the opening, as a bus that
//! is down does). It reads the door sensors and reports every change as a [`HwEvent`], in
//! order, on one channel.
//!
//! It knows nothing of parcels: each request carries an opaque ticket `T` that comes back with
//! its outcome, so the service can tell what an opening was for. It speaks the domain's words
//! for doors ([`Door`]): the hal's types stay inside it.
//!
//! A simulated locker is hardware like any other: the sim route moves its doors through
//! [`ControllerHandle::move_sim_door`], the controller being the one that holds it.

mod build;
mod bus;
mod drivers;
mod heartbeat;
mod task;

pub use build::{Hardware, build};
pub use bus::{AnyBus, Bus, BusError, BusFuture};
pub use heartbeat::Heartbeat;

use crate::domain::{CompartmentId, Door};
use lockerd_hal::DoorState;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

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

impl Timing {
    /// The timing `[latch]` configures.
    pub fn from_config(latch: &crate::config::LatchConfig) -> Timing {
        Timing {
            pulse: latch.pulse,
            max_pulse: latch.max_pulse,
            cooldown: latch.cooldown,
            open_timeout: latch.open_timeout,
            retries: latch.retries,
            door_left_open: latch.door_left_open,
        }
    }

    /// How long a latch is energized: `pulse`, never longer than `max_pulse`.
    pub fn pulse_length(&self) -> Duration {
        self.pulse.min(self.max_pulse)
    }
}

/// What the hardware did, in the order it happened.
#[derive(Debug)]
pub enum HwEvent<T> {
    /// Doors read after being unknown: at start (possibly empty; only the `BusDown` of a bus
    /// failing at start comes before it), and when a bus that was down answers again. The
    /// service reconciles them with what it recorded, including openings left unfinished.
    /// Each door read is `Open` or `Closed`; one that could not be read is absent.
    DoorsRead(HashMap<CompartmentId, Door>),
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
        /// The bus was down (or its outputs not known off): no pulse was tried, and the
        /// compartment itself is not to blame.
        bus_unavailable: bool,
    },
    /// A bus stopped answering: its compartments are unavailable until `BusUp`.
    BusDown {
        bus: String,
        error: String,
    },
    BusUp {
        bus: String,
    },
    /// A door opened with no opening requested: forced, or opened by hand.
    DoorForced(CompartmentId),
    DoorClosed(CompartmentId),
    /// A door stayed open longer than `latch.door_left_open` (reported once per opening).
    DoorLeftOpen(CompartmentId),
}

impl<T> HwEvent<T> {
    /// `DoorsRead` of the doors as the buses read them: where the hal's door states become the
    /// domain's.
    fn doors_read(doors: HashMap<CompartmentId, DoorState>) -> Self {
        let door = |state| match state {
            DoorState::Open => Door::Open,
            DoorState::Closed => Door::Closed,
        };
        HwEvent::DoorsRead(doors.into_iter().map(|(c, s)| (c, door(s))).collect())
    }
}

pub(crate) enum Command<T> {
    Open {
        compartment: CompartmentId,
        ticket: T,
    },
    /// Read the doors now rather than at the next poll.
    PollNow,
    /// Move a simulated door as a hand would, then read the doors.
    MoveSimDoor {
        compartment: CompartmentId,
        open: bool,
        reply: oneshot::Sender<Result<(), SimDoorError>>,
    },
}

/// A cheap, clonable handle on the controller task.
pub struct ControllerHandle<T> {
    commands: mpsc::UnboundedSender<Command<T>>,
    health: Arc<Mutex<Vec<BusHealth>>>,
    /// The buses each compartment's latch and door are on.
    placement: Arc<HashMap<CompartmentId, Vec<usize>>>,
    /// A `sim` bus is configured.
    has_sim: bool,
    occupancy: Arc<Mutex<HashMap<CompartmentId, bool>>>,
}

impl<T> Clone for ControllerHandle<T> {
    fn clone(&self) -> Self {
        Self {
            commands: self.commands.clone(),
            health: self.health.clone(),
            placement: self.placement.clone(),
            has_sim: self.has_sim,
            occupancy: self.occupancy.clone(),
        }
    }
}

/// The controller task has stopped (the daemon is shutting down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the hardware controller has stopped")]
pub struct Stopped;

/// Why a simulated door did not move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimDoorError {
    /// No `sim` bus is configured, or the compartment's door is not on it.
    #[error("not a simulated door")]
    NotSimulated,
    /// The simulated locker refused the channel (a bug: the channels come from the config).
    #[error("the simulated locker refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Stopped(#[from] Stopped),
}

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

    /// Whether a `sim` bus is configured, whose doors [`Self::move_sim_door`] moves.
    pub fn has_sim(&self) -> bool {
        self.has_sim
    }

    /// Opens (`open`) or closes the simulated door of `compartment`, as a hand would. Answers
    /// once the door has moved; the controller then reads the doors at once, and reports the
    /// change as it would any other.
    pub async fn move_sim_door(
        &self,
        compartment: CompartmentId,
        open: bool,
    ) -> Result<(), SimDoorError> {
        let (reply, moved) = oneshot::channel();
        let command = Command::MoveSimDoor {
            compartment,
            open,
            reply,
        };
        self.commands.send(command).map_err(|_| Stopped)?;
        moved.await.map_err(|_| Stopped)?
    }

    /// Whether every bus a compartment depends on is up: an unavailable compartment is never
    /// assigned, and a pickup from it answers `hardware_unavailable` with the code kept.
    pub fn available(&self, compartment: &CompartmentId) -> bool {
        let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        self.placement
            .get(compartment)
            .is_some_and(|buses| buses.iter().all(|b| health.get(*b).is_some_and(|h| h.ok)))
    }

    /// Whether the occupancy sensor of `compartment` last read something inside; `None` without
    /// a sensor, or while it cannot be read.
    pub fn occupied(&self, compartment: &CompartmentId) -> Option<bool> {
        let occupancy = self.occupancy.lock().unwrap_or_else(|e| e.into_inner());
        occupancy.get(compartment).copied()
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
/// [`HwEvent::DoorsRead`]); it stops, switching every output off again, when `shutdown` resolves.
/// Each time round its loop beats `heartbeat`.
pub fn spawn<T: Send + 'static>(
    hardware: Hardware,
    timing: Timing,
    heartbeat: Heartbeat,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (
    ControllerHandle<T>,
    mpsc::UnboundedReceiver<HwEvent<T>>,
    tokio::task::JoinHandle<()>,
) {
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (event_tx, events) = mpsc::unbounded_channel();
    let health = Arc::new(Mutex::new(hardware.initial_health()));
    let has_sim = hardware.sim.is_some();
    let occupancy = hardware.occupancy.clone();
    let placement = hardware
        .latches
        .keys()
        .map(|c| (c.clone(), hardware.buses_of(c)))
        .collect();
    let task = task::Task::new(
        hardware,
        timing,
        command_rx,
        event_tx,
        health.clone(),
        heartbeat,
    );
    let join = tokio::spawn(task.run(shutdown));
    let handle = ControllerHandle {
        commands,
        health,
        placement: Arc::new(placement),
        has_sim,
        occupancy,
    };
    (handle, events, join)
}

#[cfg(test)]
mod tests;
