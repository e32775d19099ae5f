//! Settings several drivers share: a serial device that only one bus may open, and the request
//! timeout and polling period of a bus that is polled.

use super::super::check::{Check, ConfigError, MINUTE};
use super::super::hardware::BusConfig;
use std::path::PathBuf;
use std::time::Duration;

/// A serial port can be opened once: several boards on one line are one bus. `example` is what
/// the message suggests (`"/dev/ttyUSB0"`), `apart` how boards on one line are told apart.
pub(super) fn device(
    check: &Check,
    key: &str,
    kind: &str,
    device: Option<PathBuf>,
    earlier: &[BusConfig],
    apart: &str,
) -> Result<PathBuf, ConfigError> {
    let device_key = format!("{key}.device");
    let device = device.ok_or_else(|| {
        check.error(
            &device_key,
            format!("required for driver \"{kind}\" (e.g. \"/dev/ttyUSB0\")"),
        )
    })?;
    check.ensure(!device.as_os_str().is_empty(), &device_key, || {
        "must not be empty".to_owned()
    })?;
    let shared = earlier
        .iter()
        .find(|other| other.driver.device() == Some(device.as_path()));
    if let Some(other) = shared {
        return Err(check.error(
            device_key,
            format!(
                "{} is already used by bus {:?}; put every board on that line in one bus and tell them apart by {apart}",
                device.display(),
                other.name
            ),
        ));
    }
    Ok(device)
}

/// The request timeout and polling period of a bus of boards, with their defaults.
pub(super) fn timing(
    check: &Check,
    key: &str,
    timeout: Option<Duration>,
    poll: Option<Duration>,
    defaults: (Duration, Duration),
) -> Result<(Duration, Duration), ConfigError> {
    let timeout = timeout.unwrap_or(defaults.0);
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
    let poll = poll.unwrap_or(defaults.1);
    poll_period(check, key, poll)?;
    Ok((timeout, poll))
}

/// Every driver that polls: more than 0s, at most a minute.
pub(super) fn poll_period(check: &Check, key: &str, poll: Duration) -> Result<(), ConfigError> {
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

/// "host:port" with a non-empty host and a port 1..=65535; the host may be a name, resolved
/// when the controller connects, or a bracketed IPv6 address.
pub(super) fn is_host_port(address: &str) -> bool {
    let Some((host, port)) = address.rsplit_once(':') else {
        return false;
    };
    let bracketed = host.starts_with('[') && host.ends_with(']');
    let host_ok = !host.is_empty()
        && !host.contains(char::is_whitespace)
        && (bracketed || !host.contains(':'));
    host_ok && port.parse::<u16>().is_ok_and(|p| p > 0)
}

/// A baud rate: more than 0.
pub(super) fn baud(check: &Check, key: &str, baud: u32) -> Result<u32, ConfigError> {
    check.ensure(baud > 0, &format!("{key}.baud"), || {
        "must be greater than 0".to_owned()
    })?;
    Ok(baud)
}
