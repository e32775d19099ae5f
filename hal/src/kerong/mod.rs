//! Kerong KR-CU16 lock-control boards: 16 board-timed locks a board, hook feedback, optional
//! infrared occupancy sensors, boards 0..15 daisy-chained on RS485 (19200 8N1) or behind a
//! KR-BU TCP bridge (see `docs/hardware.md`).
//!
//! Requests are `02 ADDR CMD 03 SUM` with `ADDR = board << 4 | lock - 1` and `SUM` the low byte
//! of the sum of the bytes before it. The driver sends `0x30` (read one board) and `0x31`
//! (unlock one lock) only; the board times the pulse itself, so there is no "off" to send, and
//! `0x33` (unlock every lock of a board) is never sent. A reply is
//! `02 ADDR 35 D1 D2 D3 D4 03 SUM`: D1/D2 the hooks of locks 1..16 (1 = latched, i.e. door
//! shut), D3/D4 the infrared sensors (1 = something inside).

#[cfg(feature = "emulator")]
pub mod emulator;

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::frames::link::Answer;
use crate::frames::{BoardError, Link, StatusRead, Transport};
use crate::{DoorSensor, DoorState, Latch};

/// Read one board.
pub const READ: u8 = 0x30;
/// Unlock one lock.
pub const UNLOCK: u8 = 0x31;
/// A board's answer to a read (and, on some boards, to an unlock).
pub const STATUS: u8 = 0x35;
/// Board ids set by DIP switch.
pub const BOARDS: RangeInclusive<u8> = 0..=15;
/// Locks a board drives.
pub const LOCKS: RangeInclusive<u8> = 1..=16;

/// A lock of one board: `board` 0..=15, `lock` 1..=16.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LockAddr {
    pub board: u8,
    pub lock: u8,
}

/// The request frame `02 ADDR CMD 03 SUM`.
pub fn request(board: u8, lock_index: u8, command: u8) -> [u8; 5] {
    let addr = (board << 4) | (lock_index & 0x0F);
    let mut frame = [0x02, addr, command, 0x03, 0];
    frame[4] = sum(&frame[..4]);
    frame
}

/// The low byte of the sum of `bytes`.
pub fn sum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |acc, b| acc.wrapping_add(*b))
}

/// Whether `frame` is a whole Kerong frame: STX first, ETX before a right SUM.
pub fn frame_ok(frame: &[u8]) -> bool {
    let n = frame.len();
    n >= 5 && frame[0] == 0x02 && frame[n - 2] == 0x03 && sum(&frame[..n - 1]) == frame[n - 1]
}

/// One board's locks and sensors as it reported them; bit `i` is lock `i + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardStatus {
    pub board: u8,
    /// 1 = hook latched (door shut and locked).
    pub latched: u16,
    /// 1 = the infrared sensor sees something inside.
    pub occupied: u16,
}

impl BoardStatus {
    pub fn is_latched(&self, lock: u8) -> bool {
        self.latched & bit(lock) != 0
    }

    pub fn is_occupied(&self, lock: u8) -> bool {
        self.occupied & bit(lock) != 0
    }

    /// Parses a status reply of `board`.
    pub fn parse(board: u8, frame: &[u8]) -> Option<BoardStatus> {
        let ok = frame.len() == 9 && frame[1] >> 4 == board && frame[2] == STATUS;
        ok.then(|| BoardStatus {
            board,
            latched: u16::from_le_bytes([frame[3], frame[4]]),
            occupied: u16::from_le_bytes([frame[5], frame[6]]),
        })
    }
}

/// A `0x30` read of one board.
const STATUS_READ: StatusRead<BoardStatus> = StatusRead {
    what: "read",
    request: |board| request(board, 0, READ),
    check: frame_ok,
    parse: BoardStatus::parse,
};

fn bit(lock: u8) -> u16 {
    1u16.checked_shl(u32::from(lock.saturating_sub(1)))
        .unwrap_or(0)
}

/// A chain of KR-CU16 boards: latch channel `i` is the lock `latches[i]`, door channel `i` the
/// hook feedback of `doors[i]`, occupancy channel `i` the infrared sensor of `sensors[i]`.
///
/// A door read sends one `0x30` per board that has a door or sensor here, in board order; what
/// it read of the sensors is kept for [`DoorSensor::occupancy`].
#[derive(Debug)]
pub struct KerongBus {
    link: Link,
    latches: Vec<LockAddr>,
    doors: Vec<LockAddr>,
    sensors: Vec<LockAddr>,
    last: BTreeMap<u8, BoardStatus>,
}

impl KerongBus {
    /// Nothing is opened until the first request.
    pub fn new(
        transport: Transport,
        timeout: Duration,
        latches: Vec<LockAddr>,
        doors: Vec<LockAddr>,
        sensors: Vec<LockAddr>,
    ) -> Self {
        Self {
            link: Link::new(transport, timeout),
            latches,
            doors,
            sensors,
            last: BTreeMap::new(),
        }
    }

    /// Reads one board's locks and sensors.
    pub async fn read_board(&mut self, board: u8) -> Result<BoardStatus, BoardError> {
        STATUS_READ.read(&mut self.link, board).await
    }

    /// The boards in `boards` that answer a read, with what they read. A silent or garbled
    /// board is absent; an error means the link itself could not be opened.
    pub async fn scan(
        &mut self,
        boards: RangeInclusive<u8>,
    ) -> Result<Vec<BoardStatus>, BoardError> {
        STATUS_READ.scan(&mut self.link, boards, BOARDS).await
    }

    fn boards(&self) -> Vec<u8> {
        let mut boards: Vec<u8> = self
            .doors
            .iter()
            .chain(&self.sensors)
            .map(|a| a.board)
            .collect();
        boards.sort_unstable();
        boards.dedup();
        boards
    }
}

impl Latch for KerongBus {
    type Error = BoardError;

    fn latch_count(&self) -> usize {
        self.latches.len()
    }

    /// The boards time every pulse themselves: there is no output to switch off.
    async fn all_off(&mut self) -> Result<(), BoardError> {
        Ok(())
    }

    /// Sends one `0x31`; the board energizes the lock for its own configured time (checked
    /// against `latch.max_pulse` when the config is loaded), so `_duration` is not sent. Some
    /// boards answer with a status frame and some not at all: either is a sent unlock. A
    /// garbled answer is a `Protocol` error; the unlock may have happened, and the caller
    /// reads the door before pulsing again.
    async fn pulse(&mut self, channel: usize, _duration: Duration) -> Result<(), BoardError> {
        let addr = *self
            .latches
            .get(channel)
            .ok_or_else(|| BoardError::no_channel("latch", channel, self.latches.len()))?;
        let op = format!("board {}: unlock lock {}", addr.board, addr.lock);
        let frame = request(addr.board, addr.lock - 1, UNLOCK);
        let answer = self.link.exchange(&op, &frame, frame_ok, None).await?;
        if let Answer::Frame(reply) = answer
            && let Some(status) = BoardStatus::parse(addr.board, &reply)
        {
            self.last.insert(addr.board, status);
        }
        Ok(())
    }
}

impl DoorSensor for KerongBus {
    type Error = BoardError;

    fn door_count(&self) -> usize {
        self.doors.len()
    }

    async fn read_doors(&mut self, states: &mut [DoorState]) -> Result<(), BoardError> {
        for board in self.boards() {
            let status = self.read_board(board).await?;
            self.last.insert(board, status);
        }
        for (state, addr) in states.iter_mut().zip(&self.doors) {
            let latched = self
                .last
                .get(&addr.board)
                .is_some_and(|s| s.is_latched(addr.lock));
            // The hook re-latches when the door is pushed shut: latched is closed.
            *state = DoorState::from_open(!latched);
        }
        Ok(())
    }

    fn occupancy_count(&self) -> usize {
        self.sensors.len()
    }

    fn occupancy(&self, occupied: &mut [Option<bool>]) {
        for (out, addr) in occupied.iter_mut().zip(&self.sensors) {
            *out = self.last.get(&addr.board).map(|s| s.is_occupied(addr.lock));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_match_the_worked_examples() {
        assert_eq!(request(2, 0, READ), [0x02, 0x20, 0x30, 0x03, 0x55]);
        assert_eq!(request(1, 1, UNLOCK), [0x02, 0x11, 0x31, 0x03, 0x47]);
    }

    #[test]
    fn a_status_reply_reads_hooks_and_sensors() {
        let frame = [0x02, 0x20, 0x35, 0x10, 0x00, 0x10, 0x00, 0x03, 0x7A];
        assert!(frame_ok(&frame));
        let status = BoardStatus::parse(2, &frame).expect("board 2's status");
        assert!(status.is_latched(5) && status.is_occupied(5));
        assert!(!status.is_latched(1) && !status.is_occupied(16));
        assert_eq!(BoardStatus::parse(3, &frame), None, "another board's frame");
        let mut bad = frame;
        bad[8] ^= 1;
        assert!(!frame_ok(&bad));
    }
}
