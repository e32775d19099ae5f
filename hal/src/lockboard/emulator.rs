//! Emulated 8A/80 lock-control boards ([`EightA`], a [`Protocol`] for
//! [`Cabinet`](crate::frames::emulator::Cabinet)): `8A BB LL 11` unlocks lock LL (every lock
//! when LL is 0, carried out so a test can see it was never sent) and answers
//! `8A BB LL SS X` after the board's `unlock_delay`; `80 BB LL 33` answers one lock's status, or
//! with LL 0 every lock's, `80 BB Sn .. S1 33 X`, one status byte per eight locks.

use std::time::Duration;

use crate::frames::emulator::{BoardState, Cabinet, Protocol};

/// The 8A/80 protocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct EightA;

/// Boards at `boards` with `locks` locks each, every lock latched, feedback `0x11` = latched.
pub fn cabinet(boards: &[u8], locks: u8) -> Cabinet {
    let boards: Vec<(u8, u8)> = boards.iter().map(|&b| (b, locks)).collect();
    Cabinet::new(EightA, &boards)
}

fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

fn sealed(mut frame: Vec<u8>) -> Vec<u8> {
    frame.push(xor(&frame));
    frame
}

/// Whether `lock` (1-based) answers 0x11.
fn eleven(board: &mut BoardState, lock: u8) -> bool {
    let latched_is_eleven = board.eleven_is_latched;
    board
        .lock(lock)
        .is_some_and(|l| l.latched == latched_is_eleven)
}

impl Protocol for EightA {
    fn starts(&self, byte: u8) -> bool {
        byte == 0x8A || byte == 0x80
    }

    fn check(&self, frame: &[u8]) -> bool {
        xor(&frame[..4]) == frame[4]
    }

    fn board(&self, frame: &[u8]) -> u8 {
        frame[1]
    }

    fn answer(&self, frame: &[u8], board: &mut BoardState) -> Option<(Vec<u8>, Duration)> {
        let (id, lock) = (frame[1], frame[2]);
        match (frame[0], frame[3]) {
            (0x8A, 0x11) => {
                let locks: Vec<u8> = match lock {
                    0 => (1..=board.locks.len() as u8).collect(),
                    lock => vec![lock],
                };
                for lock in locks {
                    board.release(lock);
                }
                if !board.answers_unlock {
                    return None;
                }
                let status = if lock != 0 && eleven(board, lock) {
                    0x11
                } else {
                    0x00
                };
                Some((sealed(vec![0x8A, id, lock, status]), board.unlock_delay))
            }
            (0x80, 0x33) if lock == 0 => {
                let count = board.locks.len().div_ceil(8);
                let mut bytes = vec![0u8; count];
                for lock in 1..=board.locks.len() as u8 {
                    if eleven(board, lock) {
                        let i = usize::from(lock - 1);
                        bytes[i / 8] |= 1 << (i % 8);
                    }
                }
                // Sn first, S1 (locks 1..8) last.
                let mut frame = vec![0x80, id];
                frame.extend(bytes.iter().rev());
                frame.push(0x33);
                Some((sealed(frame), Duration::ZERO))
            }
            (0x80, 0x33) => {
                let status = if eleven(board, lock) { 0x11 } else { 0x00 };
                Some((sealed(vec![0x80, id, lock, status]), Duration::ZERO))
            }
            _ => None,
        }
    }
}
