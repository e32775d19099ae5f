//! The drivers a bus can run on, and the one place each is registered.
//!
//! A driver's module here turns its `[[bus]]` settings and the channels the config puts on the
//! bus into an [`Opened`] bus: its hal driver as a [`Bus`], how often to poll it, and how many
//! equal reads a door change needs. Everything after that (one pulse at a time, the pulse cap,
//! confirmation, supervising a bus that goes down) is the controller's, the same for every
//! driver. So a new driver is its hal module (driver, emulator, error kinds), its module here,
//! and one arm in [`open`]; the config's loader knows its keys.
//!
//! Depends on `config` and the hal; only `controller::build` (and `lockerd hw`, through it)
//! uses it.

mod boards;
mod gpio;
mod modbus;
mod sim;

use super::bus::AnyBus;
use crate::config::{BusConfig, CompartmentConfig, Driver};
use crate::domain::CompartmentId;
use lockerd_hal::modbus::Transport;
use lockerd_hal::sim::SimHandle;
use std::time::Duration;

/// The compartments the config wires to one bus, in file order.
pub struct Wiring<'a> {
    pub bus: &'a BusConfig,
    compartments: &'a [CompartmentConfig],
}

impl<'a> Wiring<'a> {
    pub fn new(bus: &'a BusConfig, compartments: &'a [CompartmentConfig]) -> Self {
        Wiring { bus, compartments }
    }

    /// The compartments whose latch is on this bus: latch channel `i` is the `i`-th.
    pub fn latches(&self) -> impl Iterator<Item = &'a CompartmentConfig> + '_ {
        let name = self.bus.name.as_str();
        self.compartments
            .iter()
            .filter(move |c| c.latch.bus() == name)
    }

    /// The compartments whose occupancy sensor is on this bus: sensor channel `i` is the `i`-th.
    pub fn sensors(&self) -> impl Iterator<Item = &'a CompartmentConfig> + '_ {
        let name = self.bus.name.as_str();
        self.compartments
            .iter()
            .filter(move |c| c.occupancy.as_ref().is_some_and(|o| o.bus() == name))
    }

    /// The compartments whose door is on this bus: door channel `i` is the `i`-th.
    pub fn doors(&self) -> impl Iterator<Item = &'a CompartmentConfig> + '_ {
        let name = self.bus.name.as_str();
        self.compartments
            .iter()
            .filter(move |c| c.door.bus() == name)
    }
}

/// A bus opened by its driver.
pub struct Opened {
    pub driver: AnyBus,
    /// How often its doors are read.
    pub poll: Duration,
    /// Consecutive equal reads before a door change counts.
    pub stable_reads: u8,
    /// Latch channel `i` of the bus belongs to `latches[i]`.
    pub latches: Vec<CompartmentId>,
    /// Door channel `i` of the bus belongs to `doors[i]`.
    pub doors: Vec<CompartmentId>,
    /// Occupancy sensor `i` of the bus belongs to `sensors[i]`.
    pub sensors: Vec<CompartmentId>,
    /// The simulated locker behind a `sim` bus, for `ControllerHandle::move_sim_door` and tests.
    pub sim: Option<SimHandle>,
}

/// Opens the bus `wiring` describes with its driver: the one match on the configured driver
/// kinds. A driver that cannot start (GPIO off a Pi) is an error naming the bus; Modbus buses
/// connect on their first request.
pub fn open(wiring: &Wiring) -> anyhow::Result<Opened> {
    match &wiring.bus.driver {
        Driver::Sim { poll } => Ok(sim::open(wiring, *poll)),
        Driver::Gpio { debounce } => gpio::open(wiring, *debounce),
        Driver::ModbusRtu {
            device,
            baud,
            parity,
            stop_bits,
            timeout,
            poll,
            profile,
        } => {
            let transport = modbus::serial(device, *baud, *parity, *stop_bits);
            modbus::open(wiring, transport, *timeout, *poll, *profile)
        }
        Driver::ModbusTcp {
            address,
            timeout,
            poll,
            profile,
        } => {
            let transport = Transport::Tcp {
                address: address.clone(),
            };
            modbus::open(wiring, transport, *timeout, *poll, *profile)
        }
        Driver::KerongCu(link) => boards::kerong(wiring, link),
        Driver::Lockboard {
            link,
            feedback_closed,
        } => boards::lockboard(wiring, link, *feedback_closed),
    }
}

/// The ids of `compartments`, in order.
fn ids<'a>(compartments: impl Iterator<Item = &'a CompartmentConfig>) -> Vec<CompartmentId> {
    compartments.map(|c| CompartmentId(c.id.clone())).collect()
}

/// A latch or door the config put on a bus whose driver cannot address it. The loader refuses
/// such a file, so this is a bug; it is an error rather than a skipped channel, which would
/// shift every later channel of the bus onto the wrong compartment.
fn miswired(wiring: &Wiring, what: &str, c: &CompartmentConfig) -> anyhow::Error {
    anyhow::anyhow!(
        "bus \"{}\": the {what} of compartment {} is not one its {} driver can address",
        wiring.bus.name,
        c.id,
        wiring.bus.driver.kind()
    )
}
