//! The simulated locker: a [`Latch`] and [`DoorSensor`] driver with no hardware behind it.
//!
//! It serves development on machines without a locker and every daemon test. Channel `i` is
//! both latch output `i` and door input `i`, wired like a real compartment: a pulse on a
//! working latch pops its spring-loaded door open at once, and the door stays open until a
//! person pushes it shut ([`SimHandle::set_door`]). Pulses take real tokio time, so tests run
//! them under paused time and assert exact durations.
//!
//! A [`SimHandle`] shares the locker's state with tests and the daemon's HTTP sim route: it
//! moves doors by hand, injects faults, and records what the bus was asked to do. Fault
//! injection maps onto the field failures the controller must survive:
//!
//! - [`LatchFault::Jammed`]: the coil fires but the door stays shut — a jammed bolt, a broken
//!   solenoid, a parcel wedged against the door. The pulse succeeds; only the door sensor
//!   tells the controller that nothing opened.
//! - [`SimHandle::set_bus_failure`]: every bus operation fails with the given [`ErrorKind`] —
//!   `Timeout` for a dead board or cut RS485 line, `Disconnected` for an unplugged serial
//!   adapter, `Protocol` for noise on the line, `Device` for a board refusing requests.
//!   Nothing reaches the simulated outputs while it is set, as nothing reaches real ones.
//! - [`SimHandle::set_door`] with no pulse issued: a door forced open, or one that was never
//!   latched properly.
//!
//! The recorders ([`SimHandle::pulses`], [`SimHandle::overlapping_pulses`],
//! [`SimHandle::energized`]) let tests check the electrical rules of `docs/hardware.md`: one latch
//! at a time across the locker, and no coil left energized, even by a cancelled pulse.
//!
//! This module depends only on the hal traits and tokio's timer.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::{DoorSensor, DoorState, ErrorKind, Latch};

/// A simulated locker with `channels` compartments.
///
/// Clones drive the same simulated locker, so one can serve as the latch bus and another as
/// the door bus, as separate drivers would on real hardware.
#[derive(Debug, Clone)]
pub struct SimLocker {
    shared: SimHandle,
}

impl SimLocker {
    /// A locker with every door closed, nothing energized and no faults.
    pub fn new(channels: usize) -> Self {
        let state = State {
            doors: vec![DoorState::Closed; channels],
            faults: vec![LatchFault::None; channels],
            bus_failure: None,
            pulses: Vec::new(),
            last_pulse: None,
            all_off_count: 0,
            overlapping_pulses: 0,
            active: Vec::new(),
            next_pulse_id: 0,
        };
        Self {
            shared: SimHandle {
                state: Arc::new(Mutex::new(state)),
            },
        }
    }

    /// A handle on this locker's state, for tests and the HTTP sim route.
    pub fn handle(&self) -> SimHandle {
        self.shared.clone()
    }
}

/// A fault injected into one simulated latch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LatchFault {
    /// The latch works.
    #[default]
    None,
    /// The coil fires but the door stays shut (a jammed or broken latch).
    Jammed,
}

/// One pulse the simulated bus received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PulseRecord {
    pub channel: usize,
    pub duration: Duration,
}

/// An error of the simulated locker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A channel the simulated locker does not have.
    #[error("channel {channel} does not exist: the simulated locker has {channels} channels")]
    NoSuchChannel { channel: usize, channels: usize },
    /// A door buffer whose length is not the number of doors.
    #[error("door buffer holds {len} states but the simulated locker has {channels} doors")]
    DoorBufferLength { len: usize, channels: usize },
    /// A failure injected with [`SimHandle::set_bus_failure`].
    #[error("injected bus failure ({0:?})")]
    InjectedBusFailure(ErrorKind),
}

impl crate::Error for SimError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NoSuchChannel { .. } | Self::DoorBufferLength { .. } => ErrorKind::Channel,
            Self::InjectedBusFailure(kind) => *kind,
        }
    }
}

/// A cheap, clonable view of a [`SimLocker`]'s state.
///
/// The lock is a `std::sync::Mutex`: every critical section is a few field updates and none
/// spans an `.await`, so an async mutex would only add cost.
#[derive(Debug, Clone)]
pub struct SimHandle {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    doors: Vec<DoorState>,
    faults: Vec<LatchFault>,
    bus_failure: Option<ErrorKind>,
    pulses: Vec<PulseRecord>,
    /// The channel and start of the latest pulse, for timing a request to its latch.
    last_pulse: Option<(usize, tokio::time::Instant)>,
    all_off_count: usize,
    overlapping_pulses: usize,
    /// Pulses in progress as `(pulse id, channel)`. Ids rather than channels, so a pulse
    /// ending (or `all_off` running) never switches off an output another pulse energized.
    active: Vec<(u64, usize)>,
    next_pulse_id: u64,
}

impl State {
    fn check_channel(&self, channel: usize) -> Result<(), SimError> {
        let channels = self.doors.len();
        if channel < channels {
            Ok(())
        } else {
            Err(SimError::NoSuchChannel { channel, channels })
        }
    }

    fn check_bus(&self) -> Result<(), SimError> {
        match self.bus_failure {
            Some(kind) => Err(SimError::InjectedBusFailure(kind)),
            None => Ok(()),
        }
    }
}

impl SimHandle {
    /// The state, even if a panicking test poisoned the lock: the state is plain data that
    /// stays consistent, and the drop guard must not panic while a panic is unwinding.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The number of channels (latch outputs and doors).
    pub fn channels(&self) -> usize {
        self.lock().doors.len()
    }

    /// Move a door by hand (also how a test makes a door that opens by itself).
    pub fn set_door(&self, channel: usize, open: bool) -> Result<(), SimError> {
        let mut state = self.lock();
        state.check_channel(channel)?;
        state.doors[channel] = DoorState::from_open(open);
        Ok(())
    }

    /// The state of a door, `None` if the channel does not exist.
    pub fn door(&self, channel: usize) -> Option<DoorState> {
        self.lock().doors.get(channel).copied()
    }

    /// Inject a fault into one latch, or clear it with [`LatchFault::None`].
    pub fn set_latch_fault(&self, channel: usize, fault: LatchFault) -> Result<(), SimError> {
        let mut state = self.lock();
        state.check_channel(channel)?;
        state.faults[channel] = fault;
        Ok(())
    }

    /// Make every bus operation (`pulse`, `all_off`, `read_doors`) fail with this kind, or
    /// heal the bus with `None`.
    pub fn set_bus_failure(&self, failure: Option<ErrorKind>) {
        self.lock().bus_failure = failure;
    }

    /// Every pulse the bus received, in order.
    pub fn pulses(&self) -> Vec<PulseRecord> {
        self.lock().pulses.clone()
    }

    /// The channel and start (tokio's clock) of the latest pulse, if any: the moment a
    /// request's latch was energized, which the benchmarks time requests to.
    pub fn last_pulse(&self) -> Option<(usize, tokio::time::Instant)> {
        self.lock().last_pulse
    }

    /// How many times `all_off` ran.
    pub fn all_off_count(&self) -> usize {
        self.lock().all_off_count
    }

    /// How many pulses started while another output was energized. Must stay 0: inrush
    /// current allows one latch at a time across the whole locker.
    pub fn overlapping_pulses(&self) -> usize {
        self.lock().overlapping_pulses
    }

    /// The output energized right now, if any (the earliest started, should pulses overlap).
    pub fn energized(&self) -> Option<usize> {
        self.lock().active.first().map(|&(_, channel)| channel)
    }
}

/// Switches its pulse's output off when dropped, so a pulse future cancelled mid-sleep (a
/// `select!` timeout, a shutdown) leaves no simulated coil energized.
struct Energized {
    shared: SimHandle,
    pulse_id: u64,
}

impl Drop for Energized {
    fn drop(&mut self) {
        self.shared
            .lock()
            .active
            .retain(|&(id, _)| id != self.pulse_id);
    }
}

impl SimLocker {
    /// Check and record a pulse, energize its output and pop its door.
    fn start_pulse(&self, channel: usize, duration: Duration) -> Result<Energized, SimError> {
        let mut state = self.shared.lock();
        state.check_bus()?;
        state.check_channel(channel)?;
        state.pulses.push(PulseRecord { channel, duration });
        state.last_pulse = Some((channel, tokio::time::Instant::now()));
        if !state.active.is_empty() {
            state.overlapping_pulses += 1;
        }
        let pulse_id = state.next_pulse_id;
        state.next_pulse_id += 1;
        state.active.push((pulse_id, channel));
        if state.faults[channel] != LatchFault::Jammed {
            // The door is spring-loaded: it pops as soon as the bolt releases.
            state.doors[channel] = DoorState::Open;
        }
        Ok(Energized {
            shared: self.shared.clone(),
            pulse_id,
        })
    }
}

impl Latch for SimLocker {
    type Error = SimError;

    fn latch_count(&self) -> usize {
        self.shared.channels()
    }

    async fn all_off(&mut self) -> Result<(), SimError> {
        let mut state = self.shared.lock();
        state.check_bus()?;
        state.active.clear();
        state.all_off_count += 1;
        Ok(())
    }

    async fn pulse(&mut self, channel: usize, duration: Duration) -> Result<(), SimError> {
        let energized = self.start_pulse(channel, duration)?;
        tokio::time::sleep(duration).await;
        drop(energized);
        Ok(())
    }
}

impl DoorSensor for SimLocker {
    type Error = SimError;

    fn door_count(&self) -> usize {
        self.shared.channels()
    }

    async fn read_doors(&mut self, states: &mut [DoorState]) -> Result<(), SimError> {
        let state = self.shared.lock();
        state.check_bus()?;
        if states.len() != state.doors.len() {
            return Err(SimError::DoorBufferLength {
                len: states.len(),
                channels: state.doors.len(),
            });
        }
        states.copy_from_slice(&state.doors);
        Ok(())
    }
}
