//! `[[bus]]` tables: each driver's own keys, their defaults, and unique names.

use super::check::{Check, ConfigError, MINUTE};
use super::hardware::{BusConfig, Driver};
use super::raw::{DriverKind, RawBus};
use std::collections::HashMap;
use std::time::Duration;

/// Keys each driver uses; any other driver-specific key is a mistake worth reporting (a `baud`
/// on a TCP bus means the installer thinks the bus is something it is not).
fn used_keys(kind: DriverKind) -> &'static [&'static str] {
    match kind {
        DriverKind::Sim => &["poll"],
        DriverKind::Gpio => &["debounce"],
        DriverKind::ModbusRtu => &[
            "device",
            "baud",
            "parity",
            "stop_bits",
            "timeout",
            "poll",
            "profile",
        ],
        DriverKind::ModbusTcp => &["address", "timeout", "poll", "profile"],
    }
}

fn kind_name(kind: DriverKind) -> &'static str {
    match kind {
        DriverKind::Sim => "sim",
        DriverKind::Gpio => "gpio",
        DriverKind::ModbusRtu => "modbus-rtu",
        DriverKind::ModbusTcp => "modbus-tcp",
    }
}

pub(super) fn validate(check: &Check, raw: Vec<RawBus>) -> Result<Vec<BusConfig>, ConfigError> {
    check.ensure(!raw.is_empty(), "bus", || {
        "at least one [[bus]] is required (driver = \"sim\" for development)".to_owned()
    })?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut sim: Option<usize> = None;
    let mut buses = Vec::with_capacity(raw.len());
    for (index, bus) in raw.into_iter().enumerate() {
        let key = format!("bus[{index}]");
        let name_key = format!("{key}.name");
        check.ensure(!bus.name.trim().is_empty(), &name_key, || {
            "must not be empty".to_owned()
        })?;
        if let Some(first) = seen.insert(bus.name.clone(), index) {
            return Err(check.error(
                name_key,
                format!(
                    "duplicate bus name {:?} (already used by bus[{first}])",
                    bus.name
                ),
            ));
        }
        // Every simulated latch and door lives on one sim bus, so a compartment can never be
        // half simulated on one and half on another.
        if bus.driver == DriverKind::Sim {
            if let Some(first) = sim {
                return Err(check.error(
                    format!("{key}.driver"),
                    format!(
                        "a second sim bus (bus[{first}] is already one); at most one sim bus may \
                         be configured"
                    ),
                ));
            }
            sim = Some(index);
        }
        buses.push(one(check, &key, bus, &buses)?);
    }
    Ok(buses)
}

fn one(
    check: &Check,
    key: &str,
    bus: RawBus,
    earlier: &[BusConfig],
) -> Result<BusConfig, ConfigError> {
    let used = used_keys(bus.driver);
    let unused = bus
        .given()
        .into_iter()
        .find(|(f, given)| *given && !used.contains(f));
    if let Some((field, _)) = unused {
        let driver = kind_name(bus.driver);
        return Err(check.error(
            format!("{key}.{field}"),
            format!("not used by driver \"{driver}\""),
        ));
    }
    let driver = match bus.driver {
        DriverKind::Sim => {
            let poll = bus.poll.unwrap_or(Duration::from_millis(50));
            poll_period(check, key, poll)?;
            Driver::Sim { poll }
        }
        DriverKind::Gpio => {
            let debounce = bus.debounce.unwrap_or(Duration::from_millis(20));
            check.at_most(
                &format!("{key}.debounce"),
                debounce,
                Duration::from_secs(1),
                "1s",
                "a reed switch settles in milliseconds, and a longer filter hides a door's \
                 real changes",
            )?;
            Driver::Gpio { debounce }
        }
        DriverKind::ModbusRtu => modbus_rtu(check, key, &bus, earlier)?,
        DriverKind::ModbusTcp => modbus_tcp(check, key, &bus)?,
    };
    Ok(BusConfig {
        name: bus.name,
        driver,
    })
}

/// The request timeout and polling period both Modbus drivers share.
fn modbus_timing(
    check: &Check,
    key: &str,
    bus: &RawBus,
) -> Result<(Duration, Duration), ConfigError> {
    let timeout = bus.timeout.unwrap_or(Duration::from_millis(300));
    let timeout_key = format!("{key}.timeout");
    check.positive(&timeout_key, timeout)?;
    check.at_most(
        &timeout_key,
        timeout,
        MINUTE,
        "60s",
        "a board that has not answered in a minute is not answering, and longer waits must fit \
         the controller's clock arithmetic",
    )?;
    let poll = bus.poll.unwrap_or(Duration::from_millis(250));
    poll_period(check, key, poll)?;
    Ok((timeout, poll))
}

/// Every driver that polls: more than 0s, at most a minute.
fn poll_period(check: &Check, key: &str, poll: Duration) -> Result<(), ConfigError> {
    let poll_key = format!("{key}.poll");
    check.positive(&poll_key, poll)?;
    check.at_most(
        &poll_key,
        poll,
        MINUTE,
        "60s",
        "doors read less often go unseen, and longer periods must fit the controller's clock \
         arithmetic",
    )
}

fn modbus_rtu(
    check: &Check,
    key: &str,
    bus: &RawBus,
    earlier: &[BusConfig],
) -> Result<Driver, ConfigError> {
    let device_key = format!("{key}.device");
    let device = bus.device.clone().ok_or_else(|| {
        check.error(
            &device_key,
            "required for driver \"modbus-rtu\" (e.g. \"/dev/ttyUSB0\")",
        )
    })?;
    check.ensure(!device.as_os_str().is_empty(), &device_key, || {
        "must not be empty".to_owned()
    })?;
    // A serial port can be opened once: several boards on one line are units of one bus.
    let shared = earlier
        .iter()
        .find(|other| matches!(&other.driver, Driver::ModbusRtu { device: d, .. } if *d == device));
    if let Some(other) = shared {
        return Err(check.error(
            device_key,
            format!(
                "{} is already used by bus {:?}; put every board on that line in one bus and tell them apart by unit",
                device.display(),
                other.name
            ),
        ));
    }
    let baud = bus.baud.unwrap_or(9600);
    check.ensure(baud > 0, &format!("{key}.baud"), || {
        "must be greater than 0".to_owned()
    })?;
    let stop_bits = bus.stop_bits.unwrap_or(1);
    check.ensure(
        matches!(stop_bits, 1 | 2),
        &format!("{key}.stop_bits"),
        || format!("must be 1 or 2, got {stop_bits}"),
    )?;
    let (timeout, poll) = modbus_timing(check, key, bus)?;
    Ok(Driver::ModbusRtu {
        device,
        baud,
        parity: bus.parity.unwrap_or_default(),
        stop_bits,
        timeout,
        poll,
        profile: bus.profile.unwrap_or_default(),
    })
}

fn modbus_tcp(check: &Check, key: &str, bus: &RawBus) -> Result<Driver, ConfigError> {
    let address_key = format!("{key}.address");
    let address = bus.address.clone().ok_or_else(|| {
        check.error(
            &address_key,
            "required for driver \"modbus-tcp\" (e.g. \"192.168.10.20:502\")",
        )
    })?;
    check.ensure(is_host_port(&address), &address_key, || {
        format!("{address:?} is not host:port (e.g. \"192.168.10.20:502\")")
    })?;
    let (timeout, poll) = modbus_timing(check, key, bus)?;
    Ok(Driver::ModbusTcp {
        address,
        timeout,
        poll,
        profile: bus.profile.unwrap_or_default(),
    })
}

/// "host:port" with a non-empty host and a port 1..=65535; the host may be a name, resolved
/// when the controller connects, or a bracketed IPv6 address.
fn is_host_port(address: &str) -> bool {
    let Some((host, port)) = address.rsplit_once(':') else {
        return false;
    };
    let bracketed = host.starts_with('[') && host.ends_with(']');
    let host_ok = !host.is_empty()
        && !host.contains(char::is_whitespace)
        && (bracketed || !host.contains(':'));
    host_ok && port.parse::<u16>().is_ok_and(|p| p > 0)
}
