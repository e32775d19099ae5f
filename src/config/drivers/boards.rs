//! `driver = "kerong-cu"` and `driver = "lockboard"`: commercial lock-control boards. A latch
//! and its door are one lock of one board (the hook's feedback is the door sensor); a Kerong
//! lock's infrared sensor is its `occupancy`. The boards time each pulse themselves, for the
//! energize time set on them (`energize`), which must fit under `latch.max_pulse`.

use super::super::check::{Check, ConfigError};
use super::super::duration::{self, show};
use super::super::hardware::BusConfig;
use super::super::keys::{self, Keys};
use super::super::sections::LatchConfig;
use super::{Claim, DoorRef, Driver, LatchRef, Need, OccupancyRef, Registration, line};
use serde::Deserialize;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

/// A serial line or a TCP bridge, and the boards' own energize time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardLink {
    /// `device` (a serial port) or `address` (a bridge's `host:port`), never both.
    pub device: Option<PathBuf>,
    pub address: Option<String>,
    pub baud: u32,
    pub timeout: Duration,
    pub poll: Duration,
    /// How long a board energizes a lock (a setting on the board, not sent by the daemon).
    pub energize: Duration,
}

/// Which status byte means "latched" on an 8A/80 board, by how its feedback switch is wired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum FeedbackClosed {
    #[serde(rename = "11")]
    Eleven,
    #[serde(rename = "00")]
    Zero,
}

const KERONG_BOARDS: RangeInclusive<i64> = 0..=15;
const KERONG_LOCKS: RangeInclusive<i64> = 1..=16;
const LOCKBOARD_BOARDS: RangeInclusive<i64> = 1..=31;
const LOCKBOARD_LOCKS: RangeInclusive<i64> = 1..=48;

const LINK_KEYS: &[&str] = &["device", "address", "baud", "timeout", "poll", "energize"];

pub(super) const KERONG: Registration = Registration {
    kind: "kerong-cu",
    bus_keys: LINK_KEYS,
    latch_keys: &["board", "lock"],
    door_keys: &["board", "lock"],
    occupancy_keys: &["board", "lock"],
    single: false,
    bus: kerong_bus,
    latch: |need, raw| {
        let (bus, board, lock) = lock(need, raw, KERONG_BOARDS, KERONG_LOCKS)?;
        Ok(LatchRef::Kerong { bus, board, lock })
    },
    door: |need, raw| {
        let (bus, board, lock) = lock(need, raw, KERONG_BOARDS, KERONG_LOCKS)?;
        Ok(DoorRef::Kerong { bus, board, lock })
    },
    occupancy: Some(|need, raw| {
        let (bus, board, lock) = lock(need, raw, KERONG_BOARDS, KERONG_LOCKS)?;
        Ok(OccupancyRef::Kerong { bus, board, lock })
    }),
    latch_timing: energize_fits,
};

pub(super) const LOCKBOARD: Registration = Registration {
    kind: "lockboard",
    bus_keys: &[
        "device",
        "address",
        "baud",
        "timeout",
        "poll",
        "energize",
        "feedback_closed",
    ],
    occupancy_keys: &[],
    bus: lockboard_bus,
    latch: |need, raw| {
        let (bus, board, lock) = lock(need, raw, LOCKBOARD_BOARDS, LOCKBOARD_LOCKS)?;
        Ok(LatchRef::Lockboard { bus, board, lock })
    },
    door: |need, raw| {
        let (bus, board, lock) = lock(need, raw, LOCKBOARD_BOARDS, LOCKBOARD_LOCKS)?;
        Ok(DoorRef::Lockboard { bus, board, lock })
    },
    occupancy: None,
    ..KERONG
};

#[derive(Deserialize)]
struct BusKeys {
    device: Option<PathBuf>,
    address: Option<String>,
    baud: Option<u32>,
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    timeout: Option<Duration>,
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    poll: Option<Duration>,
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    energize: Option<Duration>,
    feedback_closed: Option<FeedbackClosed>,
}

fn link(
    check: &Check,
    key: &str,
    kind: &str,
    keys: &BusKeys,
    earlier: &[BusConfig],
    defaults: (u32, Duration, Duration),
) -> Result<BoardLink, ConfigError> {
    let (device, address) = match (&keys.device, &keys.address) {
        (Some(_), Some(_)) => {
            return Err(check.error(
                format!("{key}.address"),
                "give either device (a serial port) or address (a TCP bridge), not both",
            ));
        }
        (None, Some(address)) => {
            check.ensure(
                line::is_host_port(address),
                &format!("{key}.address"),
                || format!("{address:?} is not host:port (e.g. \"192.168.10.30:5000\")"),
            )?;
            (None, Some(address.clone()))
        }
        (device, None) => {
            let device = line::device(check, key, kind, device.clone(), earlier, "board id")?;
            (Some(device), None)
        }
    };
    let baud = line::baud(check, key, keys.baud.unwrap_or(defaults.0))?;
    let (timeout, poll) = line::timing(
        check,
        key,
        keys.timeout,
        keys.poll,
        (defaults.1, defaults.2),
    )?;
    let energize = keys.energize.unwrap_or(Duration::from_millis(500));
    check.positive(&format!("{key}.energize"), energize)?;
    Ok(BoardLink {
        device,
        address,
        baud,
        timeout,
        poll,
        energize,
    })
}

fn kerong_bus(
    check: &Check,
    key: &str,
    raw: &Keys,
    earlier: &[BusConfig],
) -> Result<Driver, ConfigError> {
    let keys: BusKeys = keys::read(check, key, raw)?;
    let defaults = (
        19_200,
        Duration::from_millis(500),
        Duration::from_millis(250),
    );
    let link = link(check, key, KERONG.kind, &keys, earlier, defaults)?;
    Ok(Driver::KerongCu(link))
}

fn lockboard_bus(
    check: &Check,
    key: &str,
    raw: &Keys,
    earlier: &[BusConfig],
) -> Result<Driver, ConfigError> {
    let keys: BusKeys = keys::read(check, key, raw)?;
    // The same wiring reads 0x11 as latched on one cabinet and as open on another: guessing
    // would report every shut door open (or the other way round).
    let feedback_closed = keys.feedback_closed.ok_or_else(|| {
        check.error(
            format!("{key}.feedback_closed"),
            "required for driver \"lockboard\": \"11\" or \"00\", the status a latched lock \
             answers (query one lock with its door shut to see which)",
        )
    })?;
    // An unlock is answered about a second later.
    let defaults = (
        9_600,
        Duration::from_millis(1500),
        Duration::from_millis(500),
    );
    let link = link(check, key, LOCKBOARD.kind, &keys, earlier, defaults)?;
    Ok(Driver::Lockboard {
        link,
        feedback_closed,
    })
}

#[derive(Deserialize)]
struct LockKeys {
    board: Option<i64>,
    lock: Option<i64>,
}

/// The bus, board and lock of a latch, door or sensor on a board bus, each in its range.
fn lock(
    need: &Need,
    raw: &Keys,
    boards: RangeInclusive<i64>,
    locks: RangeInclusive<i64>,
) -> Result<(String, u8, u8), ConfigError> {
    let keys: LockKeys = keys::read(need.check, need.key, raw)?;
    let board = in_range(need, "board", keys.board, boards, " (the DIP switches)")?;
    let lock = in_range(need, "lock", keys.lock, locks, "")?;
    Ok((need.bus_name(), board, lock))
}

/// `field`, required and within `range`.
fn in_range(
    need: &Need,
    field: &str,
    value: Option<i64>,
    range: RangeInclusive<i64>,
    note: &str,
) -> Result<u8, ConfigError> {
    let value = need.get(field, value)?;
    if !range.contains(&value) {
        let kind = need.bus.driver.kind();
        return Err(need.invalid(
            field,
            format!(
                "{field} {value} is out of range; {kind} {field}s are {}..={}{note}",
                range.start(),
                range.end()
            ),
        ));
    }
    Ok(value as u8)
}

/// The board energizes a lock for its own time: a cap it would exceed is no cap.
fn energize_fits(check: &Check, latch: &LatchConfig, bus: &BusConfig) -> Result<(), ConfigError> {
    let (Driver::KerongCu(link) | Driver::Lockboard { link, .. }) = &bus.driver else {
        return Ok(());
    };
    check.ensure(link.energize <= latch.max_pulse, "latch.max_pulse", || {
        format!(
            "{} is shorter than the energize time of bus {:?} ({}): its boards time each pulse \
             themselves, so raise latch.max_pulse or set a shorter time on the boards and in \
             energize",
            show(latch.max_pulse),
            bus.name,
            show(link.energize)
        )
    })
}

/// The lock a latch fires: one compartment's.
pub(super) fn latch_claim(bus: &str, board: u8, lock: u8) -> Claim {
    Claim {
        id: format!("board latch {bus:?} {board} {lock}"),
        field: "lock",
        what: format!("lock {lock} of board {board} on bus {bus:?}"),
        by_role: false,
    }
}

/// The feedback a door reads: one compartment's.
pub(super) fn door_claim(bus: &str, board: u8, lock: u8) -> Claim {
    Claim {
        id: format!("board door {bus:?} {board} {lock}"),
        field: "lock",
        what: format!("the feedback of lock {lock} of board {board} on bus {bus:?}"),
        by_role: false,
    }
}

/// Where the boards are reached, for the commissioning tool.
pub(super) fn endpoint(kind: &str, link: &BoardLink) -> String {
    match (&link.device, &link.address) {
        (Some(device), _) => format!("{kind} {}", device.display()),
        (_, Some(address)) => format!("{kind} {address}"),
        _ => kind.to_owned(),
    }
}
