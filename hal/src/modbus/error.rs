//! [`ModbusError`]: a failed bus operation, reduced to an [`ErrorKind`] and a message.
//!
//! The mapping decides what the controller does next, so it follows what a failure says about
//! the bus: no answer is `Timeout`; a connection that cannot be made or broke is
//! `Disconnected`; bytes that are not a valid answer are `Protocol`; a well-formed exception
//! reply is `Device` (the bus works, the board refused).

use std::fmt;
use std::io;
use std::time::Duration;

use tokio_modbus::ExceptionCode;

use crate::ErrorKind;

/// An error of the Modbus driver.
///
/// The message names the operation that failed (`unit 2: write coil 5 on: ...`) and the cause,
/// so it can be shown as is in logs, `/healthz` and the commissioning CLI.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ModbusError {
    kind: ErrorKind,
    message: String,
}

/// Exceptions by which a TCP-to-RTU gateway says the unit behind it did not answer: the same
/// failure as a timeout on a bus of one's own, not a refusal by the device.
const GATEWAY_NO_ANSWER: [ExceptionCode; 2] = [
    ExceptionCode::GatewayPathUnavailable,
    ExceptionCode::GatewayTargetDevice,
];

impl ModbusError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// No answer to `op` within `timeout`.
    pub(crate) fn timeout(op: impl fmt::Display, timeout: Duration) -> Self {
        Self::new(
            ErrorKind::Timeout,
            format!("{op}: no answer within {timeout:?}"),
        )
    }

    /// The device (or a gateway in front of it) answered `op` with a Modbus exception.
    pub(crate) fn exception(op: impl fmt::Display, code: ExceptionCode) -> Self {
        let kind = if GATEWAY_NO_ANSWER.contains(&code) {
            ErrorKind::Timeout
        } else {
            ErrorKind::Device
        };
        Self::new(
            kind,
            format!("{op}: exception 0x{:02X} ({code})", u8::from(code)),
        )
    }

    /// An answer to `op` that does not fit the request.
    pub(crate) fn garbled(op: impl fmt::Display, detail: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Protocol, format!("{op}: bad reply: {detail}"))
    }

    /// A tokio-modbus transport or protocol failure during `op`.
    pub(crate) fn from_modbus(op: impl fmt::Display, err: tokio_modbus::Error) -> Self {
        match err {
            tokio_modbus::Error::Protocol(err) => Self::garbled(op, err),
            tokio_modbus::Error::Transport(err) => Self::from_io(op, &err),
        }
    }

    /// An I/O failure during `op`.
    ///
    /// Invalid data comes from tokio-modbus's frame decoders (bad CRC, bad length, bad MBAP
    /// header). Every other I/O error means the connection is gone or never came up: refused,
    /// reset, broken pipe, end of stream, a serial device that vanished. (At end of stream
    /// tokio-modbus's TCP client reports whatever the last OS error was, so the kind of those
    /// errors cannot be trusted to say more.)
    pub(crate) fn from_io(op: impl fmt::Display, err: &io::Error) -> Self {
        let kind = match err.kind() {
            io::ErrorKind::InvalidData => ErrorKind::Protocol,
            io::ErrorKind::TimedOut => ErrorKind::Timeout,
            _ => ErrorKind::Disconnected,
        };
        Self::new(kind, format!("{op}: {err}"))
    }

    /// A failure to open the serial port.
    pub(crate) fn from_serial(op: impl fmt::Display, err: &tokio_serial::Error) -> Self {
        let kind = match err.kind {
            // Settings the port or driver does not accept: a configuration mistake.
            tokio_serial::ErrorKind::InvalidInput => ErrorKind::Other,
            _ => ErrorKind::Disconnected,
        };
        Self::new(kind, format!("{op}: {err}"))
    }
}

impl crate::Error for ModbusError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error as _;

    #[test]
    fn io_errors_map_to_what_they_say_about_the_bus() {
        let kind = |k| ModbusError::from_io("op", &io::Error::from(k)).kind();
        assert_eq!(
            kind(io::ErrorKind::ConnectionRefused),
            ErrorKind::Disconnected
        );
        assert_eq!(kind(io::ErrorKind::NotFound), ErrorKind::Disconnected);
        assert_eq!(kind(io::ErrorKind::BrokenPipe), ErrorKind::Disconnected);
        assert_eq!(kind(io::ErrorKind::UnexpectedEof), ErrorKind::Disconnected);
        assert_eq!(kind(io::ErrorKind::InvalidData), ErrorKind::Protocol);
        assert_eq!(kind(io::ErrorKind::TimedOut), ErrorKind::Timeout);
    }

    #[test]
    fn an_exception_names_its_code() {
        let err = ModbusError::exception("unit 1: read inputs", ExceptionCode::IllegalDataAddress);
        assert_eq!(err.kind(), ErrorKind::Device);
        assert_eq!(
            err.to_string(),
            "unit 1: read inputs: exception 0x02 (Illegal data address)"
        );
    }

    #[test]
    fn a_gateway_without_answer_from_its_unit_is_a_timeout() {
        let err = ModbusError::exception("unit 9: read coils", ExceptionCode::GatewayTargetDevice);
        assert_eq!(err.kind(), ErrorKind::Timeout);
    }
}
