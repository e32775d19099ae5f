//! Generic RS485 lock-control boards with 8A/80 frames (sold by many makers, 8 to 48 locks):
//! board addresses 1..31 by DIP switch, 9600 8N1 (see `docs/hardware.md`).
//!
//! Every frame's last byte is the XOR of the others. The driver sends `8A BB LL 11 X` (unlock
//! lock LL, board-timed) and `80 BB 00 33 X` (query every lock) only; `LL = 00` would unlock
//! every lock of the board and is never sent. A query-all reply is `80 BB Sn .. S1 33 X`, its
//! length depending on the model, so it is ended by checksum and quiet time; bit `i` of S1 is
//! lock `i + 1`, set where a single-lock query would answer `0x11`. Whether `0x11` means latched
//! or open depends on the lock's feedback wiring: [`Feedback`].

#[cfg(feature = "emulator")]
pub mod emulator;

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::frames::{BoardError, Link, StatusRead, Transport};
use crate::{DoorSensor, DoorState, ErrorKind, Latch};

pub const UNLOCK: u8 = 0x8A;
pub const QUERY: u8 = 0x80;
/// Board addresses set by DIP switch.
pub const BOARDS: RangeInclusive<u8> = 1..=31;
/// The most locks one board of this family drives.
pub const MAX_LOCKS: u8 = 48;

/// A lock of one board: `board` 1..=31, `lock` 1..=48.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LockAddr {
    pub board: u8,
    pub lock: u8,
}

/// Which status value means "latched", by how the lock's feedback switch is wired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    /// `0x11` (a set bit) is latched.
    ElevenIsClosed,
    /// `0x00` (a clear bit) is latched.
    ZeroIsClosed,
}

/// The XOR of `bytes`.
pub fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

fn frame(head: u8, board: u8, lock: u8, command: u8) -> [u8; 5] {
    let mut frame = [head, board, lock, command, 0];
    frame[4] = xor(&frame[..4]);
    frame
}

/// `8A BB LL 11 X`. `lock` must not be 0 (every lock): [`LockBoardBus`] never builds one.
pub fn unlock(board: u8, lock: u8) -> [u8; 5] {
    frame(UNLOCK, board, lock, 0x11)
}

/// `80 BB LL 33 X`: one lock (`lock` > 0) or every lock of the board (`lock` 0).
pub fn query(board: u8, lock: u8) -> [u8; 5] {
    frame(QUERY, board, lock, 0x33)
}

/// Whether `frame` is a whole 8A/80 frame with a right XOR.
pub fn frame_ok(frame: &[u8]) -> bool {
    let n = frame.len();
    n >= 5 && matches!(frame[0], UNLOCK | QUERY) && xor(&frame[..n - 1]) == frame[n - 1]
}

/// One board's answer to a query-all: bit `i` of `bits` is lock `i + 1`, set where the lock
/// answers `0x11`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardStatus {
    pub board: u8,
    pub bits: Vec<bool>,
}

impl BoardStatus {
    /// Parses `80 BB Sn .. S1 33 X` from `board`.
    pub fn parse(board: u8, frame: &[u8]) -> Option<BoardStatus> {
        let n = frame.len();
        let ok = n >= 5 && frame[0] == QUERY && frame[1] == board && frame[n - 2] == 0x33;
        ok.then(|| {
            let bytes = &frame[2..n - 2];
            let bits = bytes
                .iter()
                .rev()
                .flat_map(|byte| (0..8).map(move |i| byte & (1 << i) != 0))
                .collect();
            BoardStatus { board, bits }
        })
    }

    /// Whether lock `lock` (1-based) answered `0x11`; `None` past the board's locks.
    pub fn eleven(&self, lock: u8) -> Option<bool> {
        self.bits.get(usize::from(lock).checked_sub(1)?).copied()
    }
}

/// A query-all of one board.
const STATUS_READ: StatusRead<BoardStatus> = StatusRead {
    what: "query all",
    request: |board| query(board, 0),
    check: frame_ok,
    parse: BoardStatus::parse,
};

/// A bus of 8A/80 boards: latch channel `i` is `latches[i]`, door channel `i` the feedback of
/// `doors[i]`. A door read sends one query-all per board with a door here.
#[derive(Debug)]
pub struct LockBoardBus {
    link: Link,
    feedback: Feedback,
    latches: Vec<LockAddr>,
    doors: Vec<LockAddr>,
    last: BTreeMap<u8, BoardStatus>,
}

impl LockBoardBus {
    pub fn new(
        transport: Transport,
        timeout: Duration,
        feedback: Feedback,
        latches: Vec<LockAddr>,
        doors: Vec<LockAddr>,
    ) -> Self {
        Self {
            link: Link::new(transport, timeout),
            feedback,
            latches,
            doors,
            last: BTreeMap::new(),
        }
    }

    /// Queries every lock of one board.
    pub async fn read_board(&mut self, board: u8) -> Result<BoardStatus, BoardError> {
        STATUS_READ.read(&mut self.link, board).await
    }

    /// The boards in `boards` that answer a query-all. A silent or garbled board is absent.
    pub async fn scan(
        &mut self,
        boards: RangeInclusive<u8>,
    ) -> Result<Vec<BoardStatus>, BoardError> {
        STATUS_READ.scan(&mut self.link, boards, BOARDS).await
    }

    /// Whether a lock whose status reads `eleven` is latched.
    pub fn latched(&self, eleven: bool) -> bool {
        eleven == (self.feedback == Feedback::ElevenIsClosed)
    }
}

impl Latch for LockBoardBus {
    type Error = BoardError;

    fn latch_count(&self) -> usize {
        self.latches.len()
    }

    /// The boards time every pulse themselves: there is no output to switch off.
    async fn all_off(&mut self) -> Result<(), BoardError> {
        Ok(())
    }

    /// Sends one `8A BB LL 11` and waits for its answer (about a second on real boards, within
    /// the bus timeout), so no other frame shares the line with it. The board times the pulse;
    /// an unlock it does not answer is still a sent unlock.
    async fn pulse(&mut self, channel: usize, _duration: Duration) -> Result<(), BoardError> {
        let addr = *self
            .latches
            .get(channel)
            .ok_or_else(|| BoardError::no_channel("latch", channel, self.latches.len()))?;
        if addr.lock == 0 {
            // Lock 0 unlocks every lock of the board.
            let message = format!("board {}: lock 0 is not a lock", addr.board);
            return Err(BoardError::new(ErrorKind::Channel, message));
        }
        let op = format!("board {}: unlock lock {}", addr.board, addr.lock);
        self.link
            .exchange(&op, &unlock(addr.board, addr.lock), frame_ok, None)
            .await?;
        Ok(())
    }
}

impl DoorSensor for LockBoardBus {
    type Error = BoardError;

    fn door_count(&self) -> usize {
        self.doors.len()
    }

    async fn read_doors(&mut self, states: &mut [DoorState]) -> Result<(), BoardError> {
        let mut boards: Vec<u8> = self.doors.iter().map(|a| a.board).collect();
        boards.sort_unstable();
        boards.dedup();
        for board in boards {
            let status = self.read_board(board).await?;
            self.last.insert(board, status);
        }
        for (i, addr) in self.doors.iter().enumerate() {
            let status = &self.last[&addr.board];
            let eleven = status.eleven(addr.lock).ok_or_else(|| {
                let message = format!(
                    "board {}: its status has {} locks, not lock {}",
                    addr.board,
                    status.bits.len(),
                    addr.lock
                );
                BoardError::new(ErrorKind::Protocol, message)
            })?;
            states[i] = DoorState::from_open(!self.latched(eleven));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_match_the_worked_examples() {
        assert_eq!(unlock(1, 1), [0x8A, 0x01, 0x01, 0x11, 0x9B]);
        assert_eq!(query(1, 1), [0x80, 0x01, 0x01, 0x33, 0xB3]);
        assert!(frame_ok(&[0x80, 0x01, 0x01, 0x11, 0x91]));
        assert!(frame_ok(&[0x80, 0x01, 0x01, 0x00, 0x80]));
    }

    #[test]
    fn a_query_all_reply_reads_s1_last() {
        // Two status bytes: S2 (locks 9..16) then S1 (locks 1..8).
        let mut reply = vec![QUERY, 0x03, 0b0000_0001, 0b1000_0010, 0x33, 0];
        let n = reply.len();
        reply[n - 1] = xor(&reply[..n - 1]);
        assert!(frame_ok(&reply));
        let status = BoardStatus::parse(3, &reply).expect("board 3");
        assert_eq!(status.bits.len(), 16);
        assert_eq!(status.eleven(2), Some(true));
        assert_eq!(status.eleven(8), Some(true));
        assert_eq!(status.eleven(9), Some(true));
        assert_eq!(status.eleven(1), Some(false));
        assert_eq!(status.eleven(17), None);
    }
}
