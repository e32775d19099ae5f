//! Emulated lock-control boards for the tests and benchmarks of the `kerong` and `lockboard`
//! drivers, the daemon and the commissioning CLI. Built only with the `emulator` feature.
//!
//! A [`Cabinet`] is a bus of emulated boards behind one clonable handle. Its locks have
//! physics: an unlock releases the hook and the door springs open (the lock reads unlatched)
//! unless the lock is stuck; a test shuts a door with [`Cabinet::close`]. It records every
//! request frame it receives ([`Cabinet::received`]), with bad checksums too, and misbehaves on
//! demand: a silent board, faults on the next answers ([`Fault`]: silence, a corrupted or a
//! partial reply). [`Cabinet::pace`] makes it take each frame's wire time at a baud rate, as a
//! real line would, where a pseudo-terminal delivers bytes at once.
//!
//! What a board does with a frame is its protocol's ([`Protocol`], in `kerong::emulator` and
//! `lockboard::emulator`); those compute their checksums themselves, never with the driver's
//! code, so a test cannot pass because both sides share a mistake. Served on a pseudo-terminal
//! pair ([`serve_pty`]) or a loopback TCP port ([`serve_tcp`]).

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until};
use tokio_serial::{SerialPort as _, SerialStream};

/// One lock of an emulated board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockState {
    /// The hook holds the door shut.
    pub latched: bool,
    /// The infrared sensor sees something inside.
    pub occupied: bool,
    /// An unlock does not release it.
    pub stuck: bool,
}

/// One emulated board.
#[derive(Debug, Clone)]
pub struct BoardState {
    pub locks: Vec<LockState>,
    /// Answers nothing at all.
    pub silent: bool,
    /// Answers an unlock (some Kerong boards answer with a status frame, some not at all).
    pub answers_unlock: bool,
    /// How long the board takes to answer an unlock (8A boards: about a second).
    pub unlock_delay: Duration,
    /// 8A boards: the status value of a latched lock is `0x11` (else `0x00`).
    pub eleven_is_latched: bool,
}

impl BoardState {
    /// Lock `lock` (1-based), if the board has it.
    pub fn lock(&mut self, lock: u8) -> Option<&mut LockState> {
        self.locks.get_mut(usize::from(lock).checked_sub(1)?)
    }

    /// Releases `lock` (1-based) as an unlock does: the door springs open unless it is stuck.
    pub fn release(&mut self, lock: u8) {
        if let Some(l) = self.lock(lock).filter(|l| !l.stuck) {
            l.latched = false;
        }
    }
}

/// What a board does with request frames of its protocol.
pub trait Protocol: Send + Sync + 'static {
    /// The request frame's length.
    fn frame_len(&self) -> usize {
        5
    }
    /// Whether `byte` can start a request frame; others are line noise and skipped.
    fn starts(&self, byte: u8) -> bool;
    /// Whether the frame's checksum is right (boards ignore frames whose checksum is not).
    fn check(&self, frame: &[u8]) -> bool;
    /// The board the frame is for.
    fn board(&self, frame: &[u8]) -> u8;
    /// Carries the frame out on `board` and returns its answer, if it gives one, and how long
    /// the board takes before it starts sending it.
    fn answer(&self, frame: &[u8], board: &mut BoardState) -> Option<(Vec<u8>, Duration)>;
}

/// What the next answers suffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No answer, and the request is not carried out.
    Silent,
    /// The answer's last byte (its checksum) is flipped.
    Corrupt,
    /// Only the first half of the answer is sent.
    Partial,
}

/// One request frame the cabinet received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// When its last byte was in (with [`Cabinet::pace`], when it would have been on the wire).
    pub at: Instant,
    pub bytes: Vec<u8>,
    /// Its checksum was right.
    pub valid: bool,
}

struct State {
    boards: BTreeMap<u8, BoardState>,
    faults: VecDeque<Fault>,
    received: Vec<Received>,
    /// Time of one character on the line (10 bits), when paced.
    char_time: Option<Duration>,
}

/// A bus of emulated boards of one protocol.
#[derive(Clone)]
pub struct Cabinet {
    state: Arc<Mutex<State>>,
    protocol: Arc<dyn Protocol>,
}

impl Cabinet {
    /// Boards `(address, locks)`, every lock latched and empty.
    pub fn new(protocol: impl Protocol, boards: &[(u8, u8)]) -> Self {
        let boards = boards
            .iter()
            .map(|&(id, locks)| {
                let lock = LockState {
                    latched: true,
                    occupied: false,
                    stuck: false,
                };
                let board = BoardState {
                    locks: vec![lock; usize::from(locks)],
                    silent: false,
                    answers_unlock: true,
                    unlock_delay: Duration::ZERO,
                    eleven_is_latched: true,
                };
                (id, board)
            })
            .collect();
        Self {
            state: Arc::new(Mutex::new(State {
                boards,
                faults: VecDeque::new(),
                received: Vec::new(),
                char_time: None,
            })),
            protocol: Arc::new(protocol),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes board `board` (which must exist).
    pub fn board<R>(&self, board: u8, change: impl FnOnce(&mut BoardState) -> R) -> R {
        let mut state = self.state();
        change(
            state
                .boards
                .get_mut(&board)
                .expect("no such emulated board"),
        )
    }

    fn lock<R>(&self, board: u8, lock: u8, change: impl FnOnce(&mut LockState) -> R) -> R {
        self.board(board, |b| {
            change(b.lock(lock).expect("no such emulated lock"))
        })
    }

    /// A hand shuts the door: the hook latches.
    pub fn close(&self, board: u8, lock: u8) {
        self.lock(board, lock, |l| l.latched = true);
    }

    /// The door is pulled open without an unlock (forced).
    pub fn force_open(&self, board: u8, lock: u8) {
        self.lock(board, lock, |l| l.latched = false);
    }

    pub fn is_latched(&self, board: u8, lock: u8) -> bool {
        self.lock(board, lock, |l| l.latched)
    }

    pub fn set_occupied(&self, board: u8, lock: u8, occupied: bool) {
        self.lock(board, lock, |l| l.occupied = occupied);
    }

    pub fn set_stuck(&self, board: u8, lock: u8, stuck: bool) {
        self.lock(board, lock, |l| l.stuck = stuck);
    }

    /// A board that stops answering (unplugged, its power gone), or answers again.
    pub fn set_silent(&self, board: u8, silent: bool) {
        self.board(board, |b| b.silent = silent);
    }

    /// The next `count` answers suffer `fault`.
    pub fn inject(&self, fault: Fault, count: usize) {
        self.state()
            .faults
            .extend(std::iter::repeat_n(fault, count));
    }

    /// Every frame received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.state().received.clone()
    }

    /// The bytes of every frame received so far.
    pub fn frames(&self) -> Vec<Vec<u8>> {
        self.state()
            .received
            .iter()
            .map(|r| r.bytes.clone())
            .collect()
    }

    pub fn clear_received(&self) {
        self.state().received.clear();
    }

    /// Takes each frame's wire time at `baud` (10 bits a character), both ways.
    pub fn pace(&self, baud: u32) {
        self.state().char_time = Some(Duration::from_nanos(10_000_000_000 / u64::from(baud)));
    }

    /// Serves the cabinet on `stream` until it ends.
    pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(&self, mut stream: S) -> io::Result<()> {
        let len = self.protocol.frame_len();
        let mut frame = Vec::with_capacity(len);
        let mut first_at = Instant::now();
        let mut chunk = [0u8; 64];
        loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            for &byte in &chunk[..n] {
                if frame.is_empty() {
                    if !self.protocol.starts(byte) {
                        continue;
                    }
                    first_at = Instant::now();
                }
                frame.push(byte);
                if frame.len() == len {
                    if let Some(answer) = self.handle(&frame, first_at).await {
                        stream.write_all(&answer).await?;
                        stream.flush().await?;
                    }
                    frame.clear();
                }
            }
        }
    }

    /// Records the frame, carries it out and returns the answer to send, after its delays.
    async fn handle(&self, frame: &[u8], first_at: Instant) -> Option<Vec<u8>> {
        let char_time = self.state().char_time;
        let wire = |bytes: usize| char_time.map_or(Duration::ZERO, |c| c * bytes as u32);
        let at = (first_at + wire(frame.len())).max(Instant::now());
        sleep_until(at).await;
        let valid = self.protocol.check(frame);
        let (answer, delay) = {
            let mut state = self.state();
            state.received.push(Received {
                at,
                bytes: frame.to_vec(),
                valid,
            });
            if !valid {
                return None;
            }
            let id = self.protocol.board(frame);
            if state.boards.get(&id).is_none_or(|b| b.silent) {
                return None;
            }
            let fault = state.faults.pop_front();
            if fault == Some(Fault::Silent) {
                return None;
            }
            let board = state.boards.get_mut(&id)?;
            let (mut answer, delay) = self.protocol.answer(frame, board)?;
            match fault {
                Some(Fault::Corrupt) => *answer.last_mut()? ^= 0x5A,
                Some(Fault::Partial) => answer.truncate(answer.len() / 2),
                _ => {}
            }
            (answer, delay)
        };
        sleep(delay).await;
        sleep(wire(answer.len())).await;
        Some(answer)
    }
}

/// Serves `cabinet` on one end of a pseudo-terminal pair; returns the path a driver opens, as it
/// would `/dev/ttyUSB0`, and the other end, to be kept open while the driver reopens the path
/// (a pty whose last slave closes stops serving).
pub fn serve_pty(cabinet: Cabinet) -> io::Result<(PathBuf, SerialStream, JoinHandle<()>)> {
    let (server_end, driver_end) = SerialStream::pair().map_err(io::Error::other)?;
    let path: PathBuf = driver_end
        .name()
        .ok_or_else(|| io::Error::other("the pty has no path"))?
        .into();
    let task = tokio::spawn(async move {
        let _ = cabinet.serve(server_end).await;
    });
    Ok((path, driver_end, task))
}

/// Serves `cabinet` on a loopback TCP port, one connection at a time, as a serial-to-TCP bridge
/// would.
pub async fn serve_tcp(cabinet: Cabinet) -> io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let _ = cabinet.serve(stream).await;
        }
    });
    Ok((address, task))
}
