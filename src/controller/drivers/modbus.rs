//! Modbus relay boards as a bus: latches on coils, doors on discrete inputs, any number of
//! units on one serial line (RTU) or TCP connection.

use super::{Opened, Wiring, ids, miswired};
use crate::config::{self, DoorRef, LatchRef};
use lockerd_hal::modbus::{self, CoilAddr, InputAddr, ModbusBoard, ModbusConfig, Transport};
use std::path::Path;
use std::time::Duration;

/// A Modbus door input must read the same this many polls in a row before it counts, so a
/// bouncing reed switch does not produce storms of forced/closed events (and one misread bit,
/// Modbus TCP having no checksum of its own, does not confirm an opening).
const MODBUS_STABLE_READS: u8 = 2;

/// An RS-485 line as `[[bus]]` describes it.
pub(super) fn serial(device: &Path, baud: u32, parity: config::Parity, stop_bits: u8) -> Transport {
    let parity = match parity {
        config::Parity::None => modbus::Parity::None,
        config::Parity::Even => modbus::Parity::Even,
        config::Parity::Odd => modbus::Parity::Odd,
    };
    let stop_bits = match stop_bits {
        2 => modbus::StopBits::Two,
        _ => modbus::StopBits::One,
    };
    Transport::Rtu {
        device: device.to_path_buf(),
        baud,
        parity,
        stop_bits,
    }
}

/// The board driver; nothing is opened until its first request.
pub(super) fn open(
    wiring: &Wiring,
    transport: Transport,
    timeout: Duration,
    poll: Duration,
    profile: config::Profile,
) -> anyhow::Result<Opened> {
    let profile = match profile {
        config::Profile::Generic => modbus::Profile::Generic,
        config::Profile::Waveshare => modbus::Profile::Waveshare,
        config::Profile::Eletechsup => modbus::Profile::Eletechsup,
    };
    let coils = wiring
        .latches()
        .map(|c| match &c.latch {
            LatchRef::Modbus { unit, coil, .. } => Ok(CoilAddr {
                unit: *unit,
                coil: *coil,
            }),
            _ => Err(miswired(wiring, "latch", c)),
        })
        .collect::<anyhow::Result<_>>()?;
    let inputs = wiring
        .doors()
        .map(|c| match &c.door {
            DoorRef::Modbus {
                unit,
                input,
                open_when,
                ..
            } => Ok(InputAddr {
                unit: *unit,
                input: *input,
                open_when: *open_when,
            }),
            _ => Err(miswired(wiring, "door", c)),
        })
        .collect::<anyhow::Result<_>>()?;
    let settings = ModbusConfig {
        transport,
        timeout,
        profile,
    };
    Ok(Opened {
        driver: Box::new(ModbusBoard::new(settings, coils, inputs)),
        poll,
        stable_reads: MODBUS_STABLE_READS,
        latches: ids(wiring.latches()),
        doors: ids(wiring.doors()),
        sensors: vec![],
        sim: None,
    })
}
