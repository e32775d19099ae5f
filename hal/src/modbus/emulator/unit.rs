//! What one emulated unit does with a request: its coils, registers and inputs, and the
//! answer it gives.

use tokio_modbus::{ExceptionCode, Request, Response};

/// How many coils, holding registers and discrete inputs each unit has.
pub const POINTS: usize = 256;

/// The Waveshare coil that switches every relay of its board at once.
pub(super) const ALL_RELAYS: u16 = 0x00FF;

pub(super) type Answer = Result<Response, ExceptionCode>;

pub(super) struct Unit {
    pub(super) coils: Vec<bool>,
    pub(super) registers: Vec<u16>,
    pub(super) inputs: Vec<bool>,
}

impl Unit {
    pub(super) fn new() -> Self {
        Self {
            coils: vec![false; POINTS],
            registers: vec![0; POINTS],
            inputs: vec![false; POINTS],
        }
    }
}

/// Whether `request` switches relay `coil` on.
pub(super) fn energizes(request: &Request<'_>, coil: u16) -> bool {
    match *request {
        Request::WriteSingleCoil(at, true) => at == coil || at == ALL_RELAYS,
        Request::WriteSingleRegister(register, value) => {
            Some(register) == coil.checked_add(1) && matches!(value >> 8, 0x01 | 0x06)
        }
        _ => false,
    }
}

/// A well-formed answer that fits no request of `request`'s function.
pub(super) fn wrong_function(request: &Request<'_>) -> Response {
    match request {
        Request::ReadHoldingRegisters(..) => Response::ReadCoils(vec![true]),
        _ => Response::ReadHoldingRegisters(vec![0xBAD0]),
    }
}

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

pub(super) fn apply(unit: &mut Unit, request: &Request<'static>) -> Answer {
    match *request {
        Request::ReadCoils(first, n) => Ok(Response::ReadCoils(span(&unit.coils, first, n)?)),
        Request::ReadDiscreteInputs(first, n) => {
            Ok(Response::ReadDiscreteInputs(span(&unit.inputs, first, n)?))
        }
        Request::ReadHoldingRegisters(first, n) => Ok(Response::ReadHoldingRegisters(span(
            &unit.registers,
            first,
            n,
        )?)),
        Request::WriteSingleCoil(ALL_RELAYS, on) => {
            unit.coils.fill(on);
            Ok(Response::WriteSingleCoil(ALL_RELAYS, on))
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
