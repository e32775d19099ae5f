//! [`ModbusBoard`]: latch pulses, all-off, door reads and unit scans in terms of Modbus requests,
//! per board [`Profile`].
//!
//! Safety comes before reporting: a coil that may be on is switched off before an error is
//! returned, and one this driver could not confirm off is switched off before the next request
//! of any kind on the bus.

use std::ops::RangeInclusive;
use std::time::Duration;

use tokio::time::sleep_until;
use tokio_modbus::{Request, Response};

use super::bus::Bus;
use super::{CoilAddr, InputAddr, ModbusConfig, ModbusError, Profile};
use crate::{DoorSensor, DoorState, Error as _, ErrorKind, Latch};

/// The most inputs one FC02 request may read (Modbus Application Protocol, 6.2).
const MAX_INPUTS_PER_READ: u32 = 2_000;

/// The longest pulse an Eletechsup board can time: `0x06XX` holds the seconds in one byte.
const ELETECHSUP_MAX_SECS: u64 = 0xFF;

/// A bus of Modbus relay boards: latch outputs on coils, door sensors on discrete inputs.
///
/// Requests go out one at a time (`&mut self`). A pulse future dropped while its coil is on (a
/// `select!` that gives up, a shutdown) leaves the coil on until the next call on this board,
/// which switches it off before anything else; whoever drops a pulse should call
/// [`Latch::all_off`] next.
#[derive(Debug)]
pub struct ModbusBoard {
    bus: Bus,
    profile: Profile,
    latches: Vec<CoilAddr>,
    doors: Vec<InputAddr>,
    /// Each unit with doors and the span of its door inputs, in order of first appearance.
    door_spans: Vec<InputSpan>,
    /// A coil a pulse switched on and has not seen switched off (its off write failed, or the
    /// pulse future was dropped mid-pulse).
    pending_off: Option<CoilAddr>,
}

/// The inputs `first..first + count` of `unit`: what one FC02 request reads.
#[derive(Debug, Clone, Copy)]
struct InputSpan {
    unit: u8,
    first: u16,
    count: u32,
}

impl ModbusBoard {
    /// A driver for latch channel `i` on coil `latches[i]` and door channel `i` on input
    /// `doors[i]`. Nothing is opened until the first request.
    pub fn new(config: ModbusConfig, latches: Vec<CoilAddr>, doors: Vec<InputAddr>) -> Self {
        let door_spans = input_spans(&doors);
        Self {
            bus: Bus::new(config.transport, config.timeout),
            profile: config.profile,
            latches,
            doors,
            door_spans,
            pending_off: None,
        }
    }

    /// Which unit ids in `units` answer a read of one coil (one register on `Eletechsup`
    /// boards), each probe within the timeout.
    ///
    /// A unit that answers with an exception is present too; one that does not answer (or
    /// whose gateway reports it silent) is absent. An error means the bus itself could not be
    /// reached.
    pub async fn scan(&mut self, units: RangeInclusive<u8>) -> Result<Vec<u8>, ModbusError> {
        self.settle().await?;
        let probe = match self.profile {
            // These boards keep their relay states in holding registers from 1.
            Profile::Eletechsup => Request::ReadHoldingRegisters(1, 1),
            Profile::Generic | Profile::Waveshare => Request::ReadCoils(0, 1),
        };
        let mut present = Vec::new();
        for unit in units {
            match self.bus.call(unit, probe.clone()).await {
                Ok(_) => present.push(unit),
                Err(err) => match err.kind() {
                    ErrorKind::Device => present.push(unit),
                    // Silence, or noise where an answer should be: nobody there.
                    ErrorKind::Timeout | ErrorKind::Protocol => {}
                    _ => return Err(err),
                },
            }
        }
        Ok(present)
    }

    fn latch(&self, channel: usize) -> Result<CoilAddr, ModbusError> {
        self.latches.get(channel).copied().ok_or_else(|| {
            ModbusError::new(
                ErrorKind::Channel,
                format!(
                    "latch channel {channel} does not exist: the bus has {} latches",
                    self.latches.len()
                ),
            )
        })
    }

    async fn write_coil(&mut self, addr: CoilAddr, on: bool) -> Result<(), ModbusError> {
        let request = Request::WriteSingleCoil(addr.coil, on);
        self.bus.call(addr.unit, request).await.map(drop)
    }

    /// Switch a pulsed coil off, trying once more if the first write fails.
    async fn switch_off(&mut self, addr: CoilAddr) -> Result<(), ModbusError> {
        if self.write_coil(addr, false).await.is_err() {
            self.write_coil(addr, false).await?;
        }
        self.pending_off = None;
        Ok(())
    }

    /// Switch off a coil left on by an earlier pulse, before the bus is used for anything else.
    async fn settle(&mut self) -> Result<(), ModbusError> {
        match self.pending_off {
            Some(addr) => self.switch_off(addr).await,
            None => Ok(()),
        }
    }

    /// A software-timed pulse: coil on, wait, coil off.
    async fn coil_pulse(&mut self, addr: CoilAddr, duration: Duration) -> Result<(), ModbusError> {
        self.pending_off = Some(addr);
        if let Err(err) = self.write_coil(addr, true).await {
            if err.kind().is_bus_failure() {
                // The board may have switched on before its answer was lost. The on write's
                // error is the one to report, whatever the off write does.
                let _ = self.switch_off(addr).await;
            } else {
                // A refusal: the coil never switched on.
                self.pending_off = None;
            }
            return Err(err);
        }
        // Timed from the moment the on request left, so that, with the off request taking as
        // long to arrive as the on request did, the coil is energized for `duration`.
        sleep_until(self.bus.sent_at() + duration).await;
        self.switch_off(addr).await
    }

    /// A board-timed pulse: the board switches the relay off after whole seconds by itself.
    async fn timed_pulse(&mut self, addr: CoilAddr, duration: Duration) -> Result<(), ModbusError> {
        let secs = duration.as_secs();
        if secs == 0 || secs > ELETECHSUP_MAX_SECS {
            return Err(ModbusError::new(
                ErrorKind::Other,
                format!(
                    "unit {}: an eletechsup board times pulses in whole seconds from 1 to \
                     {ELETECHSUP_MAX_SECS}, so it cannot pulse coil {} for {duration:?}",
                    addr.unit, addr.coil
                ),
            ));
        }
        // Rounded down: never energize longer than asked.
        let command = 0x0600 | secs as u16;
        let request = Request::WriteSingleRegister(eletechsup_register(addr)?, command);
        let result = self.bus.call(addr.unit, request).await;
        // Wait out the board's timer even if the answer was lost: the command may have reached
        // the board, which then keeps the coil on (ignoring OFF) for the whole pulse, and the
        // next latch must not fire meanwhile. The caller may also count on the door having
        // been released when this returns.
        sleep_until(self.bus.sent_at() + duration).await;
        result.map(|_| ())
    }

    /// Read one unit's door inputs with one FC02 request.
    async fn read_span(&mut self, span: InputSpan) -> Result<Vec<bool>, ModbusError> {
        if span.count > MAX_INPUTS_PER_READ {
            return Err(ModbusError::new(
                ErrorKind::Other,
                format!(
                    "unit {}: door inputs {}..={} span more than the {MAX_INPUTS_PER_READ} \
                     inputs one read can cover",
                    span.unit,
                    span.first,
                    u32::from(span.first) + span.count - 1
                ),
            ));
        }
        let count = span.count as u16;
        let request = Request::ReadDiscreteInputs(span.first, count);
        match self.bus.call(span.unit, request).await? {
            Response::ReadDiscreteInputs(values) if values.len() >= usize::from(count) => {
                Ok(values)
            }
            other => Err(ModbusError::garbled(
                format!(
                    "unit {}: read {count} inputs from {}",
                    span.unit, span.first
                ),
                format!("{other:?} is too short"),
            )),
        }
    }

    /// The requests that switch every configured latch off, per profile.
    fn off_requests(&self) -> Result<Vec<(u8, Request<'static>)>, ModbusError> {
        let mut requests = Vec::new();
        match self.profile {
            Profile::Generic => {
                for addr in &self.latches {
                    requests.push((addr.unit, Request::WriteSingleCoil(addr.coil, false)));
                }
            }
            Profile::Waveshare => {
                for addr in &self.latches {
                    requests.push((addr.unit, Request::WriteSingleCoil(0x00FF, false)));
                }
            }
            Profile::Eletechsup => {
                for addr in &self.latches {
                    let register = eletechsup_register(*addr)?;
                    requests.push((addr.unit, Request::WriteSingleRegister(register, 0x0200)));
                }
            }
        }
        let mut seen = Vec::with_capacity(requests.len());
        requests.retain(|request| {
            let new = !seen.contains(request);
            seen.push(request.clone());
            new
        });
        Ok(requests)
    }
}

/// The 1-based holding register of an Eletechsup channel.
fn eletechsup_register(addr: CoilAddr) -> Result<u16, ModbusError> {
    addr.coil.checked_add(1).ok_or_else(|| {
        ModbusError::new(
            ErrorKind::Channel,
            format!(
                "unit {}: coil {} has no eletechsup register",
                addr.unit, addr.coil
            ),
        )
    })
}

/// The span of door inputs of each unit, so one request per unit reads all of its doors.
fn input_spans(doors: &[InputAddr]) -> Vec<InputSpan> {
    let mut bounds: Vec<(u8, u16, u16)> = Vec::new();
    for door in doors {
        match bounds.iter_mut().find(|(unit, ..)| *unit == door.unit) {
            Some((_, low, high)) => {
                *low = (*low).min(door.input);
                *high = (*high).max(door.input);
            }
            None => bounds.push((door.unit, door.input, door.input)),
        }
    }
    bounds
        .into_iter()
        .map(|(unit, low, high)| InputSpan {
            unit,
            first: low,
            count: u32::from(high - low) + 1,
        })
        .collect()
}

impl Latch for ModbusBoard {
    type Error = ModbusError;

    fn latch_count(&self) -> usize {
        self.latches.len()
    }

    /// Every configured latch off. A unit that fails is skipped after its first bus failure
    /// (so a dead board costs one timeout, not one per coil); the others are still switched
    /// off, and the first error is returned.
    async fn all_off(&mut self) -> Result<(), ModbusError> {
        let mut first_error: Option<ModbusError> = None;
        let mut failed_units = Vec::new();
        for (unit, request) in self.off_requests()? {
            if failed_units.contains(&unit) {
                continue;
            }
            if let Err(err) = self.bus.call(unit, request).await {
                if err.kind().is_bus_failure() {
                    failed_units.push(unit);
                }
                first_error.get_or_insert(err);
            }
        }
        match first_error {
            Some(err) => Err(err),
            None => {
                self.pending_off = None;
                Ok(())
            }
        }
    }

    async fn pulse(&mut self, channel: usize, duration: Duration) -> Result<(), ModbusError> {
        let addr = self.latch(channel)?;
        self.settle().await?;
        match self.profile {
            Profile::Generic | Profile::Waveshare => self.coil_pulse(addr, duration).await,
            Profile::Eletechsup => self.timed_pulse(addr, duration).await,
        }
    }
}

impl DoorSensor for ModbusBoard {
    type Error = ModbusError;

    fn door_count(&self) -> usize {
        self.doors.len()
    }

    async fn read_doors(&mut self, states: &mut [DoorState]) -> Result<(), ModbusError> {
        if states.len() != self.doors.len() {
            return Err(ModbusError::new(
                ErrorKind::Channel,
                format!(
                    "door buffer holds {} states but the bus has {} doors",
                    states.len(),
                    self.doors.len()
                ),
            ));
        }
        self.settle().await?;
        let mut inputs = Vec::with_capacity(self.door_spans.len());
        for span in self.door_spans.clone() {
            inputs.push((span, self.read_span(span).await?));
        }
        for (state, door) in states.iter_mut().zip(&self.doors) {
            let (span, values) = inputs
                .iter()
                .find(|(span, _)| span.unit == door.unit)
                .expect("every door's unit has a span");
            let value = values[usize::from(door.input - span.first)];
            *state = DoorState::from_open(value == door.open_when);
        }
        Ok(())
    }
}
