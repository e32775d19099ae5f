//! The fault schedule of the chaos test: which replies get which fault in each round, drawn
//! from a seeded generator so that a seed names a run.

use std::time::Duration;

use lockerd_hal::modbus::emulator::proxy::{Corruption, Mode, Sent};
use rand::Rng;
use rand::rngs::StdRng;

/// The daemon's Modbus request timeout in the chaos layout: delays are drawn either side of it.
pub const TIMEOUT: Duration = Duration::from_millis(200);

/// The environment variable `name` as a `T`, or `default` if it is unset.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}: not a number")))
        .unwrap_or(default)
}

/// Which replies a fault hits, by the request they answer.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Any,
    CoilOn,
    CoilOff,
    DoorRead,
}

impl Target {
    pub fn matches(self, sent: &Sent) -> bool {
        match self {
            Target::Any => true,
            Target::CoilOn => sent.coil_write().is_some_and(|(_, on)| on),
            Target::CoilOff => sent.coil_write().is_some_and(|(_, on)| !on),
            Target::DoorRead => sent.function == 0x02,
        }
    }
}

/// The fault of one round: `times` replies to `target` get `mode`.
#[derive(Debug, Clone, Copy)]
pub struct Chaos {
    pub mode: Mode,
    pub target: Target,
    pub times: usize,
}

/// One round's fault, or `None` for a quiet round.
pub fn pick_fault(rng: &mut StdRng) -> Option<Chaos> {
    let mode = match rng.random_range(0..11) {
        0 => return None,
        1 | 2 => Mode::Drop,
        3 => Mode::Delay(TIMEOUT / 4),
        4 => Mode::Delay(TIMEOUT * 2),
        5 => Mode::Corrupt(Corruption::FlipBit(rng.random_range(0..8))),
        6 => Mode::Corrupt(Corruption::WrongFunction),
        7 => Mode::Corrupt(Corruption::WrongTransaction),
        8 => Mode::Corrupt(Corruption::ShortLength),
        9 => Mode::Corrupt(Corruption::Truncated),
        _ => Mode::Stale {
            restamp: rng.random_bool(0.5),
        },
    };
    let target = [
        Target::Any,
        Target::CoilOn,
        Target::CoilOff,
        Target::DoorRead,
    ][rng.random_range(0..4)];
    // Mostly a blip; sometimes a burst; now and then an outage until the request is answered.
    let times = match rng.random_range(0..10) {
        0..=6 => rng.random_range(1..=3),
        7 | 8 => rng.random_range(4..=10),
        _ => usize::MAX,
    };
    Some(Chaos {
        mode,
        target,
        times,
    })
}
