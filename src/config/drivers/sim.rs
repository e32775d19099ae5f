//! `driver = "sim"`: the simulated locker. Its latch and door tables name the bus only.

use super::super::check::{Check, ConfigError};
use super::super::duration;
use super::super::hardware::BusConfig;
use super::super::keys::{self, Keys};
use super::{DoorRef, Driver, LatchRef, Registration, any_timing, line};
use serde::Deserialize;
use std::time::Duration;

pub(super) const SIM: Registration = Registration {
    kind: "sim",
    bus_keys: &["poll"],
    latch_keys: &[],
    door_keys: &[],
    // Every simulated latch and door lives on one sim bus, so a compartment can never be half
    // simulated on one and half on another.
    occupancy_keys: &[],
    occupancy: None,
    single: true,
    bus,
    latch: |need, _| {
        Ok(LatchRef::Sim {
            bus: need.bus_name(),
        })
    },
    door: |need, _| {
        Ok(DoorRef::Sim {
            bus: need.bus_name(),
        })
    },
    latch_timing: any_timing,
};

#[derive(Deserialize)]
struct BusKeys {
    #[serde(default, deserialize_with = "duration::deserialize_opt")]
    poll: Option<Duration>,
}

fn bus(check: &Check, key: &str, raw: &Keys, _: &[BusConfig]) -> Result<Driver, ConfigError> {
    let keys: BusKeys = keys::read(check, key, raw)?;
    let poll = keys.poll.unwrap_or(Duration::from_millis(50));
    line::poll_period(check, key, poll)?;
    Ok(Driver::Sim { poll })
}
