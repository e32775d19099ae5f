//! Building the buses and the channel maps from the config.
//!
//! Each bus is opened by its driver (`drivers`), which says which compartment each of its latch
//! and door channels belongs to; here those channels become one map per locker, so the
//! controller addresses every latch and door as a bus index and a channel, whatever the driver.

use super::bus::AnyBus;
use super::drivers::{self, Opened, Wiring};
use super::{BusHealth, SimDoorError};
use crate::config::Config;
use crate::domain::CompartmentId;
use lockerd_hal::sim::SimHandle;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a compartment's latch or door is: a bus (index into `buses`) and a channel on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Channel {
    pub bus: usize,
    pub channel: usize,
}

/// One bus ready to run.
pub struct BusSlot {
    pub name: String,
    pub driver: AnyBus,
    pub poll: Duration,
    /// Door channel `i` of this bus belongs to `doors[i]`.
    pub doors: Vec<CompartmentId>,
    /// Consecutive equal reads before a door change counts.
    pub stable_reads: u8,
    /// Occupancy sensor `i` of this bus belongs to `sensors[i]`.
    pub sensors: Vec<CompartmentId>,
}

/// Every bus, and where each compartment's latch and door are.
pub struct Hardware {
    pub buses: Vec<BusSlot>,
    pub latches: HashMap<CompartmentId, Channel>,
    pub doors: HashMap<CompartmentId, Channel>,
    /// The simulated locker, when a `sim` bus is configured, with each compartment's channel:
    /// the controller moves its doors for the sim route; the daemon hands tests its handle.
    pub sim: Option<(SimHandle, HashMap<CompartmentId, usize>)>,
    /// Pulses and bus requests are counted here for `/metrics`.
    pub telemetry: crate::telemetry::Telemetry,
    /// What each occupancy sensor last read; absent while unknown (its bus down, not read yet).
    pub occupancy: Arc<Mutex<HashMap<CompartmentId, bool>>>,
}

impl Hardware {
    pub(super) fn initial_health(&self) -> Vec<BusHealth> {
        self.buses
            .iter()
            .map(|b| BusHealth {
                name: b.name.clone(),
                ok: true,
                last_error: None,
            })
            .collect()
    }

    /// The buses a compartment's latch and door are on.
    pub fn buses_of(&self, c: &CompartmentId) -> Vec<usize> {
        let mut buses: Vec<usize> = [self.latches.get(c), self.doors.get(c)]
            .into_iter()
            .flatten()
            .map(|ch| ch.bus)
            .collect();
        buses.dedup();
        buses
    }

    /// Moves the simulated door of `c` (see `ControllerHandle::move_sim_door`).
    pub(super) fn move_sim_door(&self, c: &CompartmentId, open: bool) -> Result<(), SimDoorError> {
        let (sim, channels) = self.sim.as_ref().ok_or(SimDoorError::NotSimulated)?;
        let channel = *channels.get(c).ok_or(SimDoorError::NotSimulated)?;
        sim.set_door(channel, open)
            .map_err(|e| SimDoorError::Refused(e.to_string()))
    }

    /// Adds an opened bus as bus number `self.buses.len()`, with its channels.
    fn add(&mut self, name: &str, opened: Opened) {
        let bus = self.buses.len();
        let at = |channel| Channel { bus, channel };
        for (channel, c) in opened.latches.into_iter().enumerate() {
            self.latches.insert(c, at(channel));
        }
        for (channel, c) in opened.doors.iter().enumerate() {
            self.doors.insert(c.clone(), at(channel));
        }
        if let Some(handle) = opened.sim {
            let channels = opened.doors.iter().cloned().zip(0..).collect();
            self.sim = Some((handle, channels));
        }
        self.buses.push(BusSlot {
            name: name.to_owned(),
            driver: opened.driver,
            poll: opened.poll,
            doors: opened.doors,
            stable_reads: opened.stable_reads,
            sensors: opened.sensors,
        });
    }
}

/// Builds every configured bus, in file order. A driver that cannot start (GPIO off a Pi) is an
/// error naming the bus, so the daemon exits before touching anything else.
pub fn build(config: &Config) -> anyhow::Result<Hardware> {
    let mut hw = Hardware {
        buses: vec![],
        latches: HashMap::new(),
        doors: HashMap::new(),
        sim: None,
        telemetry: Default::default(),
        occupancy: Default::default(),
    };
    for bus in &config.buses {
        let opened = drivers::open(&Wiring::new(bus, &config.compartments))?;
        hw.add(&bus.name, opened);
    }
    Ok(hw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> CompartmentId {
        CompartmentId(s.to_owned())
    }

    fn at(bus: usize, channel: usize) -> Channel {
        Channel { bus, channel }
    }

    /// Two Modbus buses and the sim bus, with compartments in between: each bus numbers its own
    /// latch and door channels in file order, and a compartment may have its latch on one bus
    /// and its door on another.
    const MIXED: &str = r#"
[[bus]]
name = "net"
driver = "modbus-tcp"
address = "10.0.0.9:502"

[[bus]]
name = "sim"
driver = "sim"

[[bus]]
name = "doors"
driver = "modbus-tcp"
address = "10.0.0.10:502"

[[compartment]]
id = "A1"
size = "S"
latch = { bus = "net", unit = 1, coil = 0 }
door = { bus = "net", unit = 1, input = 0 }

[[compartment]]
id = "B1"
size = "S"
latch = { bus = "sim" }
door = { bus = "sim" }

[[compartment]]
id = "C1"
size = "S"
latch = { bus = "net", unit = 1, coil = 1 }
door = { bus = "doors", unit = 2, input = 0 }

[[compartment]]
id = "D1"
size = "S"
latch = { bus = "sim" }
door = { bus = "sim" }
"#;

    #[test]
    fn every_bus_numbers_its_own_channels_in_file_order() {
        let config = Config::parse(MIXED, "mixed.toml".as_ref()).expect("a valid config");
        let hw = build(&config).expect("no driver here opens anything yet");
        let names: Vec<&str> = hw.buses.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["net", "sim", "doors"]);

        let latches = [
            ("A1", at(0, 0)),
            ("B1", at(1, 0)),
            ("C1", at(0, 1)),
            ("D1", at(1, 1)),
        ];
        let doors = [
            ("A1", at(0, 0)),
            ("B1", at(1, 0)),
            ("C1", at(2, 0)),
            ("D1", at(1, 1)),
        ];
        for (c, channel) in latches {
            assert_eq!(hw.latches[&id(c)], channel, "latch of {c}");
        }
        for (c, channel) in doors {
            assert_eq!(hw.doors[&id(c)], channel, "door of {c}");
        }
        assert_eq!(hw.buses_of(&id("C1")), [0, 2]);
        assert_eq!(hw.buses[0].doors, [id("A1")], "C1's door is on another bus");
        assert_eq!(hw.buses[2].doors, [id("C1")]);

        let (_, sim_channels) = hw.sim.as_ref().expect("the sim bus's handle");
        assert_eq!(sim_channels[&id("B1")], 0);
        assert_eq!(sim_channels[&id("D1")], 1);
        // Modbus inputs must read the same twice before a change counts; simulated doors once.
        let stable: Vec<u8> = hw.buses.iter().map(|b| b.stable_reads).collect();
        assert_eq!(stable, [2, 1, 2]);
        assert_eq!(hw.buses[1].driver.door_count(), 2);
    }
}
