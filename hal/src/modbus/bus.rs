//! The connection to one bus: requests one at a time, each bounded, never on a broken context.
//!
//! tokio-modbus has no timeout of its own, and a context that saw a transport error or a
//! timeout is unusable: a late answer would be read as the answer to the next request (on TCP
//! as a transaction-id mismatch, on RTU as a frame from the wrong exchange). So the context is
//! taken out of the [`Bus`] for the length of each request and put back only after a clean
//! answer (a reply or an exception); any other outcome, including the request future being
//! dropped half-way, leaves the bus unconnected, and the next request opens the serial port or
//! TCP connection afresh.

use std::fmt;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_modbus::client::{Client as _, Context, rtu, tcp};
use tokio_modbus::prelude::SlaveContext as _;
use tokio_modbus::{Request, Response, Slave};
use tokio_serial::{ClearBuffer, DataBits, FlowControl, SerialPort as _, SerialStream};

use super::{ModbusError, Parity, StopBits, Transport};

/// One bus and its connection, opened on first use and after every failure.
pub(super) struct Bus {
    transport: Transport,
    timeout: Duration,
    context: Option<Context>,
    /// The silent interval RTU requires between frames; zero on TCP.
    gap: Duration,
    /// When the last exchange ended, so the next frame starts no earlier than `gap` after it.
    quiet_since: Option<Instant>,
    /// When the last request went out, after any connect and gap.
    sent_at: Instant,
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bus")
            .field("transport", &self.transport)
            .field("timeout", &self.timeout)
            .field("connected", &self.context.is_some())
            .finish_non_exhaustive()
    }
}

impl Bus {
    /// A bus that connects on its first request.
    pub(super) fn new(transport: Transport, timeout: Duration) -> Self {
        let gap = match &transport {
            Transport::Rtu {
                baud,
                parity,
                stop_bits,
                ..
            } => silent_interval(*baud, *parity, *stop_bits),
            Transport::Tcp { .. } => Duration::ZERO,
        };
        Self {
            transport,
            timeout,
            context: None,
            gap,
            quiet_since: None,
            sent_at: Instant::now(),
        }
    }

    /// When the last request was sent: what a pulse is timed from, as connecting and waiting
    /// for the line to go quiet come before it.
    pub(super) fn sent_at(&self) -> Instant {
        self.sent_at
    }

    /// Send `request` to `unit` and wait for its answer, within the timeout.
    ///
    /// A Modbus exception is returned as a [`ModbusError`] of kind `Device`; the connection is
    /// kept, as the exchange itself completed.
    pub(super) async fn call(
        &mut self,
        unit: u8,
        request: Request<'static>,
    ) -> Result<Response, ModbusError> {
        let op = Op {
            unit,
            request: request.clone(),
        };
        let mut context = match self.context.take() {
            Some(context) => context,
            None => connect(&self.transport, self.timeout).await?,
        };
        if let Some(quiet_since) = self.quiet_since.filter(|_| !self.gap.is_zero()) {
            sleep_until(quiet_since + self.gap).await;
        }
        context.set_slave(Slave(unit));
        self.sent_at = Instant::now();
        let outcome = timeout(self.timeout, context.call(request)).await;
        self.quiet_since = Some(Instant::now());
        match outcome {
            Err(_elapsed) => Err(ModbusError::timeout(op, self.timeout)),
            Ok(Err(err)) => Err(ModbusError::from_modbus(op, err)),
            Ok(Ok(Err(code))) => {
                self.context = Some(context);
                Err(ModbusError::exception(op, code))
            }
            Ok(Ok(Ok(response))) => {
                // A write's answer echoes the request; anything else is noise that happened
                // to pass the CRC, and the stream can no longer be trusted.
                if echo(&op.request).is_some_and(|echo| echo != response) {
                    let detail = format!("{response:?} does not echo the request");
                    return Err(ModbusError::garbled(op, detail));
                }
                self.context = Some(context);
                Ok(response)
            }
        }
    }
}

/// Open the serial port or TCP connection.
///
/// A free function rather than a method: `Context` is not `Sync`, so a future holding `&Bus`
/// across an await would not be `Send`.
async fn connect(transport: &Transport, limit: Duration) -> Result<Context, ModbusError> {
    match transport {
        Transport::Rtu {
            device,
            baud,
            parity,
            stop_bits,
        } => {
            let op = format!("open serial port {}", device.display());
            let builder = tokio_serial::new(device.to_string_lossy(), *baud)
                .data_bits(DataBits::Eight)
                .parity(match parity {
                    Parity::None => tokio_serial::Parity::None,
                    Parity::Even => tokio_serial::Parity::Even,
                    Parity::Odd => tokio_serial::Parity::Odd,
                })
                .stop_bits(match stop_bits {
                    StopBits::One => tokio_serial::StopBits::One,
                    StopBits::Two => tokio_serial::StopBits::Two,
                })
                .flow_control(FlowControl::None);
            let port =
                SerialStream::open(&builder).map_err(|err| ModbusError::from_serial(&op, &err))?;
            // A late answer to a request that timed out may still sit in the driver's buffer,
            // where it would pass for the answer to the next request.
            port.clear(ClearBuffer::Input)
                .map_err(|err| ModbusError::from_serial(&op, &err))?;
            Ok(rtu::attach(port))
        }
        Transport::Tcp { address } => {
            let op = format!("connect to {address}");
            let stream = match timeout(limit, TcpStream::connect(address.as_str())).await {
                Err(_elapsed) => return Err(ModbusError::timeout(op, limit)),
                Ok(Err(err)) => return Err(ModbusError::from_io(op, &err)),
                Ok(Ok(stream)) => stream,
            };
            // Each request is one small frame awaiting its answer: never hold it back.
            stream
                .set_nodelay(true)
                .map_err(|err| ModbusError::from_io(&op, &err))?;
            Ok(tcp::attach(stream))
        }
    }
}

/// The RTU silent interval: 3.5 character times, or a fixed 1.75 ms above 19200 baud (Modbus
/// over Serial Line, 2.5.1.1), where the character time gets too short for timers to honour.
fn silent_interval(baud: u32, parity: Parity, stop_bits: StopBits) -> Duration {
    if baud > 19_200 {
        return Duration::from_micros(1_750);
    }
    let parity_bits = u64::from(parity != Parity::None);
    let stop_bits = match stop_bits {
        StopBits::One => 1,
        StopBits::Two => 2,
    };
    let bits_per_char = 1 + 8 + parity_bits + stop_bits;
    Duration::from_nanos(bits_per_char * 3_500_000_000 / u64::from(baud.max(1)))
}

/// The answer a write must echo.
fn echo(request: &Request<'_>) -> Option<Response> {
    match *request {
        Request::WriteSingleCoil(coil, on) => Some(Response::WriteSingleCoil(coil, on)),
        Request::WriteSingleRegister(register, value) => {
            Some(Response::WriteSingleRegister(register, value))
        }
        _ => None,
    }
}

/// A request as named in error messages: `unit 2: write coil 5 on`.
struct Op {
    unit: u8,
    request: Request<'static>,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unit {}: ", self.unit)?;
        match &self.request {
            Request::WriteSingleCoil(coil, on) => {
                write!(f, "write coil {coil} {}", if *on { "on" } else { "off" })
            }
            Request::WriteSingleRegister(register, value) => {
                write!(f, "write register {register} = 0x{value:04X}")
            }
            Request::ReadDiscreteInputs(first, count) => {
                write!(f, "read {count} inputs from {first}")
            }
            Request::ReadCoils(first, count) => write!(f, "read {count} coils from {first}"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_interval_is_three_and_a_half_characters() {
        // 8N1: 10 bits a character; 3.5 × 10 / 9600 s.
        assert_eq!(
            silent_interval(9_600, Parity::None, StopBits::One),
            Duration::from_nanos(3_645_833)
        );
        // 8E1 and 8N2: 11 bits.
        assert_eq!(
            silent_interval(9_600, Parity::Even, StopBits::One),
            Duration::from_nanos(4_010_416)
        );
        assert_eq!(
            silent_interval(19_200, Parity::None, StopBits::Two),
            Duration::from_nanos(2_005_208)
        );
    }

    #[test]
    fn silent_interval_is_fixed_above_19200_baud() {
        assert_eq!(
            silent_interval(115_200, Parity::Odd, StopBits::Two),
            Duration::from_micros(1_750)
        );
    }

    #[test]
    fn ops_are_named_for_people() {
        let op = |request| Op { unit: 3, request }.to_string();
        assert_eq!(
            op(Request::WriteSingleCoil(5, true)),
            "unit 3: write coil 5 on"
        );
        assert_eq!(
            op(Request::WriteSingleRegister(2, 0x0601)),
            "unit 3: write register 2 = 0x0601"
        );
        assert_eq!(
            op(Request::ReadDiscreteInputs(0, 8)),
            "unit 3: read 8 inputs from 0"
        );
    }
}
