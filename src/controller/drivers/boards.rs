//! Lock-control boards as a bus: Kerong KR-CU16 (`kerong-cu`) and 8A/80 boards (`lockboard`).
//! A latch is one lock, its door the lock's feedback, and on Kerong boards its occupancy the
//! lock's infrared sensor; the boards time each pulse themselves.

use super::{Opened, Wiring, ids, miswired};
use crate::config::{BoardLink, DoorRef, FeedbackClosed, LatchRef, OccupancyRef};
use lockerd_hal::frames::Transport;
use lockerd_hal::{kerong, lockboard};

/// A lock's feedback must read the same this many polls in a row before a door change counts,
/// as a Modbus door input must: a hook bouncing as the door slams, or one misread frame, must
/// not produce forced/closed storms or confirm an opening.
const BOARD_STABLE_READS: u8 = 2;

fn transport(link: &BoardLink) -> Transport {
    match (&link.device, &link.address) {
        (Some(device), _) => Transport::Serial {
            device: device.clone(),
            baud: link.baud,
        },
        (None, address) => Transport::Tcp {
            address: address.clone().unwrap_or_default(),
        },
    }
}

pub(super) fn kerong(wiring: &Wiring, link: &BoardLink) -> anyhow::Result<Opened> {
    let at = |board: &u8, lock: &u8| kerong::LockAddr {
        board: *board,
        lock: *lock,
    };
    let latches = wiring
        .latches()
        .map(|c| match &c.latch {
            LatchRef::Kerong { board, lock, .. } => Ok(at(board, lock)),
            _ => Err(miswired(wiring, "latch", c)),
        })
        .collect::<anyhow::Result<_>>()?;
    let doors = wiring
        .doors()
        .map(|c| match &c.door {
            DoorRef::Kerong { board, lock, .. } => Ok(at(board, lock)),
            _ => Err(miswired(wiring, "door", c)),
        })
        .collect::<anyhow::Result<_>>()?;
    let sensors = wiring
        .sensors()
        .map(|c| match &c.occupancy {
            Some(OccupancyRef::Kerong { board, lock, .. }) => Ok(at(board, lock)),
            _ => Err(miswired(wiring, "occupancy sensor", c)),
        })
        .collect::<anyhow::Result<_>>()?;
    let bus = kerong::KerongBus::new(transport(link), link.timeout, latches, doors, sensors);
    Ok(opened(wiring, link, Box::new(bus)))
}

pub(super) fn lockboard(
    wiring: &Wiring,
    link: &BoardLink,
    feedback: FeedbackClosed,
) -> anyhow::Result<Opened> {
    let at = |board: &u8, lock: &u8| lockboard::LockAddr {
        board: *board,
        lock: *lock,
    };
    let latches = wiring
        .latches()
        .map(|c| match &c.latch {
            LatchRef::Lockboard { board, lock, .. } => Ok(at(board, lock)),
            _ => Err(miswired(wiring, "latch", c)),
        })
        .collect::<anyhow::Result<_>>()?;
    let doors = wiring
        .doors()
        .map(|c| match &c.door {
            DoorRef::Lockboard { board, lock, .. } => Ok(at(board, lock)),
            _ => Err(miswired(wiring, "door", c)),
        })
        .collect::<anyhow::Result<_>>()?;
    let feedback = match feedback {
        FeedbackClosed::Eleven => lockboard::Feedback::ElevenIsClosed,
        FeedbackClosed::Zero => lockboard::Feedback::ZeroIsClosed,
    };
    let bus = lockboard::LockBoardBus::new(transport(link), link.timeout, feedback, latches, doors);
    Ok(opened(wiring, link, Box::new(bus)))
}

fn opened(wiring: &Wiring, link: &BoardLink, driver: super::AnyBus) -> Opened {
    Opened {
        driver,
        poll: link.poll,
        stable_reads: BOARD_STABLE_READS,
        latches: ids(wiring.latches()),
        doors: ids(wiring.doors()),
        sensors: ids(wiring.sensors()),
        sim: None,
    }
}
