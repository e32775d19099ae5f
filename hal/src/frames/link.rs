//! [`Link`]: one request at a time to a bus of boards, each answer ended by its checksum and the
//! line going quiet, each exchange bounded by the request timeout.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_serial::SerialStream;

use super::{BoardError, FrameCheck, hex};
use crate::ErrorKind;

/// How the bus is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// An RS485 adapter, 8N1 at `baud`.
    Serial { device: PathBuf, baud: u32 },
    /// A serial-to-TCP bridge (Kerong's KR-BU, or any transparent one): `host:port`.
    Tcp { address: String },
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for S {}

/// The connection to one bus, opened on first use and after every failure.
pub struct Link {
    transport: Transport,
    timeout: Duration,
    /// How long the line must stay silent after a frame whose checksum is right before it
    /// counts as ended: longer replies of the same protocol may follow a valid prefix.
    quiet: Duration,
    stream: Option<Box<dyn Stream>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("transport", &self.transport)
            .field("timeout", &self.timeout)
            .field("connected", &self.stream.is_some())
            .finish_non_exhaustive()
    }
}

/// What an exchange came back with.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// A frame whose checksum is right.
    Frame(Vec<u8>),
    /// Nothing within the timeout.
    Silence,
}

impl Link {
    pub fn new(transport: Transport, timeout: Duration) -> Self {
        let quiet = match &transport {
            // 3.5 characters of 10 bits, as Modbus RTU ends a frame, but never under 5 ms:
            // USB serial adapters deliver bytes in bursts a few milliseconds apart.
            Transport::Serial { baud, .. } => {
                Duration::from_nanos(35_000_000_000 / u64::from((*baud).max(1)))
                    .max(Duration::from_millis(5))
            }
            // A bridge forwards the line in TCP segments: allow for their spacing.
            Transport::Tcp { .. } => Duration::from_millis(20),
        };
        Self {
            transport,
            timeout,
            quiet,
            stream: None,
        }
    }

    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` and reads one answer frame that `check` accepts, within the timeout.
    ///
    /// Silence is an [`Answer`], not an error: some boards do not answer some requests. Bytes
    /// that never form a valid frame are a `Protocol` error (a corrupt or partial reply). Any
    /// error, and silence, drops the connection: the next exchange opens it afresh, so a late
    /// reply cannot pass for the next one's.
    pub async fn exchange(
        &mut self,
        op: &str,
        request: &[u8],
        check: FrameCheck,
        limit: Option<Duration>,
    ) -> Result<Answer, BoardError> {
        let limit = limit.unwrap_or(self.timeout);
        let mut stream = match self.stream.take() {
            Some(stream) => stream,
            None => self.connect().await?,
        };
        let deadline = Instant::now() + limit;
        let send = async {
            stream.write_all(request).await?;
            stream.flush().await
        };
        match timeout_at(deadline, send).await {
            Err(_) => return Err(timed_out(op, limit)),
            Ok(Err(err)) => return Err(BoardError::io(op, &err)),
            Ok(Ok(())) => {}
        }
        let mut buf = Vec::with_capacity(16);
        let mut chunk = [0u8; 64];
        loop {
            let valid = check(&buf);
            let until = if valid {
                Instant::now() + self.quiet
            } else {
                deadline
            };
            match timeout_at(until, stream.read(&mut chunk)).await {
                Ok(Ok(0)) => {
                    let err = io::Error::from(io::ErrorKind::UnexpectedEof);
                    return Err(BoardError::io(op, &err));
                }
                Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
                Ok(Err(err)) => return Err(BoardError::io(op, &err)),
                Err(_) if valid => {
                    self.stream = Some(stream);
                    return Ok(Answer::Frame(buf));
                }
                Err(_) if buf.is_empty() => return Ok(Answer::Silence),
                Err(_) => {
                    let message =
                        format!("{op}: bad reply: {} (checksum or length wrong)", hex(&buf));
                    return Err(BoardError::new(ErrorKind::Protocol, message));
                }
            }
        }
    }

    async fn connect(&self) -> Result<Box<dyn Stream>, BoardError> {
        match &self.transport {
            Transport::Serial { device, baud } => {
                let op = format!("open serial port {}", device.display());
                let port = tokio_serial::new(device.to_string_lossy(), *baud)
                    .data_bits(tokio_serial::DataBits::Eight)
                    .parity(tokio_serial::Parity::None)
                    .stop_bits(tokio_serial::StopBits::One)
                    .flow_control(tokio_serial::FlowControl::None);
                let port = SerialStream::open(&port)
                    .map_err(|err| BoardError::io(&op, &io::Error::other(err)))?;
                // A late answer to a request that timed out may still sit in the buffer.
                tokio_serial::SerialPort::clear(&port, tokio_serial::ClearBuffer::Input)
                    .map_err(|err| BoardError::io(&op, &io::Error::other(err)))?;
                Ok(Box::new(port))
            }
            Transport::Tcp { address } => {
                let op = format!("connect to {address}");
                let stream = match timeout(self.timeout, TcpStream::connect(address.as_str())).await
                {
                    Err(_) => return Err(timed_out(&op, self.timeout)),
                    Ok(Err(err)) => return Err(BoardError::io(&op, &err)),
                    Ok(Ok(stream)) => stream,
                };
                stream
                    .set_nodelay(true)
                    .map_err(|err| BoardError::io(&op, &err))?;
                Ok(Box::new(stream))
            }
        }
    }
}

fn timed_out(op: &str, limit: Duration) -> BoardError {
    BoardError::new(
        ErrorKind::Timeout,
        format!("{op}: no answer within {limit:?}"),
    )
}
