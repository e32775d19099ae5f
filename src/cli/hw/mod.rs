//! `lockerd hw`: commissioning tools an installer runs at the locker, without the daemon.
//!
//! - `status`: does every bus answer, and is every door open or closed?
//! - `pulse`: one audited opening of one compartment, made by the daemon's own controller with
//!   no retries, confirmed by the door sensor as the daemon confirms it.
//! - `scan`: which Modbus unit ids answer on a bus, or which lock-control boards (with their
//!   locks' and sensors' states).
//!
//! `status` and `scan` drive the buses directly, through the drivers the controller uses
//! ([`controller::build`]); `pulse` runs the controller itself, so a latch is pulsed by one code
//! path. They refuse to run while the daemon answers on `api.listen`: two masters on one RS485
//! line garble each other's frames, and an all-off from here would cut a pulse of the daemon's
//! short. Like the daemon, they drive every latch output of a bus off before anything else
//! touches it (a coil left on by a crash must not stay on).
//!
//! Depends on `config`, `controller` (the drivers, and the controller for `pulse`),
//! `state` (the database) and `store` (the audit entry and event); only `cli` depends on it.

mod boards;
mod pulse;
mod scan;
mod status;

pub use scan::modbus_board;

use crate::config::{BusConfig, Config};
use crate::controller::{self, AnyBus, BusError, Hardware};
use crate::domain::CompartmentId;
use clap::Subcommand;
use lockerd_hal::DoorState;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const DEFAULT_CONFIG: &str = "/etc/lockerd/lockerd.toml";

/// How long to wait for the daemon's listener before deciding nothing listens: on the same host
/// a listener accepts (or the kernel refuses) at once.
const DAEMON_PROBE: Duration = Duration::from_millis(500);

/// The `lockerd hw` subcommands.
#[derive(Subcommand)]
pub enum HwCommand {
    /// Check that every bus answers (latches off, one door read) and show every door.
    ///
    /// Exits 1, naming the buses, if any bus does not answer.
    Status {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Open one compartment as the daemon would, with one latch pulse and no retries, and check
    /// that its door opens.
    ///
    /// Refused while the daemon runs (use POST /api/v1/compartments/{id}/open then). Audited,
    /// and recorded as a maintenance.opened event once the door is seen open.
    Pulse {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The compartment's id, as in the config.
        compartment: String,
    },
    /// List the unit ids that answer on a Modbus bus, or the boards that answer on a
    /// kerong-cu or lockboard bus with their locks' (and sensors') states.
    Scan {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The bus's name, as in the config.
        #[arg(long)]
        bus: String,
        /// The unit ids or board ids to try: one id or a range such as 1-16. By default every
        /// id the driver allows: Modbus 1-247, kerong-cu 0-15, lockboard 1-31.
        #[arg(long, value_parser = parse_units)]
        units: Option<RangeInclusive<u8>>,
    },
}

/// Runs a `lockerd hw` command: exit 0 on success, 1 on failure, 2 for a bad config.
pub fn main(command: HwCommand) -> ExitCode {
    let path = match &command {
        HwCommand::Status { config } => config,
        HwCommand::Pulse { config, .. } => config,
        HwCommand::Scan { config, .. } => config,
    };
    let config = match load(path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let result = tokio::runtime::Runtime::new()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
        .and_then(|runtime| {
            runtime.block_on(async {
                match command {
                    HwCommand::Status { .. } => status::run(&config).await,
                    HwCommand::Pulse { compartment, .. } => pulse::run(&config, &compartment).await,
                    HwCommand::Scan { bus, units, .. } => scan::run(&config, &bus, units).await,
                }
            })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// As every other command: a refused config is exit 2, like bad usage.
fn load(path: &Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

/// `--units`: `N` or `LOW-HIGH`, within 0..=247 (Modbus unit ids are 1..=247, 0 being
/// broadcast; Kerong boards are 0..=15): `scan` checks the range against the bus's driver.
fn parse_units(text: &str) -> Result<RangeInclusive<u8>, String> {
    let expected = || format!("{text:?}: expected an id or a range such as 1-247, within 0-247");
    let id = |s: &str| {
        s.trim()
            .parse::<u8>()
            .ok()
            .filter(|u| *u <= 247)
            .ok_or_else(expected)
    };
    let (low, high) = match text.split_once('-') {
        Some((low, high)) => (id(low)?, id(high)?),
        None => (id(text)?, id(text)?),
    };
    if low > high {
        return Err(expected());
    }
    Ok(low..=high)
}

/// Fails if the daemon runs: something accepts connections on the config's `api.listen`, or
/// another lockerd holds the hardware lock (a daemon still starting, or another `hw` command).
/// `instead` tells the user what to do through the daemon. The returned lock must be kept
/// for as long as the command touches the hardware.
async fn refuse_if_daemon_runs(
    config: &Config,
    instead: &str,
) -> anyhow::Result<crate::state::HardwareClaim> {
    let addr = reachable(config.api.listen);
    let connected = tokio::time::timeout(DAEMON_PROBE, tokio::net::TcpStream::connect(addr)).await;
    if matches!(connected, Ok(Ok(_))) {
        anyhow::bail!(
            "the daemon is running (something answers on {addr}, the config's api.listen): \
             it owns the hardware; {instead}"
        );
    }
    crate::state::StateDir::new(&config.locker.state_dir)
        .claim_hardware()
        .map_err(|e| e.context(instead.to_owned()))
}

/// Where to connect to reach a listener bound to `listen`: a wildcard address means any local
/// address, so try loopback.
fn reachable(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// The part of `config` on the named buses: those buses, and every compartment with its latch or
/// door on one of them. `controller::build` numbers a bus's channels by the compartments on it,
/// in file order, so each bus built from the part has the channels it has in the daemon; and
/// one bus that cannot be opened (GPIO off a Pi) does not keep the others from being checked.
fn on_buses(config: &Config, names: &[&str]) -> Config {
    let mut part = config.clone();
    part.buses.retain(|b| names.contains(&b.name.as_str()));
    part.compartments
        .retain(|c| names.contains(&c.latch.bus()) || names.contains(&c.door.bus()));
    part
}

/// Opens the named buses as the daemon would (Modbus buses connect on their first request).
fn open_buses(config: &Config, names: &[&str]) -> anyhow::Result<Hardware> {
    controller::build(&on_buses(config, names))
}

/// Reads every door of a bus: its compartments (door channel order) with their states.
async fn read_doors(
    driver: &mut AnyBus,
    doors: &[CompartmentId],
) -> Result<Vec<(CompartmentId, DoorState)>, BusError> {
    let mut states = vec![DoorState::Closed; driver.door_count()];
    driver.read_doors(&mut states).await?;
    Ok(doors.iter().cloned().zip(states).collect())
}

/// A bus as the installer wrote it: `net (modbus-tcp 192.168.10.20:502)`.
fn describe(bus: &BusConfig) -> String {
    format!("{} ({})", bus.name, bus.driver.endpoint())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_one_id_or_a_range_within_0_to_247() {
        assert_eq!(parse_units("1-247"), Ok(1..=247));
        assert_eq!(parse_units("5"), Ok(5..=5));
        assert_eq!(parse_units("2-4"), Ok(2..=4));
        assert_eq!(parse_units("0-15"), Ok(0..=15), "Kerong board ids");
        for bad in ["248", "0-300", "4-2", "a", "1-", ""] {
            assert!(parse_units(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_wildcard_listener_is_probed_on_loopback() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(reachable(any), "127.0.0.1:8080".parse().unwrap());
        let any6: SocketAddr = "[::]:8080".parse().unwrap();
        assert_eq!(reachable(any6), "[::1]:8080".parse().unwrap());
        let lan: SocketAddr = "192.168.1.2:80".parse().unwrap();
        assert_eq!(reachable(lan), lan);
    }
}
