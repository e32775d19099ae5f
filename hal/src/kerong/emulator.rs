//! Emulated KR-CU16 boards ([`Kerong`], a [`Protocol`] for
//! [`Cabinet`](crate::frames::emulator::Cabinet)): `0x30` reads a board, `0x31` unlocks one
//! lock, `0x33` unlocks every lock (carried out, so a test can see it was never sent), each
//! answered with `02 ADDR 35 D1 D2 D3 D4 03 SUM`; boards set not to answer unlocks stay silent
//! after one.

use std::time::Duration;

use crate::frames::emulator::{BoardState, Cabinet, Protocol};

/// The KR-CU16 protocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kerong;

/// A chain of KR-CU16 boards with ids `boards`, 16 locks each, every lock latched and empty.
pub fn cabinet(boards: &[u8]) -> Cabinet {
    let boards: Vec<(u8, u8)> = boards.iter().map(|&b| (b, 16)).collect();
    Cabinet::new(Kerong, &boards)
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().map(|&b| u32::from(b)).sum::<u32>() as u8
}

fn status(id: u8, board: &BoardState) -> Vec<u8> {
    let mut latched = 0u16;
    let mut occupied = 0u16;
    for (i, lock) in board.locks.iter().enumerate().take(16) {
        latched |= u16::from(lock.latched) << i;
        occupied |= u16::from(lock.occupied) << i;
    }
    let [d1, d2] = latched.to_le_bytes();
    let [d3, d4] = occupied.to_le_bytes();
    let mut frame = vec![0x02, id << 4, 0x35, d1, d2, d3, d4, 0x03];
    frame.push(checksum(&frame));
    frame
}

impl Protocol for Kerong {
    fn starts(&self, byte: u8) -> bool {
        byte == 0x02
    }

    fn check(&self, frame: &[u8]) -> bool {
        frame[0] == 0x02 && frame[3] == 0x03 && checksum(&frame[..4]) == frame[4]
    }

    fn board(&self, frame: &[u8]) -> u8 {
        frame[1] >> 4
    }

    fn answer(&self, frame: &[u8], board: &mut BoardState) -> Option<(Vec<u8>, Duration)> {
        let id = frame[1] >> 4;
        let lock = (frame[1] & 0x0F) + 1;
        match frame[2] {
            0x30 => {}
            0x31 => {
                board.release(lock);
                if !board.answers_unlock {
                    return None;
                }
            }
            0x33 => {
                for lock in 1..=16 {
                    board.release(lock);
                }
            }
            _ => return None,
        }
        Some((status(id, board), Duration::ZERO))
    }
}
