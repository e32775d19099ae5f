//! A relay-board emulator: a tokio-modbus server `Service` that holds each unit's coils,
//! holding registers and discrete inputs and logs every request it receives, so tests assert
//! on what went over the wire.
//!
//! Units not configured stay silent, as on a real RS485 bus. Faults are armed per request
//! ([`Emulator::inject`]): an exception reply, or an answer that comes too late.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{Instant, sleep};
use tokio_modbus::server::Service;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

/// Coils, registers and inputs each unit has.
const POINTS: usize = 64;

/// One request the emulator received.
#[derive(Debug, Clone)]
pub struct Logged {
    pub at: Instant,
    pub unit: u8,
    pub request: Request<'static>,
}

/// What an armed fault does to the request it hits.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Refuse the request with this exception.
    Exception(ExceptionCode),
    /// Carry the request out, but answer only after this long.
    LateAnswer(Duration),
}

type Matcher = Box<dyn Fn(u8, &Request<'_>) -> bool + Send>;

struct Armed {
    matches: Matcher,
    fault: Fault,
    remaining: usize,
}

struct Unit {
    id: u8,
    coils: Vec<bool>,
    registers: Vec<u16>,
    inputs: Vec<bool>,
}

#[derive(Default)]
struct State {
    units: Vec<Unit>,
    log: Vec<Logged>,
    faults: Vec<Armed>,
}

/// A bus of emulated boards; clones share it.
#[derive(Clone)]
pub struct Emulator {
    state: Arc<Mutex<State>>,
}

impl Emulator {
    /// Boards answering as `units`, every coil, register and input at 0.
    pub fn new(units: &[u8]) -> Self {
        let units = units
            .iter()
            .map(|&id| Unit {
                id,
                coils: vec![false; POINTS],
                registers: vec![0; POINTS],
                inputs: vec![false; POINTS],
            })
            .collect();
        let state = State {
            units,
            ..State::default()
        };
        Self {
            state: Arc::new(Mutex::new(state)),
        }
    }

    fn with_unit<T>(&self, unit: u8, f: impl FnOnce(&mut Unit) -> T) -> T {
        let mut state = self.state.lock().unwrap();
        f(state.units.iter_mut().find(|u| u.id == unit).expect("unit"))
    }

    /// Every request received, with when it arrived.
    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// Every request received as `(unit, request)`.
    pub fn requests(&self) -> Vec<(u8, Request<'static>)> {
        let log = self.log();
        log.into_iter().map(|l| (l.unit, l.request)).collect()
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }

    pub fn coil(&self, unit: u8, coil: u16) -> bool {
        self.with_unit(unit, |u| u.coils[usize::from(coil)])
    }

    pub fn set_coil(&self, unit: u8, coil: u16, on: bool) {
        self.with_unit(unit, |u| u.coils[usize::from(coil)] = on);
    }

    pub fn set_input(&self, unit: u8, input: u16, value: bool) {
        self.with_unit(unit, |u| u.inputs[usize::from(input)] = value);
    }

    /// Hit the next `times` requests for which `matches(unit, request)` holds with `fault`.
    pub fn inject(
        &self,
        fault: Fault,
        times: usize,
        matches: impl Fn(u8, &Request<'_>) -> bool + Send + 'static,
    ) {
        let armed = Armed {
            matches: Box::new(matches),
            fault,
            remaining: times,
        };
        self.state.lock().unwrap().faults.push(armed);
    }

    /// Log, apply and answer one request; `None` for a unit that is not on the bus.
    fn handle(&self, unit: u8, request: Request<'static>) -> (Option<Fault>, Answer) {
        let mut state = self.state.lock().unwrap();
        state.log.push(Logged {
            at: Instant::now(),
            unit,
            request: request.clone(),
        });
        let fault = state
            .faults
            .iter_mut()
            .find(|armed| armed.remaining > 0 && (armed.matches)(unit, &request))
            .map(|armed| {
                armed.remaining -= 1;
                armed.fault
            });
        let Some(board) = state.units.iter_mut().find(|u| u.id == unit) else {
            return (None, Ok(None));
        };
        if let Some(Fault::Exception(code)) = fault {
            return (fault, Err(code));
        }
        (fault, apply(board, request).map(Some))
    }
}

type Answer = Result<Option<Response>, ExceptionCode>;

fn span<T: Copy>(points: &[T], first: u16, count: u16) -> Result<Vec<T>, ExceptionCode> {
    let (first, count) = (usize::from(first), usize::from(count));
    points
        .get(first..first + count)
        .map(<[T]>::to_vec)
        .ok_or(ExceptionCode::IllegalDataAddress)
}

fn point<T>(points: &mut [T], at: u16) -> Result<&mut T, ExceptionCode> {
    points
        .get_mut(usize::from(at))
        .ok_or(ExceptionCode::IllegalDataAddress)
}

fn apply(unit: &mut Unit, request: Request<'static>) -> Result<Response, ExceptionCode> {
    match request {
        Request::ReadCoils(first, n) => Ok(Response::ReadCoils(span(&unit.coils, first, n)?)),
        Request::ReadDiscreteInputs(first, n) => {
            Ok(Response::ReadDiscreteInputs(span(&unit.inputs, first, n)?))
        }
        Request::ReadHoldingRegisters(first, n) => Ok(Response::ReadHoldingRegisters(span(
            &unit.registers,
            first,
            n,
        )?)),
        // Waveshare: coil 0x00FF switches every relay of the board.
        Request::WriteSingleCoil(0x00FF, on) => {
            unit.coils.fill(on);
            Ok(Response::WriteSingleCoil(0x00FF, on))
        }
        Request::WriteSingleCoil(coil, on) => {
            *point(&mut unit.coils, coil)? = on;
            Ok(Response::WriteSingleCoil(coil, on))
        }
        Request::WriteSingleRegister(register, value) => {
            *point(&mut unit.registers, register)? = value;
            Ok(Response::WriteSingleRegister(register, value))
        }
        _ => Err(ExceptionCode::IllegalFunction),
    }
}

impl Service for Emulator {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = Answer> + Send>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let (fault, answer) = self.handle(req.slave, req.request);
        Box::pin(async move {
            if let Some(Fault::LateAnswer(delay)) = fault {
                sleep(delay).await;
            }
            answer
        })
    }
}
