//! Building the buses and the channel maps from the config.

use super::BusHealth;
use super::bus::AnyBus;
use crate::config::{Config, DoorRef, Driver, LatchRef};
use crate::domain::CompartmentId;
use lockerd_hal::sim::{SimHandle, SimLocker};
use std::collections::HashMap;
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
}

/// Every bus, and where each compartment's latch and door are.
pub struct Hardware {
    pub buses: Vec<BusSlot>,
    pub latches: HashMap<CompartmentId, Channel>,
    pub doors: HashMap<CompartmentId, Channel>,
    /// The simulated locker, when a `sim` bus is configured, with each compartment's channel.
    pub sim: Option<(SimHandle, HashMap<CompartmentId, usize>)>,
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
}

/// Builds every configured bus. Drivers this build cannot run are an error naming the bus, so
/// the daemon exits before touching any hardware.
pub fn build(config: &Config) -> anyhow::Result<Hardware> {
    let mut buses = Vec::new();
    let mut index = HashMap::new();
    let mut sim = None;
    for (i, bus) in config.buses.iter().enumerate() {
        // Channel i of a sim bus is the i-th compartment that names it.
        let on_bus: Vec<CompartmentId> = config
            .compartments
            .iter()
            .filter(|c| c.latch.bus() == bus.name)
            .map(|c| CompartmentId(c.id.clone()))
            .collect();
        let (driver, poll) = match &bus.driver {
            Driver::Sim { poll } => {
                let locker = SimLocker::new(on_bus.len());
                let channels = on_bus
                    .iter()
                    .cloned()
                    .enumerate()
                    .map(|(ch, id)| (id, ch))
                    .collect();
                sim = Some((locker.handle(), channels));
                (AnyBus::Sim(locker), *poll)
            }
            other => anyhow::bail!(
                "bus \"{}\": driver {} is not supported by this build yet; use a sim bus",
                bus.name,
                driver_name(other)
            ),
        };
        index.insert(bus.name.clone(), i);
        buses.push(BusSlot {
            name: bus.name.clone(),
            driver,
            poll,
            doors: on_bus,
        });
    }
    let mut latches = HashMap::new();
    let mut doors = HashMap::new();
    for c in &config.compartments {
        let id = CompartmentId(c.id.clone());
        let (LatchRef::Sim { bus }, DoorRef::Sim { bus: door_bus }) = (&c.latch, &c.door) else {
            anyhow::bail!(
                "compartment {}: only sim latches and doors are supported by this build yet",
                c.id
            );
        };
        let channel_of = |bus: &str| -> anyhow::Result<Channel> {
            let b = *index
                .get(bus)
                .ok_or_else(|| anyhow::anyhow!("unknown bus {bus}"))?;
            let ch = buses[b]
                .doors
                .iter()
                .position(|d| *d == id)
                .ok_or_else(|| {
                    anyhow::anyhow!("compartment {} has no channel on bus {bus}", c.id)
                })?;
            Ok(Channel {
                bus: b,
                channel: ch,
            })
        };
        let (latch, door) = (channel_of(bus)?, channel_of(door_bus)?);
        latches.insert(id.clone(), latch);
        doors.insert(id, door);
    }
    Ok(Hardware {
        buses,
        latches,
        doors,
        sim,
    })
}

fn driver_name(d: &Driver) -> &'static str {
    match d {
        Driver::Sim { .. } => "sim",
        Driver::Gpio { .. } => "gpio",
        Driver::ModbusRtu { .. } => "modbus-rtu",
        Driver::ModbusTcp { .. } => "modbus-tcp",
    }
}
