//! The Raspberry Pi's own GPIO header as a bus: latch outputs and door inputs on BCM pins.

use super::{Opened, Wiring, ids, miswired};
use crate::config::{self, DoorRef, LatchRef};
use lockerd_hal::gpio::{self, DoorPin, GpioBank, LatchPin};
use std::time::Duration;

/// GPIO doors are kept current by interrupts; reading them is cheap, so they are read often.
const GPIO_POLL: Duration = Duration::from_millis(50);

pub(super) fn open(wiring: &Wiring, debounce: Duration) -> anyhow::Result<Opened> {
    let latches = wiring
        .latches()
        .map(|c| match &c.latch {
            LatchRef::Gpio {
                pin, active_low, ..
            } => Ok(LatchPin {
                pin: *pin,
                active_low: *active_low,
            }),
            _ => Err(miswired(wiring, "latch", c)),
        })
        .collect::<anyhow::Result<_>>()?;
    let doors = wiring
        .doors()
        .map(|c| match &c.door {
            DoorRef::Gpio {
                pin,
                open_when,
                pull,
                ..
            } => Ok(DoorPin {
                pin: *pin,
                open_when: level(*open_when),
                pull: pull_of(*pull),
            }),
            _ => Err(miswired(wiring, "door", c)),
        })
        .collect::<anyhow::Result<_>>()?;
    let bank = GpioBank::open(latches, doors, debounce)
        .map_err(|e| anyhow::anyhow!("bus \"{}\": {e}", wiring.bus.name))?;
    Ok(Opened {
        driver: Box::new(bank),
        poll: GPIO_POLL,
        // The driver debounces its inputs itself.
        stable_reads: 1,
        latches: ids(wiring.latches()),
        doors: ids(wiring.doors()),
        sensors: vec![],
        sim: None,
    })
}

fn level(l: config::Level) -> gpio::Level {
    match l {
        config::Level::High => gpio::Level::High,
        config::Level::Low => gpio::Level::Low,
    }
}

fn pull_of(p: config::Pull) -> gpio::Pull {
    match p {
        config::Pull::Up => gpio::Pull::Up,
        config::Pull::Down => gpio::Pull::Down,
        config::Pull::None => gpio::Pull::None,
    }
}
