//! The line between the daemon and the emulated boards: Modbus TCP on loopback, or Modbus RTU
//! over a pseudo-terminal pair, directly or through a relay that paces the bytes at the baud
//! rate; or a Kerong KR-CU16 chain on a pseudo-terminal, its emulator pacing each frame at
//! 19200 baud itself (`Cabinet::pace`).
//!
//! A pty moves bytes as fast as memory does, whatever baud rate its ends are set to, so on the
//! plain `rtu` line a frame arrives without its wire time. The `rtu-paced` line puts a relay
//! between two pty pairs that holds each chunk for the time its characters take on a 9600-baud
//! 8N1 line, in both directions (door polls and their answers too), so the figure includes what
//! a real RS485 line adds.

use std::time::Duration;

use anyhow::Context;
use lockerd_hal::frames::emulator::serve_pty;
use lockerd_hal::modbus::emulator::{TcpServer, serve_rtu};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tokio_serial::{SerialPort as _, SerialStream};

use crate::boards::{Boards, KERONG_BAUD};

pub const BAUD: u32 = 9_600;
/// An RTU FC05 request: address, function, coil (2), value (2), CRC (2).
pub const FC05_RTU_BYTES: u32 = 8;
/// A Kerong unlock request: `02 ADDR 31 03 SUM`.
pub const KERONG_UNLOCK_BYTES: u32 = 5;
/// 8N1: start bit, 8 data bits, stop bit.
pub const BITS_PER_CHAR: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Rtu,
    RtuPaced,
    KerongPaced,
}

impl Transport {
    pub const ALL: [Transport; 4] = [
        Transport::Tcp,
        Transport::Rtu,
        Transport::RtuPaced,
        Transport::KerongPaced,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Rtu => "rtu",
            Transport::RtuPaced => "rtu-paced",
            Transport::KerongPaced => "kerong-paced",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp loopback",
            Transport::Rtu => "rtu 9600 8N1 pty",
            Transport::RtuPaced => "rtu 9600 8N1 paced",
            Transport::KerongPaced => "kerong 19200 paced",
        }
    }

    /// Door polling period: a 9600-baud line has less room for polls.
    pub fn poll(self) -> Duration {
        match self {
            Transport::Tcp => Duration::from_millis(20),
            Transport::Rtu | Transport::RtuPaced | Transport::KerongPaced => {
                Duration::from_millis(50)
            }
        }
    }

    /// The boards the line serves.
    pub fn boards(self, compartments: u16) -> Boards {
        match self {
            Transport::KerongPaced => Boards::kerong(),
            _ => Boards::modbus(compartments),
        }
    }

    /// The latch command and the baud rate it crosses the line at: FC05 at 9600, or the Kerong
    /// unlock at 19200; `None` on loopback TCP.
    pub fn frame(self) -> Option<(u32, u32)> {
        match self {
            Transport::Tcp => None,
            Transport::Rtu | Transport::RtuPaced => Some((FC05_RTU_BYTES, BAUD)),
            Transport::KerongPaced => Some((KERONG_UNLOCK_BYTES, KERONG_BAUD)),
        }
    }

    /// The latch command's time on the wire at the baud rate: what no software can go below.
    pub fn physical_floor(self) -> Option<Duration> {
        self.frame().map(|(bytes, baud)| char_time_at(baud) * bytes)
    }
}

fn char_time() -> Duration {
    char_time_at(BAUD)
}

/// One 8N1 character's time at `baud`.
pub fn char_time_at(baud: u32) -> Duration {
    Duration::from_secs(u64::from(BITS_PER_CHAR)) / baud
}

/// What keeps the emulated boards served; dropped (and stopped) with the bench.
pub struct Line {
    _tcp: Option<TcpServer>,
    tasks: Vec<JoinHandle<()>>,
    /// The daemon's end of the pty, kept open: a pty whose last slave closes stops serving
    /// its master.
    _daemon_end: Option<SerialStream>,
}

impl Drop for Line {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Serves `boards` on `transport`; returns the daemon's `[[bus]]` keys for it (driver and
/// where) and the line.
pub async fn serve(transport: Transport, boards: &Boards) -> anyhow::Result<(String, Line)> {
    let board = match boards {
        Boards::Modbus(board) => board,
        Boards::Kerong(cabinet) => {
            let (device, daemon_end, task) = serve_pty(cabinet.clone())?;
            let bus = format!(
                "driver = \"kerong-cu\"\ndevice = \"{}\"\nbaud = {KERONG_BAUD}\nenergize = \"50ms\"\n",
                device.display()
            );
            let line = Line {
                _tcp: None,
                tasks: vec![task],
                _daemon_end: Some(daemon_end),
            };
            return Ok((bus, line));
        }
    };
    if transport == Transport::Tcp {
        let server = TcpServer::start(board.clone()).await?;
        let bus = format!(
            "driver = \"modbus-tcp\"\nprofile = \"generic\"\naddress = \"{}\"\n",
            server.addr()
        );
        let line = Line {
            _tcp: Some(server),
            tasks: vec![],
            _daemon_end: None,
        };
        return Ok((bus, line));
    }
    let (daemon_master, daemon_end) = SerialStream::pair().context("pty pair")?;
    let device = daemon_end.name().context("the pty has no path")?;
    let tasks = match transport {
        Transport::RtuPaced => {
            let (server_end, relay_end) = SerialStream::pair().context("pty pair")?;
            let server = serve_rtu(board.clone(), server_end);
            vec![server, tokio::spawn(relay(daemon_master, relay_end))]
        }
        _ => vec![serve_rtu(board.clone(), daemon_master)],
    };
    let bus = format!(
        "driver = \"modbus-rtu\"\nprofile = \"generic\"\ndevice = \"{device}\"\nbaud = {BAUD}\n"
    );
    let line = Line {
        _tcp: None,
        tasks,
        _daemon_end: Some(daemon_end),
    };
    Ok((bus, line))
}

/// Carries bytes both ways between `a` and `b`, each direction at the baud rate.
async fn relay(a: SerialStream, b: SerialStream) {
    let (a_in, a_out) = tokio::io::split(a);
    let (b_in, b_out) = tokio::io::split(b);
    let _ = tokio::join!(pace(a_in, b_out), pace(b_in, a_out));
}

/// Copies `from` to `to`, delivering each chunk when its last character would have arrived
/// on the wire. Back-to-back chunks queue behind each other, as characters on a line do.
async fn pace(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
) -> std::io::Result<()> {
    let mut buf = [0u8; 512];
    let mut line_free = Instant::now();
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        let chars = u32::try_from(n).expect("a small buffer");
        line_free = line_free.max(Instant::now()) + char_time() * chars;
        arrive_at(line_free).await;
        to.write_all(&buf[..n]).await?;
    }
}

/// Waits until `deadline` more precisely than tokio's millisecond timer: sleeps until a
/// millisecond before, then yields until it passes (a frame is 8.33 ms; a whole millisecond
/// of rounding would be a tenth of it).
async fn arrive_at(deadline: Instant) {
    sleep_until(deadline - Duration::from_millis(1)).await;
    while Instant::now() < deadline {
        tokio::task::yield_now().await;
    }
}
