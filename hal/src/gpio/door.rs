//! A door input: the interrupt callback (on an rppal thread) that records each edge, and the
//! cell between it and `read_doors`, which keeps an opening until it has been read once.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rppal::gpio::{self as rp, Gpio, InputPin, Trigger};

use super::{DoorPin, GpioError, Level, Pull};
use crate::DoorState;

/// Claims a door pin as an input with its pull and a debounced interrupt on both edges that
/// writes `cells[index]`.
pub(super) fn claim_door(
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
pub(super) struct DoorCell {
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
    pub(super) fn take(&mut self) -> DoorState {
        let opened = std::mem::take(&mut self.opened_since_read);
        DoorState::from_open(self.open || opened)
    }
}

/// The cell even if a panic poisoned its lock: it is plain data that stays consistent.
pub(super) fn lock(cell: &Mutex<DoorCell>) -> MutexGuard<'_, DoorCell> {
    cell.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use DoorState::{Closed, Open};

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
}
