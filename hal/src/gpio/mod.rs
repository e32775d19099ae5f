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
//! The module is split by role: this file has the pins and the bank; `latch` a latch output and
//! the guard that ends a pulse; `door` a door input, its interrupt and the cell it writes;
//! `error` [`GpioError`] and how rppal's errors map onto [`ErrorKind`](crate::ErrorKind).
//!
//! This module depends on the hal traits and rppal only. rppal compiles on every Linux target;
//! off a Pi, [`GpioBank::open`] returns [`GpioError::NotAPi`].

mod door;
mod error;
mod latch;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rppal::gpio::{Gpio, InputPin};

use crate::{DoorSensor, DoorState, Latch};
use door::{DoorCell, claim_door, lock};
use latch::{Energized, LatchOutput};

pub use error::GpioError;

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
