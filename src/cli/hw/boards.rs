//! `lockerd hw scan` on lock-control board buses (`kerong-cu`, `lockboard`): which board ids
//! answer a status read, and what each reads of its locks and sensors.
//!
//! Each board is read once, in id order, with the driver the daemon uses (Kerong `0x30`, 8A
//! "query all"); nothing is unlocked. A silent or garbled board is one that does not answer; a
//! link that cannot be opened at all ends the scan. These boards time their pulses themselves,
//! so there are no outputs to drive off first.

use crate::config::{Config, Driver, FeedbackClosed};
use anyhow::{Context, bail};
use lockerd_hal::kerong::{self, KerongBus};
use lockerd_hal::lockboard::{self, LockBoardBus};
use std::any::Any;
use std::ops::RangeInclusive;

/// The board ids a scan of a `kerong-cu` or `lockboard` bus may try; `None` for other drivers.
pub(super) fn board_ids(driver: &Driver) -> Option<RangeInclusive<u8>> {
    match driver {
        Driver::KerongCu(_) => Some(kerong::BOARDS),
        Driver::Lockboard { .. } => Some(lockboard::BOARDS),
        _ => None,
    }
}

/// Reads boards `ids` of the board bus `name`, printing each that answers.
pub(super) async fn scan(
    config: &Config,
    name: &str,
    ids: RangeInclusive<u8>,
) -> anyhow::Result<()> {
    let Some(bus) = config.bus(name) else {
        bail!("no bus \"{name}\" in {}", config.source.display());
    };
    let driver = built(config, name)?;
    let (first, last) = (*ids.start(), *ids.end());
    eprintln!(
        "scanning boards {first}-{last} on bus {}...",
        super::describe(bus)
    );
    let cannot = || format!("bus {name}: cannot scan");
    let mut present = Vec::new();
    match &bus.driver {
        Driver::Lockboard {
            feedback_closed, ..
        } => {
            let mut boards = driver
                .downcast::<LockBoardBus>()
                .map_err(|_| anyhow::anyhow!("bus {name}: not built as a lockboard bus"))?;
            for id in ids {
                for status in boards.scan(id..=id).await.with_context(cannot)? {
                    println!("{}", describe_8a(&status, *feedback_closed));
                    present.push(status.board);
                }
            }
        }
        _ => {
            let mut boards = driver
                .downcast::<KerongBus>()
                .map_err(|_| anyhow::anyhow!("bus {name}: not built as a kerong-cu bus"))?;
            for id in ids {
                for status in boards.scan(id..=id).await.with_context(cannot)? {
                    println!("{}", describe_kerong(&status));
                    present.push(status.board);
                }
            }
        }
    }
    if present.is_empty() {
        bail!("bus {name}: no board in {first}-{last} answers");
    }
    let list: Vec<String> = present.iter().map(u8::to_string).collect();
    println!("{} board(s) answer: {}", present.len(), list.join(", "));
    Ok(())
}

/// The driver the controller builds for bus `name`, with the config's locks on it.
fn built(config: &Config, name: &str) -> anyhow::Result<Box<dyn Any>> {
    let hw = crate::controller::build(&super::on_buses(config, &[name]))?;
    match hw.buses.into_iter().next() {
        Some(slot) => Ok(slot.driver.into_any()),
        None => bail!("bus {name}: the controller did not build it"),
    }
}

/// `board 1: 16 locks; open: 3, 16; occupied: 5-6`: a Kerong hook unlatched is an open door.
fn describe_kerong(status: &kerong::BoardStatus) -> String {
    let open = locks(kerong::LOCKS, |l| !status.is_latched(l));
    let occupied = locks(kerong::LOCKS, |l| status.is_occupied(l));
    format!(
        "board {}: 16 locks; open: {open}; occupied: {occupied}",
        status.board
    )
}

/// `board 1: 24 locks; reading 11: 1-19, 21-24; reading 00: 20; open: 20 (feedback_closed =
/// "11")`: the raw values too, so an installer can tell which one a shut door reads.
fn describe_8a(status: &lockboard::BoardStatus, feedback: FeedbackClosed) -> String {
    let count = u8::try_from(status.bits.len()).unwrap_or(u8::MAX);
    let all = 1..=count;
    let eleven = |l: u8| status.eleven(l) == Some(true);
    let (closed, word) = match feedback {
        FeedbackClosed::Eleven => (true, "11"),
        FeedbackClosed::Zero => (false, "00"),
    };
    format!(
        "board {}: {count} locks; reading 11: {}; reading 00: {}; open: {} (feedback_closed = \"{word}\")",
        status.board,
        locks(all.clone(), eleven),
        locks(all.clone(), |l| !eleven(l)),
        locks(all, |l| eleven(l) != closed),
    )
}

/// The locks of `range` for which `pick` holds, as runs: `1-3, 7`, or `none`.
fn locks(range: RangeInclusive<u8>, pick: impl Fn(u8) -> bool) -> String {
    let mut runs: Vec<(u8, u8)> = Vec::new();
    for lock in range.filter(|&l| pick(l)) {
        match runs.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(lock) => *end = lock,
            _ => runs.push((lock, lock)),
        }
    }
    if runs.is_empty() {
        return "none".to_owned();
    }
    runs.iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_are_listed_as_runs() {
        assert_eq!(
            locks(1..=16, |l| [1, 2, 3, 7, 16].contains(&l)),
            "1-3, 7, 16"
        );
        assert_eq!(locks(1..=16, |_| false), "none");
        assert_eq!(locks(1..=8, |_| true), "1-8");
    }
}
