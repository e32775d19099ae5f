//! Building the buses and the channel maps from the config.
//!
//! Channels are numbered per bus in config order: latch channel `i` of a bus is the `i`-th
//! compartment whose latch names that bus, door channel `i` the `i`-th whose door does. A sim
//! bus has one channel per compartment on it, latch and door alike.

use super::BusHealth;
use super::bus::AnyBus;
use crate::config::{self, BusConfig, CompartmentConfig, Config, DoorRef, Driver, LatchRef};
use crate::domain::CompartmentId;
use lockerd_hal::gpio::{self, DoorPin, GpioBank, LatchPin};
use lockerd_hal::modbus::{self, CoilAddr, InputAddr, ModbusBoard, ModbusConfig, Transport};
use lockerd_hal::sim::{SimHandle, SimLocker};
use std::collections::HashMap;
use std::time::Duration;

/// GPIO doors are kept current by interrupts; reading them is cheap, so they are read often.
const GPIO_POLL: Duration = Duration::from_millis(50);
/// A Modbus door input must read the same this many polls in a row before it counts, so a
/// bouncing reed switch does not produce storms of forced/closed events. GPIO inputs are
/// debounced by the driver and simulated doors do not bounce.
const MODBUS_STABLE_READS: u8 = 2;

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
}

/// Every bus, and where each compartment's latch and door are.
pub struct Hardware {
    pub buses: Vec<BusSlot>,
    pub latches: HashMap<CompartmentId, Channel>,
    pub doors: HashMap<CompartmentId, Channel>,
    /// The simulated locker, when a `sim` bus is configured, with each compartment's channel.
    pub sim: Option<(SimHandle, HashMap<CompartmentId, usize>)>,
    /// Pulses and bus requests are counted here for `/metrics`.
    pub telemetry: crate::telemetry::Telemetry,
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
}

/// Builds every configured bus. A driver that cannot start (GPIO off a Pi) is an error naming
/// the bus, so the daemon exits before touching anything else. Modbus buses connect lazily.
pub fn build(config: &Config) -> anyhow::Result<Hardware> {
    let mut hw = Hardware {
        buses: vec![],
        latches: HashMap::new(),
        doors: HashMap::new(),
        sim: None,
        telemetry: Default::default(),
    };
    for (index, bus) in config.buses.iter().enumerate() {
        let on_latch: Vec<&CompartmentConfig> = config
            .compartments
            .iter()
            .filter(|c| c.latch.bus() == bus.name)
            .collect();
        let on_door: Vec<&CompartmentConfig> = config
            .compartments
            .iter()
            .filter(|c| c.door.bus() == bus.name)
            .collect();
        let slot = match &bus.driver {
            Driver::Sim { poll } => sim_bus(&mut hw, index, bus, config, *poll),
            Driver::Gpio { debounce } => gpio_bus(bus, &on_latch, &on_door, *debounce)?,
            Driver::ModbusRtu { .. } | Driver::ModbusTcp { .. } => {
                modbus_bus(bus, &on_latch, &on_door)
            }
        };
        if !matches!(bus.driver, Driver::Sim { .. }) {
            for (channel, c) in on_latch.iter().enumerate() {
                hw.latches.insert(
                    CompartmentId(c.id.clone()),
                    Channel {
                        bus: index,
                        channel,
                    },
                );
            }
            for (channel, c) in on_door.iter().enumerate() {
                hw.doors.insert(
                    CompartmentId(c.id.clone()),
                    Channel {
                        bus: index,
                        channel,
                    },
                );
            }
        }
        hw.buses.push(slot);
    }
    Ok(hw)
}

fn sim_bus(
    hw: &mut Hardware,
    index: usize,
    bus: &BusConfig,
    config: &Config,
    poll: Duration,
) -> BusSlot {
    let ids: Vec<CompartmentId> = config
        .compartments
        .iter()
        .filter(|c| c.latch.bus() == bus.name || c.door.bus() == bus.name)
        .map(|c| CompartmentId(c.id.clone()))
        .collect();
    let locker = SimLocker::new(ids.len());
    for (channel, id) in ids.iter().enumerate() {
        let at = Channel {
            bus: index,
            channel,
        };
        hw.latches.insert(id.clone(), at);
        hw.doors.insert(id.clone(), at);
    }
    let channels = ids
        .iter()
        .cloned()
        .enumerate()
        .map(|(ch, id)| (id, ch))
        .collect();
    hw.sim = Some((locker.handle(), channels));
    BusSlot {
        name: bus.name.clone(),
        driver: AnyBus::Sim(locker),
        poll,
        doors: ids,
        stable_reads: 1,
    }
}

fn gpio_bus(
    bus: &BusConfig,
    on_latch: &[&CompartmentConfig],
    on_door: &[&CompartmentConfig],
    debounce: Duration,
) -> anyhow::Result<BusSlot> {
    let latches = on_latch
        .iter()
        .filter_map(|c| match &c.latch {
            LatchRef::Gpio {
                pin, active_low, ..
            } => Some(LatchPin {
                pin: *pin,
                active_low: *active_low,
            }),
            _ => None,
        })
        .collect();
    let doors = on_door
        .iter()
        .filter_map(|c| match &c.door {
            DoorRef::Gpio {
                pin,
                open_when,
                pull,
                ..
            } => Some(DoorPin {
                pin: *pin,
                open_when: level(*open_when),
                pull: pull_of(*pull),
            }),
            _ => None,
        })
        .collect();
    let bank = GpioBank::open(latches, doors, debounce)
        .map_err(|e| anyhow::anyhow!("bus \"{}\": {e}", bus.name))?;
    Ok(BusSlot {
        name: bus.name.clone(),
        driver: AnyBus::Gpio(Box::new(bank)),
        poll: GPIO_POLL,
        doors: on_door
            .iter()
            .map(|c| CompartmentId(c.id.clone()))
            .collect(),
        stable_reads: 1,
    })
}

fn modbus_bus(
    bus: &BusConfig,
    on_latch: &[&CompartmentConfig],
    on_door: &[&CompartmentConfig],
) -> BusSlot {
    let (transport, timeout, poll, profile) = match &bus.driver {
        Driver::ModbusRtu {
            device,
            baud,
            parity,
            stop_bits,
            timeout,
            poll,
            profile,
        } => {
            let parity = match parity {
                config::Parity::None => modbus::Parity::None,
                config::Parity::Even => modbus::Parity::Even,
                config::Parity::Odd => modbus::Parity::Odd,
            };
            let stop_bits = if *stop_bits == 2 {
                modbus::StopBits::Two
            } else {
                modbus::StopBits::One
            };
            (
                Transport::Rtu {
                    device: device.clone(),
                    baud: *baud,
                    parity,
                    stop_bits,
                },
                *timeout,
                *poll,
                *profile,
            )
        }
        Driver::ModbusTcp {
            address,
            timeout,
            poll,
            profile,
        } => (
            Transport::Tcp {
                address: address.clone(),
            },
            *timeout,
            *poll,
            *profile,
        ),
        _ => unreachable!("modbus_bus is called for Modbus buses only"),
    };
    let profile = match profile {
        config::Profile::Generic => modbus::Profile::Generic,
        config::Profile::Waveshare => modbus::Profile::Waveshare,
        config::Profile::Eletechsup => modbus::Profile::Eletechsup,
    };
    let coils = on_latch
        .iter()
        .filter_map(|c| match &c.latch {
            LatchRef::Modbus { unit, coil, .. } => Some(CoilAddr {
                unit: *unit,
                coil: *coil,
            }),
            _ => None,
        })
        .collect();
    let inputs = on_door
        .iter()
        .filter_map(|c| match &c.door {
            DoorRef::Modbus {
                unit,
                input,
                open_when,
                ..
            } => Some(InputAddr {
                unit: *unit,
                input: *input,
                open_when: *open_when,
            }),
            _ => None,
        })
        .collect();
    let board = ModbusBoard::new(
        ModbusConfig {
            transport,
            timeout,
            profile,
        },
        coils,
        inputs,
    );
    BusSlot {
        name: bus.name.clone(),
        driver: AnyBus::Modbus(Box::new(board)),
        poll,
        doors: on_door
            .iter()
            .map(|c| CompartmentId(c.id.clone()))
            .collect(),
        stable_reads: MODBUS_STABLE_READS,
    }
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
