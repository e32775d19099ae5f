//! The emulated boards behind a bench daemon, whichever protocol: Modbus relay boards with
//! spring doors (`lockerd_hal::modbus::emulator`) or a chain of Kerong KR-CU16 lock-control
//! boards (`lockerd_hal::kerong::emulator`, paced at 19200 baud), seen the same way by the
//! bench: when a compartment's latch command arrived, a hand closing its door, the door polls.
//!
//! Compartment `i` (0..8) is coil and input `i` of Modbus unit 1, or lock `i / 3 + 1` of Kerong
//! board `i % 3`, so the Kerong chain polls three boards as the 48-door example does.

use anyhow::Context;
use lockerd_hal::frames::emulator::Cabinet;
use lockerd_hal::kerong;
use lockerd_hal::modbus::emulator::{Board, Request};
use std::collections::BTreeMap;
use tokio::time::Instant;

/// Modbus: the unit every compartment is on.
pub const UNIT: u8 = 1;
/// Kerong: the boards of the chain, and its baud rate.
pub const KERONG_BOARDS: [u8; 3] = [0, 1, 2];
pub const KERONG_BAUD: u32 = 19_200;

#[derive(Clone)]
pub enum Boards {
    Modbus(Board),
    Kerong(Cabinet),
}

impl Boards {
    /// Relay boards whose doors spring open while their latch is energized.
    pub fn modbus(compartments: u16) -> Boards {
        let board = Board::new(&[UNIT]);
        for coil in 0..compartments {
            board.spring_door(UNIT, coil, coil, true);
        }
        Boards::Modbus(board)
    }

    /// A Kerong chain taking each frame's wire time at 19200 baud; an unlock pops the door.
    pub fn kerong() -> Boards {
        let cabinet = kerong::emulator::cabinet(&KERONG_BOARDS);
        cabinet.pace(KERONG_BAUD);
        Boards::Kerong(cabinet)
    }

    /// Kerong board and lock of compartment `i`.
    fn lock(i: u16) -> (u8, u8) {
        let i = u8::try_from(i).expect("a bench compartment");
        (i % 3, i / 3 + 1)
    }

    /// The `latch` and `door` of compartment `i` on bus `bus`, as config keys.
    pub fn wiring(&self, bus: &str, i: u16) -> String {
        match self {
            Boards::Modbus(_) => format!(
                "latch = {{ bus = \"{bus}\", unit = {UNIT}, coil = {i} }}\n\
                 door = {{ bus = \"{bus}\", unit = {UNIT}, input = {i}, open_when = true }}\n"
            ),
            Boards::Kerong(_) => {
                let (board, lock) = Self::lock(i);
                let at = format!("{{ bus = \"{bus}\", board = {board}, lock = {lock} }}");
                format!("latch = {at}\ndoor = {at}\n")
            }
        }
    }

    /// When the command that opens compartment `i` was complete at the boards, first at or
    /// after `after`: the FC05 "coil on", or the Kerong unlock frame's last byte on the wire.
    pub fn latch_on(&self, i: u16, after: Instant) -> anyhow::Result<Instant> {
        let found = match self {
            Boards::Modbus(board) => {
                let on = Request::WriteSingleCoil(i, true);
                board
                    .log()
                    .iter()
                    .find(|l| l.at >= after && l.unit == UNIT && l.request == on)
                    .map(|l| l.at)
            }
            Boards::Kerong(cabinet) => {
                let (board, lock) = Self::lock(i);
                let addr = (board << 4) | (lock - 1);
                cabinet
                    .received()
                    .iter()
                    .find(|r| r.at >= after && r.bytes[1] == addr && r.bytes[2] == 0x31)
                    .map(|r| r.at)
            }
        };
        found.with_context(|| format!("the boards never received the command opening {i}"))
    }

    /// A hand shuts the door of compartment `i`.
    pub fn close(&self, i: u16) {
        match self {
            Boards::Modbus(board) => board.set_input(UNIT, i, false),
            Boards::Kerong(cabinet) => {
                let (board, lock) = Self::lock(i);
                cabinet.close(board, lock);
            }
        }
    }

    /// Whether no latch is energized by the host (Kerong boards time their own pulses).
    pub fn latches_off(&self, compartments: u16) -> bool {
        match self {
            Boards::Modbus(board) => (0..compartments).all(|coil| !board.coil(UNIT, coil)),
            Boards::Kerong(_) => true,
        }
    }

    pub fn clear_log(&self) {
        match self {
            Boards::Modbus(board) => board.clear_log(),
            Boards::Kerong(cabinet) => cabinet.clear_received(),
        }
    }

    /// Door polls the boards received in `from..to`: FC02 reads, or Kerong `0x30` reads.
    pub fn polls_between(&self, from: Instant, to: Instant) -> usize {
        match self {
            Boards::Modbus(board) => board
                .log()
                .iter()
                .filter(|l| l.at >= from && l.at < to && l.function() == 0x02)
                .count(),
            Boards::Kerong(cabinet) => cabinet
                .received()
                .iter()
                .filter(|r| r.at >= from && r.at < to && r.bytes[2] == 0x30)
                .count(),
        }
    }

    /// Kerong: the status reads (`0x30`) each board received since the log was cleared.
    pub fn reads_per_board(&self) -> BTreeMap<u8, usize> {
        let mut reads = BTreeMap::new();
        if let Boards::Kerong(cabinet) = self {
            for r in cabinet.received().iter().filter(|r| r.bytes[2] == 0x30) {
                *reads.entry(r.bytes[1] >> 4).or_default() += 1;
            }
        }
        reads
    }
}
