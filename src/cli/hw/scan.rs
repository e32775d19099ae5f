//! `lockerd hw scan`: which Modbus unit ids, or lock-control board ids, answer on a bus.
//!
//! Board buses (`kerong-cu`, `lockboard`) are scanned by [`super::boards`].
//!
//! Units are probed one at a time and each one that answers is printed at once: on RS485 every
//! silent id costs a whole bus timeout, so a full scan takes a while. A unit that answers with
//! an exception counts as present (see [`ModbusBoard::scan`]).

use super::{describe, on_buses};
use crate::config::Config;
use crate::controller;
use anyhow::{Context, bail};
use lockerd_hal::modbus::ModbusBoard;
use lockerd_hal::{Error as _, ErrorKind, Latch};
use std::ops::RangeInclusive;

pub(super) async fn run(
    config: &Config,
    name: &str,
    units: Option<RangeInclusive<u8>>,
) -> anyhow::Result<()> {
    let Some(bus) = config.bus(name) else {
        bail!(
            "no bus \"{name}\" in {} (it has {})",
            config.source.display(),
            config
                .buses
                .iter()
                .map(|b| b.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let valid = match super::boards::board_ids(&bus.driver) {
        Some(ids) => ids,
        None if bus.driver.is_modbus() => 1..=247,
        None => bail!(
            "bus {name} uses the {} driver: only modbus-rtu, modbus-tcp, kerong-cu and lockboard \
             buses can be scanned",
            bus.driver.kind()
        ),
    };
    let units = units.unwrap_or_else(|| valid.clone());
    if !(valid.contains(units.start()) && valid.contains(units.end())) {
        bail!(
            "bus {name}: --units {}-{} is outside the {} driver's ids {}-{}",
            units.start(),
            units.end(),
            bus.driver.kind(),
            valid.start(),
            valid.end()
        );
    }
    let _claim = super::refuse_if_daemon_runs(config, "stop it before scanning its buses").await?;
    if !bus.driver.is_modbus() {
        return super::boards::scan(config, name, units).await;
    }
    let mut board = modbus_board(config, name)?;
    // The configured latches off first, as at every start. With the unit ids still unknown
    // this may well fail; the scan is what finds out, so it goes on.
    if let Err(e) = board.all_off().await {
        // Refused connections and vanished serial devices will not let a scan through either.
        if e.kind() == ErrorKind::Disconnected {
            bail!("bus {name}: cannot reach it: {e}");
        }
        eprintln!("warning: bus {name}: cannot switch the configured latches off: {e}");
    }
    let (first, last) = (*units.start(), *units.end());
    eprintln!("scanning units {first}-{last} on bus {}...", describe(bus));
    let mut present = Vec::new();
    for unit in units {
        let answered = board
            .scan(unit..=unit)
            .await
            .with_context(|| format!("bus {name}: cannot scan"))?;
        if !answered.is_empty() {
            println!("unit {unit} answers");
            present.push(unit.to_string());
        }
    }
    if present.is_empty() {
        bail!("bus {name}: no unit in {first}-{last} answers");
    }
    println!("{} unit(s) answer: {}", present.len(), present.join(", "));
    Ok(())
}

/// The driver the daemon would use for the Modbus bus `name`, with the latches and doors the
/// config puts on it, built by [`controller::build`] so the two never disagree. Nothing is
/// opened until its first request.
pub fn modbus_board(config: &Config, name: &str) -> anyhow::Result<ModbusBoard> {
    let Some(bus) = config.bus(name) else {
        bail!("no bus \"{name}\" in {}", config.source.display());
    };
    if !bus.driver.is_modbus() {
        bail!(
            "bus {name} uses the {} driver, not Modbus",
            bus.driver.kind()
        );
    }
    let hw = controller::build(&on_buses(config, &[name]))?;
    let driver = hw
        .buses
        .into_iter()
        .next()
        .map(|slot| slot.driver.into_any());
    match driver.map(|d| d.downcast::<ModbusBoard>()) {
        Some(Ok(board)) => Ok(*board),
        _ => bail!("bus {name}: the controller did not build a Modbus driver for it"),
    }
}
