//! The Raspberry Pi GPIO driver: latch outputs and door inputs on the Pi's own header, through
//! rppal, for small installations such as a one-compartment porch lockbox. Latch channel `i` is
//! `latches[i]` and door channel `i` is `doors[i]` as given to [`GpioBank::open`]; pins are BCM
//! GPIO numbers, not positions on the header.
//!
//! # Latch pins and polarity: the boot state must mean locked
//!
//! From power-up until lockerd claims its pins, every GPIO is an input with its default pull:
//! GPIO 0–8 pulled up, 9–27 pulled down. The latch driver sees only that pull, so pin and
//! polarity must agree with it:
//!
//! - **Active-high driver (`active_low: false`), recommended**: a pin in 9–27 that no enabled
//!   interface uses, such as GPIO 17, 22, 23, 24, 25, 26 or 27, plus an external 10 kΩ
//!   pull-down at the driver's input (the internal one is weak and software can switch it off).
//! - **Active-low driver (`active_low: true`)**, such as opto-isolated relay modules: a pin in
//!   4–8 (pulled up) plus an external pull-up. Power such a module's input side from 3.3 V: on
//!   5 V it may take the Pi's 3.3 V high for "on".
//! - Avoid GPIO 0–1 (HAT ID EEPROM, probed at boot), 14–15 (UART, driven by a serial console)
//!   and the pins of enabled interfaces (I2C 2–3, SPI 7–11, PCM 18–21).
//!
//! # What a latch pin does when
//!
//! - **lockerd claims it**: rppal writes the level before switching the pin to output, so the pin
//!   goes from its pull straight to a driven inactive level. This is the start-up all-off, done
//!   for every latch before any door pin is touched.
//! - **a pulse future is dropped** (a timeout, a shutdown): a guard drives the pin inactive.
//! - **the bank is dropped** (clean exit, unwinding panic): it drives every latch inactive, and
//!   the pins, claimed with `set_reset_on_drop(false)`, stay outputs driven inactive after exit.
//!   rppal's default would restore the previous mode, an input left to its pull, which is
//!   locked only where pin and polarity follow the rules above (an active-low latch on 9–27
//!   would energize); a driven level is locked on any pin and needs no pull.
//! - **lockerd is killed mid-pulse** (SIGKILL, abort, out of memory): no destructor runs, so the
//!   coil stays energized until systemd restarts lockerd and `open` drives it inactive. Only a
//!   driver that limits the pulse in hardware does better.
//!
//! # Door inputs
//!
//! Wire the reed switch (closed while the door is shut) between the pin and ground, with
//! `pull: Up` and `open_when: High`: a cut wire then reads as an open door, which gets reported,
//! rather than a shut one. Each input has a kernel-debounced interrupt on both edges whose
//! callback (on an rppal thread) stores the door's state in a cell that `read_doors` reads
//! without touching the hardware. An opening stays latched until the next read, so a door
//! opened and shut between two polls still reads open once.
//!
//! This module depends on the hal traits and rppal only. rppal compiles on every Linux target;
//! off a Pi, [`GpioBank::open`] returns [`GpioError::NotAPi`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rppal::gpio::{self as rp, Gpio, InputPin, OutputPin, Trigger};

use crate::{DoorSensor, DoorState, ErrorKind, Latch};

/// A logic level on a pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    High,
    Low,
}

impl Level {
    fn from_high(high: bool) -> Self {
        if high { Self::High } else { Self::Low }
    }
}

/// The built-in resistor of a door input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pull {
    Up,
    Down,
    None,
}

/// A latch output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatchPin {
    /// The BCM GPIO number.
    pub pin: u8,
    /// Whether the driver energizes the coil on a low level.
    pub active_low: bool,
}

impl LatchPin {
    /// The level that energizes the coil (`true`) or leaves it off (`false`).
    pub fn level(&self, energized: bool) -> Level {
        Level::from_high(energized != self.active_low)
    }
}

/// A door input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoorPin {
    /// The BCM GPIO number.
    pub pin: u8,
    /// The level the pin reads while the door is open.
    pub open_when: Level,
    /// The built-in resistor to enable.
    pub pull: Pull,
}

impl DoorPin {
    /// What a level on this pin means for the door.
    pub fn state_at(&self, level: Level) -> DoorState {
        DoorState::from_open(level == self.open_when)
    }
}

/// An error of the GPIO driver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GpioError {
    /// rppal could not identify a Raspberry Pi.
    #[error("gpio is unavailable: this machine is not a raspberry pi (unknown model)")]
    NotAPi,
    /// The GPIO device could not be opened for lack of permission.
    #[error("gpio is unavailable: permission denied on {path} (add the user to the `gpio` group)")]
    PermissionDenied { path: String },
    /// The GPIO device failed.
    #[error("gpio is unavailable: {0}")]
    Io(std::io::Error),
    /// A pin number this Pi does not have.
    #[error("gpio pin {pin} does not exist on this raspberry pi")]
    NoSuchPin { pin: u8 },
    /// A pin given twice to [`GpioBank::open`].
    #[error("gpio pin {pin} is configured more than once")]
    DuplicatePin { pin: u8 },
    /// A pin another part of lockerd holds (another bank).
    #[error("gpio pin {pin} is already in use by another gpio bank")]
    PinInUse { pin: u8 },
    /// A latch channel this bank does not have.
    #[error("latch channel {channel} does not exist: this gpio bank has {channels} latches")]
    NoSuchChannel { channel: usize, channels: usize },
    /// A door buffer whose length is not the number of doors.
    #[error("door buffer holds {len} states but this gpio bank has {doors} doors")]
    DoorBufferLength { len: usize, doors: usize },
}

impl GpioError {
    fn from_rppal(error: rp::Error) -> Self {
        match error {
            rp::Error::UnknownModel => Self::NotAPi,
            rp::Error::PermissionDenied(path) => Self::PermissionDenied { path },
            rp::Error::PinNotAvailable(pin) => Self::NoSuchPin { pin },
            rp::Error::PinUsed(pin) => Self::PinInUse { pin },
            rp::Error::Io(error) => Self::Io(error),
            rp::Error::ThreadPanic => {
                Self::Io(std::io::Error::other("the gpio interrupt thread panicked"))
            }
        }
    }
}

impl crate::Error for GpioError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotAPi | Self::PermissionDenied { .. } => ErrorKind::Device,
            Self::NoSuchPin { .. }
            | Self::DuplicatePin { .. }
            | Self::PinInUse { .. }
            | Self::NoSuchChannel { .. }
            | Self::DoorBufferLength { .. } => ErrorKind::Channel,
            Self::Io(_) => ErrorKind::Other,
        }
    }
}

/// Latch outputs and door inputs on the Pi's GPIO header.
#[derive(Debug)]
pub struct GpioBank {
    latches: Vec<LatchOutput>,
    /// Held for their interrupts: dropping an `InputPin` stops its callback.
    _door_inputs: Vec<InputPin>,
    doors: Arc<[Mutex<DoorCell>]>,
}

impl GpioBank {
    /// Claims the pins: every latch pin becomes an output driven to its inactive level at once,
    /// then every door pin an input with its pull and a debounced interrupt on both edges.
    ///
    /// Off a Pi, or without access to the GPIO device, this returns an error saying that GPIO is
    /// unavailable and why. Latches claimed before a later pin fails stay driven inactive.
    pub fn open(
        latches: Vec<LatchPin>,
        doors: Vec<DoorPin>,
        debounce: Duration,
    ) -> Result<GpioBank, GpioError> {
        check_distinct(&latches, &doors)?;
        let gpio = Gpio::new().map_err(GpioError::from_rppal)?;
        let latches = latches
            .into_iter()
            .map(|config| LatchOutput::claim(&gpio, config))
            .collect::<Result<Vec<_>, _>>()?;
        let cells: Arc<[Mutex<DoorCell>]> = doors.iter().map(|_| Mutex::default()).collect();
        let door_inputs = doors
            .into_iter()
            .enumerate()
            .map(|(index, config)| claim_door(&gpio, config, debounce, &cells, index))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GpioBank {
            latches,
            _door_inputs: door_inputs,
            doors: cells,
        })
    }

    fn release_all(&mut self) {
        for latch in &mut self.latches {
            latch.drive(false);
        }
    }
}

impl Drop for GpioBank {
    fn drop(&mut self) {
        self.release_all();
    }
}

impl Latch for GpioBank {
    type Error = GpioError;

    fn latch_count(&self) -> usize {
        self.latches.len()
    }

    async fn all_off(&mut self) -> Result<(), GpioError> {
        self.release_all();
        Ok(())
    }

    async fn pulse(&mut self, channel: usize, duration: Duration) -> Result<(), GpioError> {
        let channels = self.latches.len();
        let latch = self
            .latches
            .get_mut(channel)
            .ok_or(GpioError::NoSuchChannel { channel, channels })?;
        latch.drive(true);
        let energized = Energized(latch);
        tokio::time::sleep(duration).await;
        drop(energized);
        Ok(())
    }
}

impl DoorSensor for GpioBank {
    type Error = GpioError;

    fn door_count(&self) -> usize {
        self.doors.len()
    }

    async fn read_doors(&mut self, states: &mut [DoorState]) -> Result<(), GpioError> {
        if states.len() != self.doors.len() {
            return Err(GpioError::DoorBufferLength {
                len: states.len(),
                doors: self.doors.len(),
            });
        }
        for (state, cell) in states.iter_mut().zip(self.doors.iter()) {
            *state = lock(cell).take();
        }
        Ok(())
    }
}

/// Rejects a pin given twice before any hardware is touched, with a clearer message than
/// rppal's "pin in use" and off a Pi as well.
fn check_distinct(latches: &[LatchPin], doors: &[DoorPin]) -> Result<(), GpioError> {
    let mut seen = [false; 256];
    for pin in latches
        .iter()
        .map(|l| l.pin)
        .chain(doors.iter().map(|d| d.pin))
    {
        if std::mem::replace(&mut seen[usize::from(pin)], true) {
            return Err(GpioError::DuplicatePin { pin });
        }
    }
    Ok(())
}

#[derive(Debug)]
struct LatchOutput {
    config: LatchPin,
    output: OutputPin,
}

impl LatchOutput {
    fn claim(gpio: &Gpio, config: LatchPin) -> Result<Self, GpioError> {
        let pin = gpio.get(config.pin).map_err(GpioError::from_rppal)?;
        // `into_output_*` write the level before switching the mode: no glitch to active.
        let mut output = match config.level(false) {
            Level::Low => pin.into_output_low(),
            Level::High => pin.into_output_high(),
        };
        // Keep driving the inactive level after drop (module doc: a driven level beats a pull).
        output.set_reset_on_drop(false);
        Ok(Self { config, output })
    }

    fn drive(&mut self, energized: bool) {
        let high = self.config.level(energized) == Level::High;
        self.output.write(rp::Level::from(high));
    }
}

/// Drives its latch inactive when dropped, so a pulse future cancelled mid-sleep (a `select!`
/// timeout, a shutdown) leaves no coil energized.
struct Energized<'a>(&'a mut LatchOutput);

impl Drop for Energized<'_> {
    fn drop(&mut self) {
        self.0.drive(false);
    }
}

fn claim_door(
    gpio: &Gpio,
    config: DoorPin,
    debounce: Duration,
    cells: &Arc<[Mutex<DoorCell>]>,
    index: usize,
) -> Result<InputPin, GpioError> {
    let pin = gpio.get(config.pin).map_err(GpioError::from_rppal)?;
    let mut input = match config.pull {
        Pull::Up => pin.into_input_pullup(),
        Pull::Down => pin.into_input_pulldown(),
        Pull::None => pin.into_input(),
    };
    let debounce = (!debounce.is_zero()).then_some(debounce);
    let callback_cells = Arc::clone(cells);
    let on_edge = move |event: rp::Event| {
        let level = match event.trigger {
            Trigger::RisingEdge => Level::High,
            Trigger::FallingEdge => Level::Low,
            Trigger::Both | Trigger::Disabled => return,
        };
        lock(&callback_cells[index]).edge(config.state_at(level));
    };
    input
        .set_async_interrupt(Trigger::Both, debounce, on_edge)
        .map_err(GpioError::from_rppal)?;
    // Read once the interrupt is armed, so no edge can fall between the arming and the read.
    let level = Level::from_high(input.is_high());
    lock(&cells[index]).initial(config.state_at(level));
    Ok(input)
}

/// One door's state, written by its interrupt callback (on an rppal thread) and read by
/// `read_doors`, behind a `std::sync::Mutex`: each critical section is a few field updates.
#[derive(Debug, Default)]
struct DoorCell {
    open: bool,
    /// Set by every opening, cleared by a read: an opening between two reads is seen once.
    opened_since_read: bool,
    /// An edge arrived, so the level read when the pin was claimed may be stale.
    edge_seen: bool,
}

impl DoorCell {
    fn set(&mut self, state: DoorState) {
        self.open = state == DoorState::Open;
        self.opened_since_read |= self.open;
    }

    /// The state after an edge the interrupt reported.
    fn edge(&mut self, state: DoorState) {
        self.edge_seen = true;
        self.set(state);
    }

    /// The state read when the pin was claimed, unless an edge has already said more.
    fn initial(&mut self, state: DoorState) {
        if !self.edge_seen {
            self.set(state);
        }
    }

    /// The current state, or `Open` if the door opened at all since the last read.
    fn take(&mut self) -> DoorState {
        let opened = std::mem::take(&mut self.opened_since_read);
        DoorState::from_open(self.open || opened)
    }
}

/// The cell even if a panic poisoned its lock: it is plain data that stays consistent.
fn lock(cell: &Mutex<DoorCell>) -> MutexGuard<'_, DoorCell> {
    cell.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error as _;
    use DoorState::{Closed, Open};
    use ErrorKind::{Channel, Device, Other};
    use rp::Error as E;

    #[test]
    fn an_opening_between_two_reads_is_reported_once() {
        let mut cell = DoorCell::default();
        cell.initial(Closed);
        assert_eq!(cell.take(), Closed);
        cell.edge(Open);
        cell.edge(Closed);
        assert_eq!([cell.take(), cell.take()], [Open, Closed]);
    }

    #[test]
    fn a_door_held_open_reads_open_until_it_closes() {
        let mut cell = DoorCell::default();
        cell.initial(Open);
        assert_eq!([cell.take(), cell.take()], [Open, Open]);
        cell.edge(Closed);
        assert_eq!(cell.take(), Closed);
    }

    #[test]
    fn an_edge_wins_over_a_stale_initial_read() {
        let mut cell = DoorCell::default();
        cell.edge(Closed);
        cell.initial(Open);
        assert_eq!(cell.take(), Closed);
    }

    #[test]
    fn rppal_errors_map_to_kinds_and_plain_messages() {
        let denied = E::PermissionDenied("/dev/gpiomem".into());
        let io = E::Io(std::io::Error::other("boom"));
        let cases = [
            (E::UnknownModel, Device, "not a raspberry pi"),
            (denied, Device, "the `gpio` group"),
            (E::PinNotAvailable(40), Channel, "pin 40 does not exist"),
            (E::PinUsed(17), Channel, "pin 17 is already in use"),
            (io, Other, "gpio is unavailable: boom"),
        ];
        for (error, kind, text) in cases {
            let error = GpioError::from_rppal(error);
            assert_eq!(error.kind(), kind, "{error}");
            let message = error.to_string();
            assert!(message.starts_with("gpio"), "{message}");
            assert!(message.contains(text), "{message}");
        }
    }
}
